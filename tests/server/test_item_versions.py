"""Catalogue items with versions and 可网办: a catalog change in the middle of the year (an item moved to another report
group, made 全程网办, its promised limit shortened) leaves the cases accepted before it under the old entry, whether
their PC recorded the version or not; the item figures (可网办, 全程网办, 最多跑一次, 承诺提速 and 承诺提速率) are
those of the catalog on the day asked, through the API, the overview and the XLSX export.

The real server on 127.0.0.1 over a real SQLite file, a catalog file of its own.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import aiohttp
import openpyxl
import pytest
from aiohttp.test_utils import TestServer

from server.app import build_app
from server.config import load_config
from server.errors import ConfigError
from server.model.reference import Reference, load_catalog, load_org_units
from tests.server.helpers import ADMIN_TOKEN, QIAOWA, REPO, CountyServer, config_text

HEADER = "code,name,category,promised_days,legal_days,is_online,is_one_trip,is_online_capable,version,valid_from"
CATALOG = f"""{HEADER}
GG-0004,最低生活保障申请,公共服务,10,30,0,1,1,2025版,
QT-0003,森林草原防火期野外用火审批,其他,5,5,0,0,0,2025版,
QT-0003,森林草原防火期野外用火审批,行政许可,1,5,1,1,1,2026年7月版,2026-07-01
XK-0009,新增事项,行政许可,20,20,0,0,0,,2026-09-01
"""


@pytest.fixture
async def server(tmp_path: Path):
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(CATALOG, encoding="utf-8")
    config_path = tmp_path / "server.toml"
    config_path.write_text(config_text(where=tmp_path).replace(str(REPO / "config" / "catalog.csv"), str(catalog)),
                           encoding="utf-8")
    config = load_config(config_path)
    app = await build_app(config)
    async with TestServer(app, host="127.0.0.1", port=0) as test_server, aiohttp.ClientSession() as session:
        yield CountyServer(str(test_server.make_url("")).rstrip("/"), app, config, session)


async def _get(server: CountyServer, path: str) -> Any:
    status, body = await server.get(path)
    assert status == 200, body
    return body


def test_versions_load_in_order_and_full_online_implies_online_capable(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(CATALOG, encoding="utf-8")
    items = load_catalog(path)
    fire = items["QT-0003"]
    assert (fire.version, fire.valid_from, fire.category, fire.is_online_capable) == (
        "2026年7月版", "2026-07-01", "行政许可", True)
    assert [(v.version, v.category, v.promised_days) for v in fire.earlier] == [("2025版", "其他", 5)]
    assert items["XK-0009"].version == "2026-09-01"  # a version without a name is named by its day
    # the PCs get each item's newest version only
    units = load_org_units(REPO / "config" / "org_units.csv")
    for_agents = {i.code: i for i in Reference(units, items).items_for_agents}
    assert (for_agents["QT-0003"].version, for_agents["QT-0003"].earlier) == ("2026年7月版", [])
    path.write_text(CATALOG + "QT-0003,again,其他,1,5,0,0,0,x,2026-07-01\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="appears twice with valid_from 2026-07-01"):
        load_catalog(path)


async def test_a_catalog_change_mid_year_keeps_earlier_cases_under_their_entry(server: CountyServer) -> None:
    q = await server.add_agent(QIAOWA)
    before_recorded = q.accepted("2026-03-02", item_code="QT-0003", item_version="2025版", promised_days=5)
    before_unrecorded = q.accepted("2026-06-30", item_code="QT-0003", promised_days=5)  # an older PC: no version
    after = q.accepted("2026-07-02", item_code="QT-0003", item_version="2026年7月版", promised_days=1)
    await server.push(q, [before_recorded, before_unrecorded, after])
    groups = {b["key"]: b["figures"]["accepted"]
              for b in (await _get(server, "/api/v1/overview?period=2026"))["by_category"]}
    assert (groups["其他"], groups["行政许可"]) == (2, 1)
    # the catalog as of a day: before the change, and after it (with the item added in September)
    june = await _get(server, "/api/v1/items?as_of=2026-06-30")
    assert [(r["code"], r["version"], r["category"]) for r in june["rows"]] == [
        ("GG-0004", "2025版", "公共服务"), ("QT-0003", "2025版", "其他")]
    f = june["figures"]
    assert (f["items"], f["online_capable"], f["fully_online"], f["one_trip"]) == (2, 1, 0, 1)
    assert (f["promise_faster"], f["promise_faster_share"], f["promise_speedup"]) == (1, 0.5, round(20 / 30 / 2, 4))
    december = (await _get(server, "/api/v1/items?as_of=2026-12-31"))["figures"]
    assert (december["items"], december["online_capable"], december["online_capable_share"]) == (3, 2, 0.6667)
    assert (december["fully_online"], december["one_trip"], december["promise_faster"]) == (1, 2, 2)
    # the overview's item panel is the catalog at the end of its period
    first_half = (await _get(server, "/api/v1/overview?from=2026-01-01&to=2026-06-30"))["items"]
    assert first_half == f
    # the XLSX export: one row per item as of the day, and the figures as the reports print them
    async with server.session.get(f"{server.url}/api/v1/export/items?as_of=2026-12-31&format=xlsx",
                                  headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as r:
        assert r.status == 200
        workbook = openpyxl.load_workbook(io.BytesIO(await r.read()))
    rows = list(workbook.worksheets[0].iter_rows(min_row=2, values_only=True))
    assert [(row[0], row[3], row[5]) for row in rows] == [
        ("GG-0004", "2025版", "是"), ("QT-0003", "2026年7月版", "是"), ("XK-0009", "2026-09-01", "否")]
    notes = dict(workbook["说明"].iter_rows(values_only=True))
    assert notes["可网办事项"] == "2 项,占比 66.67%"
