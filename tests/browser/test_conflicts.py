"""Conflicts (县级未采纳) in real Chromium, with the real county server and two real agents of one township: two
windows act on the same cases offline; the window whose action lost sees it in the sync indicator and on the case,
redoes one on the current state and accepts the county's state for the other; the county's dashboard lists both,
settled, with who did what."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from scripts.cluster import http_json
from tests.browser.county import add_account, log_in, visit
from tests.e2e.conftest import accept, act

pytestmark = pytest.mark.browser

TOWNSHIP = "513422100"


def sync(url: str) -> dict:
    summary = http_json("POST", f"{url}/api/sync")[1]
    assert summary["ok"], summary
    return summary


def test_the_window_whose_action_lost_redoes_one_accepts_the_other_and_the_county_sees_both_settled(cluster, page):
    cluster.server.start()
    add_account(cluster)
    cluster.add_agent("窗口1", interval_s=3600, early_delay_s=3600, pc_no=1).start()
    cluster.add_agent("窗口2", interval_s=3600, early_delay_s=3600, pc_no=2).start()
    one, two = cluster.agent_url("窗口1"), cluster.agent_url("窗口2")
    sync(one), sync(two)
    closed = accept(one, 1)
    paused = accept(one, 2)
    sync(one), sync(two)  # window 2 has both cases now
    # Offline, both windows: window 1 completes one case while window 2 withdraws it; on the other, window 1 asks
    # for a supplement, window 2 completes, then window 1's materials arrive.
    cluster.server.stop()
    act(one, closed["case_id"], "completed", result="approved")
    act(one, paused["case_id"], "supplement_requested", missing=["户口簿复印件"])
    time.sleep(0.05)
    act(two, closed["case_id"], "withdrawn", reason="申请人撤回")
    act(two, paused["case_id"], "completed", result="approved", note="当场办结")
    time.sleep(0.05)
    act(one, paused["case_id"], "supplement_received")
    cluster.server.start()
    sync(one), sync(two), sync(one)

    page.goto(f"{two}/#/today")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#sync-conflicts")).to_have_text("县级未采纳 2 条", timeout=15_000)
    # The completion lost to the supplement request; the case is in progress again, so it can be redone.
    page.goto(f"{two}/#/case/{paused['case_id']}")
    page.wait_for_selector("body[data-ready=true]")
    box = page.locator("[data-slot=conflicts]")
    expect(box).to_be_visible()
    expect(box).to_contain_text("县级未采纳：办结")
    expect(box).to_contain_text("县级已采纳：要求补正")
    expect(box).to_contain_text("窗口1")
    expect(page.locator("[data-slot=history] .conflict-row")).to_have_count(1)
    box.locator("[data-conflict-action=redo]").click()
    expect(box).to_contain_text("已处理：已按当前状态重做", timeout=10_000)
    expect(page.locator(".view-head .badge").first).to_have_text("已办结")
    # The withdrawal lost to the completion: a completed case cannot be withdrawn, only the county's state stands.
    page.goto(f"{two}/#/case/{closed['case_id']}")
    page.wait_for_selector("body[data-ready=true]")
    box = page.locator("[data-slot=conflicts]")
    expect(box).to_contain_text("县级未采纳：撤回")
    expect(box.locator("[data-conflict-action=redo]")).to_have_count(0)
    expect(box).to_contain_text("只能以县级为准")
    box.locator("[data-conflict-action=accept]").focus()
    page.keyboard.press("Enter")
    expect(box).to_contain_text("已处理：以县级为准", timeout=10_000)
    sync(two), sync(one)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#sync-conflicts")).to_be_hidden(timeout=15_000)

    # Window 1 sees the same, settled; the county lists both with their outcome.
    on_one = http_json("GET", f"{one}/api/cases/{paused['case_id']}/history")[1]
    assert on_one["case"]["state"] == "completed" and on_one["conflicts"][0]["outcome"] == "redone"
    log_in(page, cluster.server_url)
    visit(page, cluster.server_url, "#/conflicts?state=settled")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("table")).to_contain_text("按当前状态重做")
    expect(page.locator("table")).to_contain_text("以县级为准")
    expect(page.locator("table")).to_contain_text("窗口2")
    page.click("nav.tabs a[data-state=open]")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator(".empty")).to_have_text("没有这样的冲突")
    with page.expect_download() as download:
        page.click("a[data-export=conflicts-xlsx]")
    assert download.value.suggested_filename.endswith(".xlsx")
