"""Rollups never drift: a late event, a correction of item or handling unit, and a duplicate delivery each leave
every rollup table (daily and monthly) equal to a recomputation from the cases. (Migrating a database of the first
schema with data in place is part of the storage contract: tests/server/storage/test_contract.py.)"""

from __future__ import annotations

import sqlite3

from server.admin import rollups as maintenance
from server.http.common import STORE
from tests import database
from tests.server.helpers import ADMIN_TOKEN, QIAOWA, CountyServer, TownshipAgent

CENTRE, VILLAGE = QIAOWA + "000", QIAOWA + "201"


async def _assert_true(server: CountyServer) -> None:
    assert await maintenance.verify_rollups(server.app[STORE]) == []


def _month(server: CountyServer, unit: str, month: str = "2026-03") -> dict[str, int]:
    with database.connect(server.config) as db:
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
    # A closed and rated case changes its figure fields only by a correction under a county admin's grant.
    async with county_server.session.post(f"{county_server.url}/api/v1/cases/{a['case_id']}/grants",
                                          json={"reason": "选错事项和办理地"},
                                          headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as r:
        assert r.status == 201
        grant = (await r.json())["grant_id"]
    answer = await county_server.push(qiaowa, [qiaowa.event("corrected", a["case_id"], "2026-03-05", {
        "reason": "选错事项和办理地", "item_code": "XK-0002", "org_code": VILLAGE,
        "before": {"item_code": "GG-0004", "org_code": CENTRE}, "grant": grant})])
    assert answer["stored"] == 1 and not answer.get("refused") and not answer.get("conflicts"), answer
    assert _month(county_server, CENTRE) == {"accepted": 1, "in_progress": 1}
    assert _month(county_server, VILLAGE) == {"accepted": 1, "completed": 1, "completed_on_time": 1, "trips_le1": 1,
                                              "rated": 1, "rated_2": 1, "bad_pending": 1, "rated_cases": 1,
                                              "rated_via_window": 1, "rated_at_case": 1}
    with database.connect(county_server.config) as db:
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
    with database.connect(county_server.config) as db:
        db.execute("UPDATE rollups_month SET accepted = 7 WHERE unit = ?", (QIAOWA,))
    [diff] = await maintenance.verify_rollups(county_server.app[STORE])
    assert (diff.table, diff.key[0], diff.metric, diff.stored, diff.expected) == (
        "rollups_month", QIAOWA, "accepted", 7, 1)
    assert await maintenance.rebuild_rollups(county_server.app[STORE]) > 0
    await _assert_true(county_server)
