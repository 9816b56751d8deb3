"""Rollups never drift: a late event, a correction of item or handling unit, and a duplicate delivery each leave
every rollup table (daily and monthly) equal to a recomputation from the cases; a database at schema 0001 with data
migrates to figures that are already true."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from server.admin import rollups as maintenance
from server.app import build_app
from server.config import ServerConfig
from server.http.common import STORE
from server.model.rollups import METRICS
from server.storage.sqlite import store as sqlite_storage
from tests.server.helpers import QIAOWA, CountyServer, TownshipAgent

CENTRE, VILLAGE = QIAOWA + "000", QIAOWA + "201"
ROLLUP_0001_METRICS = [m for m in METRICS if m not in ("in_progress", "bad_pending")]


async def _assert_true(server: CountyServer) -> None:
    assert await maintenance.verify_rollups(server.app[STORE]) == []


def _month(server: CountyServer, unit: str, month: str = "2026-03") -> dict[str, int]:
    with sqlite3.connect(server.config.database) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM rollups_month WHERE unit = ? AND month = ?", (unit, month)).fetchall()
    out: dict[str, int] = {}
    for row in rows:
        for key in row.keys()[4:]:
            out[key] = out.get(key, 0) + row[key]
    return {k: v for k, v in out.items() if v}


async def test_a_late_event_that_belongs_before_the_stored_state_leaves_the_figures_true(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    a = qiaowa.accepted("2026-03-02", due_on="2026-03-09")
    done = qiaowa.completed(a["case_id"], "2026-03-12")  # late against the first due date
    await county_server.push(qiaowa, [a, done])
    assert _month(county_server, QIAOWA)["completed_late"] == 1
    # The supplement (补正) that happened in between arrives afterwards, from another PC of the township: the new
    # due date makes the completion on time.
    other = await county_server.add_agent(QIAOWA, "窗口2")
    await county_server.push(other, [
        other.event("supplement_requested", a["case_id"], "2026-03-03", {"missing": ["户口簿复印件"]}),
        other.event("supplement_received", a["case_id"], "2026-03-05", {"due_on": "2026-03-13"})])
    month = _month(county_server, QIAOWA)
    assert (month.get("completed_late", 0), month["completed_on_time"]) == (0, 1)
    await _assert_true(county_server)


async def test_a_correction_of_item_and_handling_unit_moves_the_case_between_rows(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    a = qiaowa.accepted("2026-03-02", org_code=CENTRE, item_code="GG-0004")
    b = qiaowa.accepted("2026-03-02", org_code=CENTRE, item_code="GG-0004")
    await county_server.push(qiaowa, [a, b, qiaowa.completed(a["case_id"], "2026-03-04"),
                                      qiaowa.evaluated(a["case_id"], "2026-03-04", rating=2)])
    assert _month(county_server, CENTRE)["accepted"] == 2
    await county_server.push(qiaowa, [qiaowa.event("updated", a["case_id"], "2026-03-05",
                                                   {"item_code": "XK-0002", "org_code": VILLAGE})])
    assert _month(county_server, CENTRE) == {"accepted": 1, "in_progress": 1}
    assert _month(county_server, VILLAGE) == {"accepted": 1, "completed": 1, "completed_on_time": 1, "trips_le1": 1,
                                              "rated": 1, "rated_2": 1, "bad_pending": 1}
    with sqlite3.connect(county_server.config.database) as db:
        categories = db.execute("SELECT category, sum(accepted) FROM rollups_month WHERE unit = ? GROUP BY 1",
                                (QIAOWA,)).fetchall()
    assert sorted(categories) == [("公共服务", 1), ("行政许可", 1)]
    await county_server.push(qiaowa, [qiaowa.followed_up(a["case_id"], "2026-03-06")])
    assert "bad_pending" not in _month(county_server, VILLAGE)
    await _assert_true(county_server)


async def test_a_duplicate_delivery_changes_no_figure(county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    a = qiaowa.accepted("2026-03-02")
    batch = [a, qiaowa.completed(a["case_id"], "2026-03-03"), qiaowa.consulted("2026-03-03")]
    await county_server.push(qiaowa, batch)
    before = _month(county_server, "513422")
    answer = await county_server.push(qiaowa, batch)
    assert (answer["stored"], answer["duplicates"]) == (0, 3)
    assert _month(county_server, "513422") == before == {
        "accepted": 1, "completed": 1, "completed_on_time": 1, "trips_le1": 1, "consultations": 1}
    await _assert_true(county_server)


async def test_verify_names_the_table_of_a_drifted_month_row_and_rebuild_repairs_it(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    await county_server.push(qiaowa, [qiaowa.accepted("2026-03-02")])
    with sqlite3.connect(county_server.config.database) as db:
        db.execute("UPDATE rollups_month SET accepted = 7 WHERE unit = ?", (QIAOWA,))
    [diff] = await maintenance.verify_rollups(county_server.app[STORE])
    assert (diff.table, diff.key[0], diff.metric, diff.stored, diff.expected) == (
        "rollups_month", QIAOWA, "accepted", 7, 1)
    assert await maintenance.rebuild_rollups(county_server.app[STORE]) > 0
    await _assert_true(county_server)


def _back_to_0001(path: Path) -> None:
    """Undo 0002 and later on a database that has data: what a county that ran the first release holds."""
    with sqlite3.connect(path) as db:
        db.executescript(
            "DROP TABLE agent_usage; DROP TABLE orphan_events; ALTER TABLE agents DROP COLUMN revoked_at; "
            "DROP TABLE rollups_month; DROP TABLE rollups_month_channel; DROP TABLE sessions; DROP TABLE accounts; "
            "DROP INDEX rollups_day; DROP INDEX cases_bad_pending; DROP INDEX cases_open_due; "
            "CREATE INDEX cases_open_due ON cases (due_on) WHERE state IN ('in_progress', 'suspended'); "
            "ALTER TABLE rollups DROP COLUMN in_progress; ALTER TABLE rollups DROP COLUMN bad_pending; "
            "DELETE FROM schema_migrations WHERE version >= 2; "
            "DELETE FROM rollups WHERE " + " AND ".join(f"{m} = 0" for m in ROLLUP_0001_METRICS) + ";")


async def test_a_database_at_0001_with_data_migrates_to_true_figures_and_the_fresh_schema(
        server_config: ServerConfig, tmp_path: Path) -> None:
    async def run(work) -> None:
        app = await build_app(server_config)
        async with TestServer(app, host="127.0.0.1", port=0) as server, aiohttp.ClientSession() as session:
            await work(CountyServer(str(server.make_url("")).rstrip("/"), app, server_config, session))

    async def fill(server: CountyServer) -> None:
        q = await server.add_agent(QIAOWA)
        a, b, c = q.accepted("2026-03-02"), q.accepted("2026-03-02", org_code=VILLAGE), q.accepted("2026-04-01")
        await server.push(q, [a, b, c, q.completed(a["case_id"], "2026-03-03"),
                              q.evaluated(a["case_id"], "2026-03-03", rating=1), q.consulted("2026-03-04")])

    await run(fill)
    _back_to_0001(server_config.database)

    async def check(server: CountyServer) -> None:
        await _assert_true(server)
        assert (_month(server, QIAOWA)["in_progress"], _month(server, QIAOWA)["bad_pending"]) == (1, 1)

    await run(check)
    fresh = tmp_path / "fresh.sqlite3"
    store = sqlite_storage.SqliteStore(fresh)
    await store.open()
    await store.close()

    def columns(path: Path) -> dict[str, list[str]]:
        with sqlite3.connect(path) as db:
            names = sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')"))
            return {n: [r[1] for r in db.execute(f"PRAGMA index_info({n})")] or
                    [r[1] for r in db.execute(f"PRAGMA table_info({n})")] for n in names}

    assert columns(server_config.database) == columns(fresh)
