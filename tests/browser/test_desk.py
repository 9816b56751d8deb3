"""What a person sees on the staff page in real Chromium, with the county down: the item search by alias and by pinyin
initials, long names, Tibetan script and emoji in the shipped fonts, a second tab that stays current, errors in
Chinese on their field, and what residents take home (the one-time notice, the result slip)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CENTRE_PHONE, VALID_ID, open_page
from tests.browser.test_offline_page import api

pytestmark = pytest.mark.browser

TIBETAN = "བཀྲ་ཤིས་བདེ་ལེགས།"  # bkra shis bde legs, with a subjoined ra under ka: the letters must stack
LONG_NAME = "Tashi-Delek-Cooperative-" * 4  # 96 characters without a space: no line break can save the table


def accept(agent, name: str = "扎西", item: str = "GG-0004") -> dict:
    return api(agent, "POST", "/api/cases", {"item_code": item, "applicant_name": name, "cert_type": "resident_id",
                                             "cert_no": VALID_ID, "phone": "13800000000"})


@pytest.mark.parametrize(("typed", "alias"), [("低保", "低保"), ("db", "低保"), ("ｄｂ", "低保"), ("zdsh", None)])
def test_the_item_search_finds_dibao_by_its_alias_and_by_pinyin_initials(page, offline_agent, typed, alias):
    open_page(page, offline_agent.url, "/#/new")
    page.keyboard.type(typed)
    first = page.locator("#f-item-list li[aria-selected=true]")
    expect(first).to_contain_text("最低生活保障申请")
    if alias:
        expect(first.locator(".alias")).to_have_text(f"又称「{alias}」")
    page.keyboard.press("Enter")
    assert page.input_value("#f-item-code") == "GG-0004"
    assert page.input_value("#f-item") == "最低生活保障申请"


def test_a_long_name_never_pushes_the_columns_off_the_table(page, offline_agent):
    case = accept(offline_agent, LONG_NAME)
    open_page(page, offline_agent.url, "/#/today")
    table = page.locator("[data-slot=cases] table.cases")
    fits = table.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth && t.getBoundingClientRect().right"
                          " <= document.documentElement.clientWidth")
    assert fits
    name = page.locator(f"tr[data-case-id='{case['case_id']}'] .clip", has_text="Tashi")
    assert name.get_attribute("title") == LONG_NAME  # the whole name is there, as the tooltip
    assert name.evaluate("e => e.scrollWidth > e.clientWidth")  # and cut on screen, with an ellipsis
    # On the case's page the name wraps inside its box instead of widening it.
    open_page(page, offline_agent.url, f"/#/case/{case['case_id']}")
    facts = page.locator("[data-slot=facts]")
    assert LONG_NAME in facts.text_content()
    assert facts.evaluate("f => f.scrollWidth <= f.clientWidth")


def test_tibetan_and_emoji_render_in_the_shipped_fonts_not_as_boxes(page, offline_agent):
    case = accept(offline_agent, f"{TIBETAN} 卓玛🌸")
    open_page(page, offline_agent.url, f"/#/case/{case['case_id']}")
    # The page itself fetches the faces once it shows such text (unicode-range); nothing else loads them here.
    page.wait_for_function("""() => ["Township Tibetan", "Township Emoji"].every((family) =>
        [...document.fonts].some((f) => f.family.replace(/"/g, "") === family && f.status === "loaded"))""")
    widths = page.evaluate("""([tibetan]) => {
        const stack = getComputedStyle(document.querySelector("[data-slot=facts] dd")).fontFamily;
        const width = (family, text) => {
            const c = document.createElement("canvas").getContext("2d");
            c.font = `40px ${family}`;
            return c.measureText(text).width;
        };
        const box = '"No Such Font"';  // what the PC drew before: a box per code point
        return {
            page: width(stack, tibetan), shipped: width('"Township Tibetan"', tibetan),
            stacked: [width(stack, "བཀྲ"), width(stack, "བཀ")], boxes: [width(box, "བཀྲ"), width(box, "བཀ")],
            emoji: width(stack, "🌸"), emojiShipped: width('"Township Emoji"', "🌸"), emojiBox: width(box, "🌸"),
        };
    }""", [TIBETAN])
    assert widths["page"] == pytest.approx(widths["shipped"], abs=0.5)  # the page's stack draws it in our font
    three, two = widths["stacked"]
    assert three == pytest.approx(two, abs=1)  # the subjoined ra stacks under ka: no width of its own
    box_three, box_two = widths["boxes"]
    assert box_three - box_two > 0.3 * box_two  # a box fallback gives it a box of its own
    assert widths["emoji"] == pytest.approx(widths["emojiShipped"], abs=0.5)
    assert widths["emoji"] > 2 * widths["emojiBox"]
    expect(page.locator("[data-slot=facts]")).to_contain_text(TIBETAN)


def test_a_second_tab_shows_what_the_first_one_did_and_never_redraws_over_unsaved_input(page, offline_agent):
    case = accept(offline_agent)
    other = page.context.new_page()
    try:
        open_page(page, offline_agent.url, f"/#/case/{case['case_id']}")
        open_page(other, offline_agent.url, f"/#/case/{case['case_id']}")
        expect(page.locator(".view-head .badge").first).to_have_text("办理中")
        # The other tab completes the case: this one shows it completed, without a reload.
        other.click("[data-action=completed]")
        other.click("form[data-kind=completed] button[type=submit]")
        expect(other.locator(".view-head .badge").first).to_have_text("已办结")
        expect(page.locator(".view-head .badge").first).to_have_text("已办结")
        expect(page.locator("[data-action=completed]")).to_have_count(0)
        # This tab starts a rating comment; the other rates the case: the comment stays, a note says what happened.
        page.click("[data-action=evaluated]")
        page.fill("form[data-kind=evaluated] [name=comment]", "办事很快")
        other.click("[data-action=evaluated]")
        other.check("form[data-kind=evaluated] input[value='5']")
        other.click("form[data-kind=evaluated] button[type=submit]")
        expect(page.locator(".banner.stale")).to_contain_text("其他窗口或电脑上更新")
        assert page.input_value("form[data-kind=evaluated] [name=comment]") == "办事很快"
        page.click(".banner.stale button")
        expect(page.locator("[data-slot=facts]")).to_contain_text("非常满意")
    finally:
        other.close()
    # An action from elsewhere (another PC's clerk, a script): the tab catches up when it is looked at again.
    second = accept(offline_agent, "次仁")
    open_page(page, offline_agent.url, "/#/today")
    api(offline_agent, "POST", f"/api/cases/{second['case_id']}/events",
        {"kind": "rejected", "data": {"reason": "不符合条件"}})
    assert page.locator(f"tr[data-case-id='{second['case_id']}']").count() == 1
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.locator(f"tr[data-case-id='{second['case_id']}']")).to_have_count(0)


def test_a_bad_field_is_named_in_chinese_on_the_field_and_a_failed_sync_says_why(page, offline_agent):
    case = accept(offline_agent)
    open_page(page, offline_agent.url, f"/#/case/{case['case_id']}")
    page.click("[data-action=completed]")
    page.fill("form[data-kind=completed] [name=note]", "很" * 2001)
    page.click("form[data-kind=completed] button[type=submit]")
    field = page.locator("form[data-kind=completed] [data-field=note]")
    expect(field.locator(".field-error")).to_have_text("备注不能超过2000个字")
    assert field.locator("textarea").get_attribute("aria-invalid") == "true"
    expect(page.locator("[data-slot=action-error]")).to_have_text("备注不能超过2000个字")
    assert "Expected" not in page.locator("#view").text_content()
    assert page.input_value("form[data-kind=completed] [name=note]") == "很" * 2001  # nothing typed is lost
    # The county is down: the bar says why in Chinese; the technical text waits in the panel, folded, for ops.
    expect(page.locator("#sync-reason")).to_contain_text("连不上县服务器")
    assert "ClientConnectorError" not in page.locator("#syncbar").inner_text()
    page.click("#sync-indicator")
    expect(page.locator("#sync-error")).to_contain_text("连不上县服务器")
    page.click("#sync-error-tech summary")
    expect(page.locator("#sync-error-detail")).to_contain_text("ClientConnectorError")


def test_the_notice_carries_the_note_deadline_and_phone_and_the_result_slip_prints(page, offline_agent):
    case = accept(offline_agent)
    events = f"/api/cases/{case['case_id']}/events"
    api(offline_agent, "POST", events, {"kind": "supplement_requested",
                                        "data": {"missing": ["户口簿复印件"], "note": "复印件需本人签字"}})
    history = api(offline_agent, "GET", f"/api/cases/{case['case_id']}/history")["case"]
    open_page(page, offline_agent.url, f"/#/case/{case['case_id']}")
    expect(page.locator("[data-slot=facts]")).to_contain_text("复印件需本人签字")
    open_page(page, offline_agent.url, f"/print/notice/{case['case_id']}")
    sheet = page.locator("#sheet")
    for text in ("一次性告知书", "户口簿复印件", "复印件需本人签字", CENTRE_PHONE, "补正期限"):
        expect(sheet).to_contain_text(text)
    if history["supplement_deadline"]:  # None only when the calendar does not reach that far
        expect(sheet).to_contain_text(f"请于 {history['supplement_deadline']} 前补齐（5 个工作日内）")
    api(offline_agent, "POST", events, {"kind": "supplement_received", "data": {}})
    api(offline_agent, "POST", events, {"kind": "completed", "data": {"result": "approved", "note": "已核准"}})
    open_page(page, offline_agent.url, f"/#/case/{case['case_id']}")
    result_href = page.get_attribute("[data-slot=print-result]:not([hidden])", "href")
    open_page(page, offline_agent.url, result_href)
    for text in ("办结通知书", "已办结", "准予", "已核准", "110105********002X", CENTRE_PHONE, "好差评"):
        expect(sheet).to_contain_text(text)
