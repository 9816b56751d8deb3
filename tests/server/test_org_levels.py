"""Org units at every level: a county's own service hall with PCs of its own, a prefecture's counties in one server,
figures by where a case was handled and by where the applicant lives. The real server on 127.0.0.1 over SQLite, or
PostgreSQL under TEST_SERVER_BACKEND=postgres."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from protocol.messages import ReferenceResponse
from server.admin import rollups as maintenance
from server.cli import main
from server.http.common import STORE
from tests import database
from tests.server.helpers import QIAOWA, REPO, WACHANG, CountyServer, serve

HALL = "513422000000"  # 木里藏族自治县 and its 县政务服务大厅
W201, Q201 = WACHANG + "201", QIAOWA + "201"
YEAR = "period=2026&as_of=2026-12-31"


async def _cli(*args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(CliRunner().invoke, main, list(args))
    return result.exit_code, result.output


async def test_agents_add_refuses_the_countys_own_code_as_a_township_and_adds_its_hall_by_unit(
        county_server: CountyServer, config_file: Path) -> None:
    code, out = await _cli("agents", "add", "--township", "513422000", "--name", "大厅", "--config", str(config_file))
    assert code == 2
    assert "513422000 is the code of 木里藏族自治县 itself, not of a township" in out
    assert "--unit 513422000000" in out
    code, out = await _cli("agents", "add", "--unit", HALL, "--name", "县政务服务大厅 窗口1", "--config",
                           str(config_file))
    assert code == 0, out
    token = out.strip().splitlines()[-1]
    assert token.startswith("513422000-")
    code, out = await _cli("agents", "add", "--unit", "513422100201", "--name", "x", "--config", str(config_file))
    assert code == 2 and "has no PCs of its own" in out and "513422000000 木里藏族自治县" in out
    code, out = await _cli("agents", "add", "--name", "x", "--config", str(config_file))
    assert code == 2 and "either --township CODE or --unit CODE" in out


async def test_a_halls_pc_gets_the_countys_villages_and_its_cases_count_at_the_hall_and_where_people_live(
        county_server: CountyServer) -> None:
    server = county_server
    hall = await server.add_unit_agent(HALL, "县政务服务大厅 窗口1")
    status, body = await server.get("/api/v1/reference", token=hall.token)
    assert status == 200, body
    ref = msgspec.convert(body, ReferenceResponse)
    assert ref.township.code == HALL and {u.level for u in ref.org_units} == {"village"}
    assert W201 in {u.code for u in ref.org_units} and Q201 in {u.code for u in ref.org_units}

    a = hall.accepted("2026-03-02", org_code=HALL, village_code=W201)  # a 瓦厂镇 resident at the county hall
    b = hall.accepted("2026-03-03", org_code=HALL)  # no village recorded
    answer = await server.push(hall, [a, hall.completed(a["case_id"], "2026-03-04"), b])
    assert answer["stored"] == 3 and answer.get("refused", []) == [], answer
    bad = hall.accepted("2026-03-03", org_code=QIAOWA + "000")  # not the hall's: refused
    refused = (await server.push(hall, [bad]))["refused"]
    assert [r["code"] for r in refused] == ["wrong_township"]
    q = await server.add_agent(QIAOWA)
    c = q.accepted("2026-03-05", org_code=Q201, village_code=Q201)
    elsewhere = q.accepted("2026-03-05", org_code=QIAOWA + "000", village_code=W201)
    assert [r["code"] for r in (await server.push(q, [c, elsewhere]))["refused"]] == ["wrong_township"]

    _, handled = await server.get(f"/api/v1/units?{YEAR}&level=township")
    rows = {r["org"]["code"]: r["figures"] for r in handled["rows"]}
    assert handled["basis"] == "handled"
    assert (rows[HALL]["accepted"], rows[HALL]["completed"]) == (2, 1)
    assert rows[WACHANG + "000"]["accepted"] == 0 and rows[QIAOWA + "000"]["accepted"] == 1
    _, lives = await server.get(f"/api/v1/units?{YEAR}&level=township&basis=residence")
    rows = {r["org"]["code"]: (r["org"]["name"], r["figures"]["accepted"]) for r in lives["rows"]}
    assert rows[WACHANG + "000"] == ("瓦厂镇", 1) and rows[QIAOWA + "000"] == ("乔瓦镇", 1)
    assert rows[HALL] == ("木里藏族自治县（居住地未填）", 1)
    assert handled["total"]["accepted"] == lives["total"]["accepted"] == 3  # the county's total either way

    # Village pages by residence are not zero: 瓦厂镇's village 201 has its resident's case.
    _, village = await server.get(f"/api/v1/overview?{YEAR}&org={W201}&basis=residence")
    assert (village["figures"]["accepted"], village["figures"]["completed"]) == (1, 1)
    _, village = await server.get(f"/api/v1/overview?{YEAR}&org={W201}")
    assert village["figures"]["accepted"] == 0
    _, listed = await server.get(f"/api/v1/cases?{YEAR}&org={W201}&basis=residence&figure=accepted")
    assert [r["case_id"] for r in listed["rows"]] == [a["case_id"]]
    assert listed["rows"][0]["org_name"] == "政务服务大厅"
    stats = await server.get(f"/api/v1/stats?level=village&from=2026-01-01&to=2026-12-31&org={WACHANG}"
                             "&basis=residence")
    assert {r["code"]: r["accepted"] for r in stats[1]["rows"]}[W201] == 1 and stats[1]["basis"] == "residence"
    _, hall_only = await server.get(f"/api/v1/overview?{YEAR}&org={HALL}")
    assert hall_only["org"]["kind"] == "hall" and hall_only["figures"]["accepted"] == 2
    status, body = await server.get(f"/api/v1/overview?{YEAR}&basis=home")
    assert status == 422 and body["fields"] == {"basis": body["detail"]} and "按申请人居住地" in body["detail"]

    assert await maintenance.verify_rollups(server.app[STORE]) == []  # the residence grains too
    with database.connect(server.config) as db:
        db.execute("UPDATE rollups_residence_month SET accepted = accepted + 1 WHERE unit = ?", (W201,))
    diffs = await maintenance.verify_rollups(server.app[STORE])
    assert [(d.table, d.key[0], d.metric) for d in diffs] == [("rollups_residence_month", W201, "accepted")]


# ---- a prefecture's counties in one server ---------------------------------------------------------------------

ABA = REPO / "config" / "aba" / "org_units.csv"
MAERKANG, WENCHUAN = "513201", "513221"


@pytest.fixture
async def prefecture(tmp_path: Path) -> AsyncIterator[CountyServer]:
    async with serve(tmp_path, ABA) as server:
        yield server


async def test_a_prefecture_server_holds_its_counties_their_halls_and_the_prefectures_hall(
        prefecture: CountyServer) -> None:
    server = prefecture
    town = await server.add_agent(MAERKANG + "100")
    county_hall = await server.add_unit_agent(WENCHUAN + "000000")
    prefecture_hall = await server.add_unit_agent("513200000000")
    await server.push(town, [town.accepted("2026-05-06", org_code=MAERKANG + "100000",
                                           village_code=MAERKANG + "100201")])
    await server.push(county_hall, [county_hall.accepted("2026-05-06", org_code=WENCHUAN + "000000",
                                                         village_code=WENCHUAN + "200202")])
    await server.push(prefecture_hall, [prefecture_hall.accepted("2026-05-07", org_code="513200000000",
                                                                 village_code=WENCHUAN + "100201")])
    _, top = await server.get("/api/v1/overview?period=2026-05")
    assert top["org"]["code"] == "513200000000" and top["figures"]["accepted"] == 3
    children = {c["org"]["code"]: (c["org"]["name"], c["figures"]["accepted"]) for c in top["children"]}
    assert len(children) == 14  # the prefecture's hall and its 13 counties
    assert children["513200000000"] == ("阿坝藏族羌族自治州政务服务大厅", 1)
    assert children[MAERKANG + "000000"] == ("马尔康市", 1) and children[WENCHUAN + "000000"] == ("汶川县", 1)
    _, lives = await server.get("/api/v1/overview?period=2026-05&basis=residence")
    children = {c["org"]["code"]: c["figures"]["accepted"] for c in lives["children"]}
    assert (children[MAERKANG + "000000"], children[WENCHUAN + "000000"], children["513200000000"]) == (1, 2, 0)
    # A county's hall serves its own county: a resident of another county is refused there (the prefecture's hall
    # takes anyone of the prefecture).
    other = county_hall.accepted("2026-05-08", org_code=WENCHUAN + "000000", village_code=MAERKANG + "200202")
    assert [r["code"] for r in (await server.push(county_hall, [other]))["refused"]] == ["wrong_township"]
    stats = await server.stats("county", "2026-05-01", "2026-05-31")
    assert len(stats) == 14 and stats[WENCHUAN + "000000"]["accepted"] == 1
    stats = await server.stats("prefecture", "2026-05-01", "2026-05-31")
    assert list(stats) == ["513200000000"] and stats["513200000000"]["accepted"] == 3
    _, county = await server.get(f"/api/v1/units?period=2026-05&org={WENCHUAN}&level=township")
    assert [r["org"]["name"] for r in county["rows"]] == ["汶川县政务服务大厅", "汶川镇", "汶川乡"]
    _, tree = await server.get("/api/v1/org-units")
    assert tree["level"] == "prefecture" and len(tree["children"]) == 13
    assert tree["children"][1]["children"][0]["children"][0]["name"] == "汶川镇一村"
    assert await maintenance.verify_rollups(server.app[STORE]) == []


