"""The dashboard's org levels in real headless Chromium against the real county server process: the county hall's
row in the county's table, the 统计口径 switch (按办理地 / 按申请人居住地) that makes a village page count its
residents' cases, and the 报表 page with its months-by-units table and XLSX export."""

from __future__ import annotations

import json
from typing import Any

import openpyxl
import pytest
from playwright.sync_api import expect

from tests.browser.county import ProcessCounty, log_in, start_county, visit
from tests.server.helpers import QIAOWA, WACHANG, TownshipAgent

pytestmark = pytest.mark.browser

HALL = "513422000000"
W201 = WACHANG + "201"


async def seed(county: ProcessCounty) -> None:
    """Two cases at the county's hall of residents of 瓦厂镇's village 201, one at 乔瓦镇's centre of a resident of
    乔瓦镇's village 201."""
    out = json.loads(county.cluster.county("agents", "add", "--unit", HALL, "--name", "大厅 窗口1", "--json"))
    hall = TownshipAgent(out["agent_id"], out["token"], out["township_code"])
    q = await county.add_agent(QIAOWA)
    a = hall.accepted("2026-03-02", org_code=HALL, village_code=W201)
    b = hall.accepted("2026-04-02", org_code=HALL, village_code=W201)
    await county.push(hall, [a, hall.completed(a["case_id"], "2026-03-03"), b])
    await county.push(q, [q.accepted("2026-03-05", org_code=QIAOWA + "000", village_code=QIAOWA + "201")])


@pytest.fixture
def county(tmp_path: Any) -> Any:
    cluster = start_county(tmp_path / "county", seed)
    yield cluster
    cluster.stop_all()


def card(page: Any, key: str) -> Any:
    return page.locator(f"[data-card={key}] .card-value")


def test_the_hall_row_the_basis_switch_and_the_report_page(county: Any, page: Any, tmp_path: Any) -> None:
    url = county.server_url
    log_in(page, url)
    visit(page, url, "#/overview?period=2026")
    hall_link = page.locator(f"#units a[data-unit='{HALL}']")
    expect(hall_link).to_have_text("木里藏族自治县政务服务大厅")
    # a village by where its cases were handled: none; by where its residents live: the hall's two
    visit(page, url, f"#/overview?period=2026&org={W201}")
    expect(card(page, "accepted")).to_have_text("0")
    page.click("[data-basis=residence]")
    page.wait_for_url("**basis=residence**")
    page.wait_for_selector("body[data-ready=true]")
    expect(card(page, "accepted")).to_have_text("2")
    expect(page.locator("[data-basis=residence]")).to_have_attribute("aria-pressed", "true")
    # the county's table by residence: 瓦厂镇 2, 乔瓦镇 1, and the hall's row names the unknown residences
    visit(page, url, "#/overview?period=2026&basis=residence")
    expect(page.locator(f"#units a[data-unit='{HALL}']")).to_have_text("木里藏族自治县（居住地未填）")
    # the report page: months by units, its total, and the same table as XLSX
    visit(page, url, "#/report?period=2026")
    expect(page.locator("#report-title")).to_contain_text("月度分单位统计")
    header = page.locator("table.data thead th")
    expect(header.first).to_have_text("单位")
    expect(page.locator("table.data tbody tr.total td").last).to_have_text("3")
    hall_row = page.locator("table.data tbody tr", has_text="木里藏族自治县政务服务大厅")
    expect(hall_row.locator("td").nth(3)).to_have_text("1")  # March
    expect(hall_row.locator("td").nth(4)).to_have_text("1")  # April
    with page.expect_download() as info:
        page.click("[data-export=report-xlsx]")
    path = tmp_path / "report.xlsx"
    info.value.save_as(path)
    rows = list(openpyxl.load_workbook(path).worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "单位" and rows[-1][0] == "合计" and rows[-1][-1] == 3
    page.select_option("#figure", "completed")
    page.wait_for_url("**figure=completed**")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("table.data tbody tr.total td").last).to_have_text("1")
