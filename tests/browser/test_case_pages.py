"""更正 and the dashboard's case page in real Chromium, with the real county and agent processes: staff correct a
rated case's phone with a reason on the PC (a figure field stays locked), the correction shows in the PC's history
and, after sync, on the dashboard's case page, found by the last 4 digits of the ID and opened from a figure."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from scripts.cluster import http_json
from tests.browser.conftest import VALID_ID, open_page
from tests.browser.county import add_account, log_in

pytestmark = pytest.mark.browser

TOWNSHIP = "513422100"


def _rated_case(agent: str) -> dict:
    """A case accepted, completed and rated 不满意 through the agent's local API (the page's own routes)."""
    code, case = http_json("POST", f"{agent}/api/cases", {
        "item_code": "GG-0004", "applicant_name": "扎西卓玛", "cert_type": "resident_id", "cert_no": VALID_ID,
        "phone": "13800000001", "channel": "window", "village_code": f"{TOWNSHIP}201", "staff": "李四"})
    assert code == 201, case
    for kind, data in (("completed", {"result": "approved"}), ("evaluated", {"rating": 2, "comment": "等得太久"})):
        code, body = http_json("POST", f"{agent}/api/cases/{case['case_id']}/events", {"kind": kind, "data": data})
        assert code == 201, body
    return case


def test_a_correction_on_the_pc_shows_in_both_histories_and_the_case_is_found_on_the_dashboard(cluster, page):
    cluster.server.start()
    add_account(cluster)
    cluster.add_agent("pc1").start()
    agent = cluster.agent_url("pc1")
    open_page(page, agent, "/#/today")
    expect(page.locator("#sync-indicator")).to_have_attribute("data-state", "online", timeout=20_000)
    case = _rated_case(agent)

    # On the PC: 更正 the phone of the rated case, with a reason; the item cannot change without the county's grant.
    open_page(page, agent, f"/#/case/{case['case_id']}")
    page.click("[data-action=corrected]")
    form = page.locator("form[data-kind=corrected]")
    expect(form.locator("select[name=item_code]")).to_be_disabled()
    expect(form.locator("[data-field=item_code] .hint")).to_have_text("须县级授权")
    form.locator("input[name=phone]").fill("13900000002")
    page.keyboard.press("Control+Enter")
    expect(form.locator("#err-reason")).to_have_text("请填写更正原因")  # nothing saved without a reason
    form.locator("textarea[name=reason]").fill("申请人电话记错一位")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("[data-slot=saved]:not([hidden])")
    row = page.locator("[data-slot=history] tbody tr", has_text="更正")
    expect(row).to_contain_text("原因：申请人电话记错一位")
    expect(row.locator("del")).to_have_text("13800000001")
    expect(row.locator("ins")).to_have_text("13900000002")
    expect(page.locator("[data-slot=facts]")).to_contain_text("13900000002")

    code, summary = http_json("POST", f"{agent}/api/sync", {})
    assert code == 200 and summary["ok"], summary

    # On the dashboard: the top search by the ID's last 4, then the case's page with the correction in its history.
    log_in(page, cluster.server_url)
    page.fill("#search-q", "002x")
    page.keyboard.press("Enter")
    page.wait_for_url("**#/search?q=002x")
    page.wait_for_selector("body[data-ready=true]")
    results = page.locator("#search-results tbody tr")
    expect(results).to_have_count(1)
    expect(results).to_contain_text("扎西卓玛")
    expect(results).not_to_contain_text(VALID_ID)  # masked
    results.locator("a.case-link").click()
    page.wait_for_url(f"**#/case/{case['case_id']}")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#case-title")).to_contain_text(case["case_no"])
    expect(page.locator("#case-facts")).to_contain_text("13900000002")
    expect(page.locator("#case-facts")).to_contain_text("等得太久")
    history = page.locator("#case-history tbody tr")
    expect(history).to_have_count(4)
    fix = page.locator("#case-history tr[data-kind=corrected]")
    expect(fix).to_contain_text("更正原因：申请人电话记错一位")
    expect(fix.locator("[data-field=phone] del")).to_have_text("13800000001")
    expect(fix.locator("[data-field=phone] ins")).to_have_text("13900000002")
    expect(page.locator("#case-history tr[data-kind=accepted]")).to_contain_text("李四")
    expect(page.locator("#case-history tr[data-kind=evaluated]")).to_contain_text("不满意：等得太久")

    # From a figure: the overview's 受理 card -> the cases behind it -> this case's page.
    page.goto(f"{cluster.server_url}/dashboard/#/overview")
    page.wait_for_selector("body[data-ready=true]")
    page.click("[data-card=accepted] a.card-value")
    page.wait_for_url("**#/cases?**figure=accepted**")
    page.wait_for_selector("body[data-ready=true]")
    page.click(f"a.case-link[data-case-id='{case['case_id']}']")
    page.wait_for_url(f"**#/case/{case['case_id']}")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#case-history tr[data-kind=corrected]")).to_contain_text("申请人电话记错一位")
    # 差评回访 shows the resident's comment and leads to the case too.
    page.goto(f"{cluster.server_url}/dashboard/#/bad?state=pending")  # all waiting, not only the overdue
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#follow-ups tbody tr .comment")).to_have_text("等得太久")
    expect(page.locator(f"a.case-link[data-case-id='{case['case_id']}']")).to_be_visible()
