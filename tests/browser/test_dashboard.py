"""The county dashboard in real headless Chromium against the real county server process: log in, open the
overview, drill down from the county to a township to a village, open the cases behind a figure, export XLSX and
read it back. Figures are the hand-computed ones of tests/server/test_figures.py."""

from __future__ import annotations

import openpyxl
import pytest
from playwright.sync_api import expect

from server.reports.tables import offset_seconds
from tests.browser.county import log_in, start_county, visit
from tests.server.helpers import QIAOWA
from tests.server.test_figures import load_data_set

pytestmark = pytest.mark.browser


@pytest.fixture
def county(tmp_path):
    cluster = start_county(tmp_path / "county", load_data_set)
    yield cluster
    cluster.stop_all()


def card(page, key: str):
    return page.locator(f"[data-card={key}] .card-value")


def test_log_in_drill_down_to_a_village_and_export_the_townships_table(county, page, tmp_path):
    url = county.server_url
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    log_in(page, url)
    expect(page.locator("#county-name")).to_have_text("木里藏族自治县")
    # the period picker: 2026, first quarter
    page.select_option("#p-year", "2026")
    page.select_option("#p-part", "Q1")
    page.wait_for_url("**period=2026-Q1**")
    page.wait_for_selector("body[data-ready=true]")
    expect(card(page, "accepted")).to_have_text("10")
    expect(card(page, "completed")).to_have_text("6")
    expect(page.locator("[data-definition=good_rating_rate]")).to_contain_text("基本满意")
    # the county's choice of definition beside the figure's name: 网上办理率(÷受理量)
    expect(page.locator("[data-card=online_share] .card-label")).to_have_text("网上办理率(÷受理量)")
    expect(page.locator("[data-definition=online_share]")).to_contain_text("网上受理 ÷ 受理量")
    # ratings as residents give them: the data set's four, each of the whole case at the window, entered by staff
    expect(page.locator("#ratings [data-rating=evaluations]")).to_have_text("4")
    expect(page.locator("#ratings [data-rating=via-window]")).to_have_text("4")
    expect(page.locator("#ratings [data-rating=at-case]")).to_have_text("4")
    expect(page.locator("#ratings [data-rating=resident_ratings]")).to_have_text("0")
    assert page.locator("svg.chart rect.bar-accepted").count() == 3  # January to March
    # county -> township -> village
    page.click(f"#units a[data-unit='{QIAOWA}000']")
    page.wait_for_url(f"**org={QIAOWA}**")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("h1")).to_have_text("乔瓦镇")
    expect(card(page, "accepted")).to_have_text("7")
    expect(page.locator(f"#units a[data-unit='{QIAOWA}000']")).to_have_text("乔瓦镇便民服务中心（本级）")
    page.click(f"#units a[data-unit='{QIAOWA}201']")
    page.wait_for_url(f"**org={QIAOWA}201**")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("h1")).to_have_text("锄头湾村")
    expect(card(page, "accepted")).to_have_text("2")
    expect(page.locator(".crumbs")).to_contain_text("木里藏族自治县›乔瓦镇›锄头湾村")
    # back to the county, export the townships table and read it back
    page.click(".crumbs a >> nth=0")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("h1")).to_have_text("木里藏族自治县")
    with page.expect_download() as download:
        page.click("#units [data-export=units-xlsx]")
    path = tmp_path / "townships.xlsx"
    download.value.save_as(path)
    sheet = openpyxl.load_workbook(path).worksheets[0]
    header = [c.value for c in sheet[1]]
    rows = {r[1]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["乔瓦镇"][header.index("受理量")] == 7
    assert rows["合计"][header.index("办结量")] == 6 and rows["合计"][header.index("按时办结率")] == 0.5
    assert sheet.freeze_panes == "A2"
    assert all(u.startswith(url) for u in requests), [u for u in requests if not u.startswith(url)]


def test_a_figure_opens_the_cases_behind_it_with_masked_certificates(county, page):
    url = county.server_url
    log_in(page, url)
    visit(page, url, f"#/overview?period=2026-Q1&org={QIAOWA}")
    page.click(f"#units a[data-figure=completed_late][href*='org={QIAOWA}000']")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#cases-title")).to_have_text("乔瓦镇便民服务中心办件清单：超期办结")
    rows = page.locator("table.data tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("110105********0021")
    expect(rows.first).not_to_contain_text("110105194912310021")
    # the county-wide work lists
    visit(page, url, "#/open?as_of=2026-04-01")
    expect(page.locator("#overdue tbody tr")).to_have_count(2)
    expect(page.locator("#due-soon tbody tr")).to_have_count(1)
    visit(page, url, "#/bad?as_of=2026-04-01")
    # c6's 不满意 of 03-03: 15 working days (the county rule) end on 03-24, 8 days before 04-01
    expect(page.locator("#follow-ups tbody tr")).to_have_count(1)
    expect(page.locator("#follow-ups tbody tr")).to_contain_text("2026-03-24")
    expect(page.locator("#follow-ups tbody tr td.num")).to_have_text("8")
    visit(page, url, "#/summary?period=2026-Q1")
    expect(page.locator("#yearbook-sentence")).to_have_text(
        "2026年第一季度，木里藏族自治县办理各类行政许可和公共服务事项6件，其中：行政许可办结3件，公共服务事项办结3件；"
        "其他服务事项办结0件，按时办结率50%。累计受理各类事项10件、办结6件，受理群众咨询3人次。")
    visit(page, url, "#/agents")
    expect(page.locator("tbody tr")).to_have_count(2)


def test_a_wrong_password_is_refused_and_logout_ends_the_session(county, page):
    url = county.server_url
    page.goto(f"{url}/dashboard/")
    page.wait_for_selector("#login-form")
    page.fill("#login-name", "admin")
    page.fill("#login-password", "not the password")
    page.click("#login-form button[type=submit]")
    expect(page.locator(".banner.error")).to_have_text("账号或密码不正确")
    log_in(page, url)
    page.click("#logout")
    page.wait_for_selector("#login-form")
    visit(page, url, "#/overview?period=2026")
    page.wait_for_selector("#login-form")


def test_a_reversed_range_says_what_is_wrong_in_chinese_instead_of_emptying_the_page(county, page):
    url = county.server_url
    log_in(page, url)
    # An address typed or edited by hand: the page keeps its period picker and says, on the dates, what to fix.
    visit(page, url, "#/overview?from=2026-03-05&to=2026-03-01")
    expect(page.locator("#p-error")).to_have_text(
        "开始日期 2026-03-05 晚于结束日期 2026-03-01：请把开始日期改早，或把结束日期改晚")
    assert page.get_attribute("#p-from", "aria-invalid") == "true"
    expect(page.locator("#p-from")).to_be_visible()
    expect(page.locator("h1")).to_have_text("总览")
    assert "null" not in page.locator("#view").inner_text()
    # Mending it in the picker shows the figures; reversing it there again is caught before anything is asked.
    page.fill("#p-from", "2026-01-01")
    page.dispatch_event("#p-from", "change")
    page.wait_for_url("**from=2026-01-01**")
    page.wait_for_selector(".cards")
    expect(card(page, "accepted")).to_have_text("3")  # 1 January to 1 March
    page.fill("#p-to", "2025-12-31")
    page.dispatch_event("#p-to", "change")
    expect(page.locator("#p-error")).to_contain_text("开始日期 2026-01-01 晚于结束日期 2025-12-31")
    assert "to=2025-12-31" not in page.url
    expect(card(page, "accepted")).to_have_text("3")  # the figures stay on the page


def test_clock_offsets_read_as_the_export_writes_them_never_minus_zero(county, page):
    log_in(page, county.server_url)
    offsets = [-40, 40, 0, -49, -50, 50, 1234, -61000]
    shown = page.evaluate("(ms) => import('/dashboard/static/dom.js').then((m) => ms.map(m.secondsText))", offsets)
    assert shown == ["0.0", "0.0", "0.0", "0.0", "-0.1", "+0.1", "+1.2", "-61.0"]
    assert [float(text) for text in shown] == [offset_seconds(ms) for ms in offsets]  # what the export writes
