"""The whole day in the page with the real county server: registered and synced once, then down while staff accept,
supplement, complete and rate a case in Chromium, then up again: the case is in the county's figures."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from scripts.cluster import Cluster, http_json
from tests.browser.conftest import act, enter_case, expect_focus, open_page

pytestmark = pytest.mark.browser

TOWNSHIP = "513422100"


def county_figures(cluster: Cluster) -> dict:
    today = date.today()
    query = f"level=township&org=513422&from={today.year - 1}-01-01&to={today.year + 1}-12-31"
    code, body = http_json("GET", f"{cluster.server_url}/api/v1/stats?{query}", token=cluster.admin_token)
    assert code == 200, body
    return {row["code"]: row for row in body["rows"]}[f"{TOWNSHIP}000"]


def test_a_case_worked_in_the_page_while_the_county_is_down_reaches_its_figures(cluster, page):
    cluster.server.start()
    cluster.add_agent("pc1").start()
    url = cluster.agent_url("pc1")
    open_page(page, url, "/#/today")
    expect(page.locator("#sync-indicator")).to_have_attribute("data-state", "online", timeout=20_000)
    before = county_figures(cluster)

    cluster.server.stop()
    enter_case(page, village=f"{TOWNSHIP}201")
    # The save starts a sync round at once; it cannot reach the county.
    expect(page.locator("#sync-indicator")).to_have_attribute("data-state", "offline", timeout=20_000)
    act(page, "supplement_requested", "户口簿复印件\n家庭收入证明")
    act(page, "supplement_received")
    act(page, "completed")
    act(page, "evaluated", "Space")  # 非常满意
    assert page.text_content(".view-head .badge") == "已办结"
    expect(page.locator("#sync-pending")).to_contain_text("5")
    assert page.get_attribute("#sync-indicator", "data-state") == "offline"

    cluster.server.start()
    page.click("#sync-indicator")
    page.click("#sync-now")
    expect(page.locator("#sync-indicator")).to_have_attribute("data-state", "online", timeout=20_000)
    expect(page.locator("#sync-pending")).to_have_text("已全部上传", timeout=20_000)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("[data-slot=history] .upload-synced")).to_have_count(5)

    after = county_figures(cluster)
    assert after["accepted"] - before["accepted"] == 1
    assert after["completed"] - before["completed"] == 1
    assert after["completed_on_time"] - before["completed_on_time"] == 1
    assert after["evaluations"] - before["evaluations"] == 1
    assert after["good_ratings"] - before["good_ratings"] == 1


def test_a_page_opened_before_the_pc_had_the_catalog_picks_it_up_without_a_reload(cluster, page):
    """A fresh PC: staff open the page before the agent ever reached the county. Once it does, the page gets the
    catalog and shows the new-case form in place of the "no catalog" notice, without a reload."""
    cluster.add_agent("pc1").start()  # the county is not running yet
    open_page(page, cluster.agent_url("pc1"), "/#/new")
    expect(page.locator("#view .banner")).to_contain_text("尚未取得县里的事项目录")
    page.evaluate("window.__loadedOnce = true")  # gone if the page reloads

    cluster.server.start()
    expect(page.locator("#centre-name")).to_contain_text("乔瓦镇", timeout=20_000)
    expect_focus(page, "#f-item")
    page.keyboard.type("最低生活")
    expect(page.locator("#f-item-list li[aria-selected=true]")).to_contain_text("最低生活保障")
    assert page.evaluate("window.__loadedOnce") is True
