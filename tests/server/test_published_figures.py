"""The published figures, from data of our own shaped like the source reports and pushed through the agents'
protocol, come out of the stats API, the dashboard's JSON and the XLSX exports as the reports' definitions give them:

- 木里县年鉴 2021 (2020): the county's own 县政务服务大厅 "全年办理各类行政许可和公共服务事项 22753 件，其中：
  行政许可办结 2991 件，公共服务事项办结 13261 件；其他服务事项办结 6501 件，按时办结率 100%。受理群众咨询2万人次
  以上" — at full scale;
- 阿坝州 2021 总结: "1至10月，全州累计受理各类事项3564389件、办结3537028件" over 13 counties and 174 townships — at
  1/1000 (3,564 accepted, 3,537 completed), handled at townships, county halls and the prefecture's hall.

The real server on 127.0.0.1 over SQLite; XLSX read back with openpyxl.
"""

from __future__ import annotations

import io
import random
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from server.admin import rollups as maintenance
from server.http.common import REFERENCE, STORE
from tests.server.helpers import ADMIN_TOKEN, REPO, CountyServer, TownshipAgent, serve
from tests.server.published import Spec, build, consultations, push_all

pytestmark = pytest.mark.timeout(120)

MULI_HALL = "513422000000"


async def _xlsx(server: CountyServer, path: str) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    """The first sheet's rows and the 说明 sheet as a dict."""
    async with server.session.get(f"{server.url}{path}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as r:
        assert r.status == 200, await r.text()
        book = openpyxl.load_workbook(io.BytesIO(await r.read()))
    notes = {row[0]: row[1] for row in book["说明"].iter_rows(values_only=True)}
    return list(book.worksheets[0].iter_rows(values_only=True)), notes


async def _get(server: CountyServer, path: str) -> Any:
    status, body = await server.get(path)
    assert status == 200, body
    return body


@pytest.fixture
async def muli(tmp_path: Path) -> AsyncIterator[CountyServer]:
    async with serve(tmp_path, REPO / "config" / "org_units.csv") as server:
        yield server


async def test_muli_2020_the_county_halls_year_as_the_yearbook_prints_it(muli: CountyServer) -> None:
    server, rng = muli, random.Random(2020)
    hall = await server.add_unit_agent(MULI_HALL)
    villages = [u.code for u in server.app[REFERENCE].org_units.values() if u.level == "village"]
    y0, y1 = date(2020, 1, 2), date(2020, 12, 31)
    events: list[dict[str, Any]] = []
    for category, n in (("行政许可", 2991), ("公共服务", 13261), ("其他", 6501)):
        events += build(Spec(hall, MULI_HALL, category, n, n, y0, y1, villages=[*villages, None]), rng)
    events += consultations(hall, MULI_HALL, 20_100, y0, y1, rng)  # 受理群众咨询2万人次以上
    await push_all(server, hall, events)

    sentence = ("2020年，木里藏族自治县政务服务大厅全年办理各类行政许可和公共服务事项22753件，其中："
                "行政许可办结2991件，公共服务事项办结13261件；其他服务事项办结6501件，按时办结率100%。")
    # The stats API: the hall is a row of the county's table, and the county's total includes it.
    rows = await server.stats("township", "2020-01-01", "2020-12-31")
    assert (rows[MULI_HALL]["completed"], rows[MULI_HALL]["completed_on_time"], rows[MULI_HALL]["on_time_rate"]) == (
        22753, 22753, 1.0)
    assert rows[MULI_HALL]["name"] == "木里藏族自治县政务服务大厅"
    assert sum(r["completed"] for code, r in rows.items() if code != MULI_HALL) == 0  # townships handled none
    county = await server.stats("county", "2020-01-01", "2020-12-31")
    assert county[MULI_HALL]["completed"] == 22753

    # The dashboard's JSON: the hall's overview, its categories and the yearbook paragraph.
    o = await _get(server, "/api/v1/overview?period=2020&org=513422000")
    assert o["org"] == {"code": MULI_HALL, "name": "木里藏族自治县政务服务大厅", "level": "county", "kind": "hall"}
    assert (o["figures"]["completed"], o["figures"]["on_time_rate"], o["figures"]["consultations"]) == (
        22753, 1.0, 20100)
    assert [(b["key"], b["figures"]["completed"]) for b in o["by_category"]] == [
        ("行政许可", 2991), ("公共服务", 13261), ("其他", 6501)]
    s = await _get(server, f"/api/v1/summary?period=2020&org={MULI_HALL}")
    assert s["sentence"].startswith(sentence)
    assert s["sentence"].endswith("受理群众咨询20100人次。")
    # By residence the same cases count in the villages their applicants live in; the county's total is the same.
    lives = await _get(server, "/api/v1/units?period=2020&level=village&basis=residence")
    by_village = {r["org"]["code"]: r["figures"]["completed"] for r in lives["rows"]}
    assert sum(by_village[v] for v in villages) + by_village[MULI_HALL] == 22753 == lives["total"]["completed"]
    assert min(by_village[v] for v in villages) > 0  # every village page shows its residents' cases

    # The XLSX exports: the county's table with the hall's row, and the summary with its paragraph.
    sheet, notes = await _xlsx(server, "/api/v1/export/units?period=2020&level=township&format=xlsx")
    header = sheet[0]
    hall_row = next(r for r in sheet if r[0] == MULI_HALL)
    assert (hall_row[1], hall_row[header.index("办结量")], hall_row[header.index("按时办结率")]) == (
        "木里藏族自治县政务服务大厅", 22753, 1.0)
    assert notes["统计口径"].startswith("按办理地")
    sheet, notes = await _xlsx(server, f"/api/v1/export/summary?period=2020&org={MULI_HALL}&format=xlsx")
    assert notes["综述"] == s["sentence"]
    assert [(r[0], r[2]) for r in sheet[1:4]] == [("行政许可", 2991), ("公共服务", 13261), ("其他服务", 6501)]
    assert await maintenance.verify_rollups(server.app[STORE]) == []


# ---- 阿坝州 2021, 1-10月, 13 counties, at 1/1000 ---------------------------------------------------------------

ABA_COUNTIES = [("513201", "马尔康市"), ("513221", "汶川县"), ("513222", "理县"), ("513223", "茂县"),
                ("513224", "松潘县"), ("513225", "九寨沟县"), ("513226", "金川县"), ("513227", "小金县"),
                ("513228", "黑水县"), ("513230", "壤塘县"), ("513231", "阿坝县"), ("513232", "若尔盖县"),
                ("513233", "红原县")]
ABA = "513200000000"
TOWNSHIPS, VILLAGES = 174, 1154  # 174个乡镇便民服务中心, 1154个便民服务室
ACCEPTED, COMPLETED, ONLINE = 3564, 3537, 3030  # 3564389, 3537028, 3030301 at 1/1000


def aba_org_units(path: Path) -> None:
    """The prefecture, its 13 counties (real codes) with their halls, 174 townships and 1154 villages (codes and
    names of our own)."""
    lines = ["code,name,level,parent,kind,phone", f"{ABA},阿坝藏族羌族自治州,prefecture,,hall,"]
    townships = [(c, n, i) for i in range(TOWNSHIPS) for c, n in [ABA_COUNTIES[i % 13]]]
    for code, name in ABA_COUNTIES:
        lines.append(f"{code}000000,{name},county,{ABA},hall,")
    v = 0
    for k, (county, name, i) in enumerate(townships):
        t = f"{county}{100 + i // 13:03d}"
        lines.append(f"{t}000,{name}第{i // 13 + 1}镇,township,{county}000000,centre,")
        for j in range(VILLAGES // TOWNSHIPS + (1 if k < VILLAGES % TOWNSHIPS else 0)):
            lines.append(f"{t}{201 + j},{name}第{i // 13 + 1}镇{j + 1}村,village,{t}000,station,")
            v += 1
    assert v == VILLAGES
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
async def aba(tmp_path: Path) -> AsyncIterator[CountyServer]:
    aba_org_units(tmp_path / "aba.csv")
    async with serve(tmp_path, tmp_path / "aba.csv") as server:
        yield server


async def test_aba_2021_a_prefectures_ten_months_over_thirteen_counties(aba: CountyServer) -> None:
    server, rng = aba, random.Random(2021)
    ref = server.app[REFERENCE]
    assert len(ref.townships()) == TOWNSHIPS and sum(u.level == "village" for u in ref.org_units.values()) == VILLAGES
    m0, m9 = date(2021, 1, 4), date(2021, 10, 31)
    # Where the cases are handled: every township's centre, each county's hall, the prefecture's hall.
    desks: list[tuple[TownshipAgent, str, list[str]]] = []
    for t in sorted(ref.townships(), key=lambda u: u.code):
        desks.append((await server.add_agent(t.code[:9]), t.code, [v.code for v in ref.units_under(t.code[:9])
                                                                     if v.level == "village"]))
    for code, _ in ABA_COUNTIES:
        desks.append((await server.add_unit_agent(code + "000000"), code + "000000",
                      [v.code for v in ref.units_under(code, None) if v.level == "village"]))
    everywhere = [v.code for v in ref.org_units.values() if v.level == "village"]
    desks.append((await server.add_unit_agent(ABA), ABA, everywhere))
    per, extra = divmod(ACCEPTED, len(desks))
    open_left, online_left, handed = ACCEPTED - COMPLETED, ONLINE, 0
    expected_per_county: dict[str, int] = {}
    for k, (agent, org_code, villages) in enumerate(desks):
        n = per + (1 if k < extra else 0)
        still_open = min(open_left, 1 if k % 7 == 0 else 0)
        open_left -= still_open
        handed += n
        online = round(handed * ONLINE / ACCEPTED) - (ONLINE - online_left)  # the share so far, never above n
        online_left -= online
        category = ("行政许可", "公共服务", "其他")[k % 3]
        events = build(Spec(agent, org_code, category, n, n - still_open, m0, m9, villages, online=online), rng)
        await push_all(server, agent, events)
        expected_per_county[org_code[:6]] = expected_per_county.get(org_code[:6], 0) + n
    assert open_left == 0 and online_left == 0

    rate = round(COMPLETED / ACCEPTED, 4)  # 办结率 = 办结量 / 受理量: 99.23 % published, 99.24 % at this scale
    # The stats API: the prefecture, and its counties (the prefecture's own hall first).
    top = await server.stats("prefecture", "2021-01-01", "2021-10-31")
    assert (top["513200000000"]["accepted"], top["513200000000"]["completed"]) == (ACCEPTED, COMPLETED)
    counties = await server.stats("county", "2021-01-01", "2021-10-31")
    assert len(counties) == 14 and counties[ABA]["name"] == "阿坝藏族羌族自治州政务服务大厅"
    assert {c[:6]: r["accepted"] for c, r in counties.items()} == expected_per_county
    # The dashboard's JSON: the paragraph of the ten months, the overview, the township table of every county.
    o = await _get(server, "/api/v1/overview?from=2021-01-01&to=2021-10-31")
    f = o["figures"]
    assert (f["accepted"], f["completed"], f["completion_rate"], f["online"]) == (ACCEPTED, COMPLETED, rate, ONLINE)
    assert len(o["children"]) == 14
    s = await _get(server, "/api/v1/summary?from=2021-01-01&to=2021-10-31")
    assert s["sentence"].startswith("2021年1至10月，阿坝藏族羌族自治州办理各类行政许可和公共服务事项3537件")
    assert f"累计受理各类事项{ACCEPTED}件、办结{COMPLETED}件。" in s["sentence"]
    townships = await _get(server, "/api/v1/units?from=2021-01-01&to=2021-10-31&level=township")
    assert sum(r["org"]["level"] == "township" for r in townships["rows"]) == TOWNSHIPS
    assert sum(r["figures"]["accepted"] for r in townships["rows"]) == ACCEPTED == townships["total"]["accepted"]
    # By residence: every case counts in a village of the prefecture.
    lives = await _get(server, "/api/v1/units?from=2021-01-01&to=2021-10-31&level=village&basis=residence")
    assert sum(r["figures"]["accepted"] for r in lives["rows"] if r["org"]["level"] == "village") == ACCEPTED
    # The XLSX export of the county table and of the month report.
    sheet, notes = await _xlsx(server, "/api/v1/export/units?from=2021-01-01&to=2021-10-31&format=xlsx")
    header, total = sheet[0], sheet[-1]
    assert (total[1], total[header.index("受理量")], total[header.index("办结量")], total[header.index("办结率")]) == (
        "合计", ACCEPTED, COMPLETED, rate)
    assert len(sheet) == 1 + 14 + 1 and notes["统计期间"].startswith("2021-01-01 至 2021-10-31")
    sheet, _ = await _xlsx(server, "/api/v1/export/report?from=2021-01-01&to=2021-10-31&table=months&format=xlsx")
    assert sheet[0] == ("单位", *(f"{m}月" for m in range(1, 11)), "合计")
    assert sheet[-1][0] == "合计" and sheet[-1][-1] == ACCEPTED
    assert await maintenance.verify_rollups(server.app[STORE]) == []
