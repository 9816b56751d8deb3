"""Roles in real Chromium against the real county server process: a township viewer's dashboard opens on its
township and offers no county link; typing another township into the address shows the refusal in Chinese; the
auditor's 审计日志 lists the logins (China time, the address, the outcome) and exports them."""

from __future__ import annotations

import openpyxl
import pytest
from playwright.sync_api import expect

from tests.browser.county import PASSWORD, add_account, log_in, start_county, visit
from tests.server.helpers import QIAOWA, WACHANG
from tests.server.test_figures import load_data_set

pytestmark = pytest.mark.browser


@pytest.fixture
def county(tmp_path):
    cluster = start_county(tmp_path / "county", load_data_set)
    add_account(cluster, "qiaowa", PASSWORD, "--role", "township_viewer", "--township", QIAOWA)
    add_account(cluster, "shenji", PASSWORD, "--role", "auditor")
    yield cluster
    cluster.stop_all()


def test_a_township_viewer_sees_its_township_and_the_auditor_reads_the_audit_log(county, page, tmp_path):
    url = county.server_url
    log_in(page, url, "qiaowa")
    expect(page.locator("h1")).to_have_text("乔瓦镇")
    expect(page.locator("#account-name")).to_have_text("qiaowa（乡镇查看员 · 乔瓦镇）")
    expect(page.locator(".crumbs a")).to_have_count(0)  # no way up to the county
    expect(page.locator("[data-nav=audit]")).to_be_hidden()
    visit(page, url, f"#/overview?period=2026&org={WACHANG}")
    expect(page.locator(".banner.error")).to_contain_text("只能查看本乡镇")
    page.click("#logout")
    page.wait_for_selector("#login-form")

    log_in(page, url, "shenji")
    expect(page.locator("[data-nav=audit]")).to_be_visible()
    page.click("[data-nav=audit]")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("h1")).to_have_text("审计日志")
    table = page.locator("table")
    expect(table).to_contain_text("越权访问被拒绝")
    expect(table).to_contain_text("127.0.0.1")
    expect(table.locator("tbody tr").first).to_contain_text("登录")  # shenji's own login, the newest
    page.fill("#audit-filter input[name=actor]", "qiaowa")
    page.click("#audit-filter button[type=submit]")
    page.wait_for_url("**actor=qiaowa**")
    page.wait_for_selector("body[data-ready=true]")
    expect(table.locator("tbody tr")).to_have_count(3)  # its login, the refused read, its logout
    with page.expect_download() as download:
        page.click("[data-export=audit-xlsx]")
    path = tmp_path / "audit.xlsx"
    download.value.save_as(path)
    sheet = openpyxl.load_workbook(path).worksheets[0]
    actors = {r[2] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert actors == {"qiaowa"}
