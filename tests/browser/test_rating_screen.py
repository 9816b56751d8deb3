"""The resident rates the service on the window's rating screen (/rate), in real Chromium: the staff page hands the
completed case over (请群众评价), the resident taps a face in a second page, the rating is stored on the PC while the
county is down, and reaches the county's figures as a rating the resident entered, once the county is up."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from scripts.cluster import Cluster, http_json
from tests.browser.conftest import VALID_ID, act, enter_case, open_page

pytestmark = pytest.mark.browser

TOWNSHIP = "513422100"


def county_figures(cluster: Cluster) -> dict:
    year = date.today().year
    code, body = http_json("GET", f"{cluster.server_url}/api/v1/overview?org={TOWNSHIP}&from={year - 1}-01-01"
                                  f"&to={year + 1}-12-31", token=cluster.admin_token)
    assert code == 200, body
    return body["figures"]


def test_the_staff_page_hands_a_case_to_the_rating_screen_and_the_residents_tap_reaches_the_county(cluster, page):
    cluster.server.start()
    cluster.add_agent("pc1").start()
    url = cluster.agent_url("pc1")
    screen = page.context.new_page()  # the second monitor at the window
    screen.set_default_timeout(10_000)
    screen.goto(f"{url}/rate")
    expect(screen.locator("body")).to_have_attribute("data-state", "idle")
    expect(screen.locator("#idle h1")).to_have_text("欢迎办事")

    open_page(page, url, "/#/today")
    expect(page.locator("#sync-indicator")).to_have_attribute("data-state", "online", timeout=20_000)
    before = county_figures(cluster)
    cluster.server.stop()
    enter_case(page)
    act(page, "completed")
    page.click("[data-action=ask_rating]")
    expect(page.locator("[data-slot=saved]")).to_contain_text("已交给评价屏")

    # the screen picks the case up: its item and step, nothing personal; five faces, no typing
    expect(screen.locator("body")).to_have_attribute("data-state", "ask")
    expect(screen.locator("#rate-item")).to_have_text("最低生活保障申请")
    expect(screen.locator("#rate-step")).to_have_text("办结")
    expect(screen.locator(".face")).to_have_count(5)
    assert [screen.locator(".face .label").nth(i).text_content() for i in range(5)] == [
        "非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    assert "扎西卓玛" not in screen.content() and VALID_ID not in screen.content()
    assert screen.locator("input, textarea").count() == 0
    screen.click(".face[data-rating='4']")
    expect(screen.locator("body")).to_have_attribute("data-state", "thanks")
    expect(screen.locator("#thanks-choice")).to_have_text("您的评价：满意")
    expect(screen.locator("body")).to_have_attribute("data-state", "idle", timeout=10_000)

    # stored on the PC with the county down: the staff page shows it, waiting for upload
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("[data-ratings]")).to_contain_text("办结 · 窗口评价器 · 满意")
    assert page.get_attribute("#sync-indicator", "data-state") == "offline"
    # the same case cannot be handed over for its 办结 again: the resident rated it at the window
    page.click("[data-action=ask_rating]")
    expect(page.locator("[data-slot=action-error]")).to_contain_text("评价过")

    cluster.server.start()
    page.click("#sync-indicator")
    page.click("#sync-now")
    expect(page.locator("#sync-pending")).to_have_text("已全部上传", timeout=20_000)
    after = county_figures(cluster)
    assert after["evaluations"] - before["evaluations"] == 1
    assert after["resident_ratings"] - before["resident_ratings"] == 1
    assert after["ratings_by_step"]["completion"] - before["ratings_by_step"]["completion"] == 1
    assert after["ratings"]["4"] - before["ratings"]["4"] == 1
