"""The staff page in real headless Chromium, against the real agent process, with the county server down."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
from contextlib import closing

import pytest
from playwright.sync_api import expect

from protocol import certificates
from tests.browser.conftest import VALID_ID, WRONG_CHECK_DIGIT_ID, act, expect_focus, open_page

pytestmark = pytest.mark.browser


def api(agent, method: str, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(f"{agent.url}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def python_key(cert_type: str, number: str) -> str | None:
    message = certificates.check_certificate(cert_type, number)
    return next(k for k, v in certificates.MESSAGES.items() if v == message) if message else None


def credit_code(first17: str) -> str:
    return first17 + certificates.credit_code_check_char(first17)


CERTIFICATE_CASES = [
    ("resident_id", n) for n in (
        VALID_ID, WRONG_CHECK_DIGIT_ID, "11010519491231002x", "110105 19491231 002X", "11010519491231002",
        "１１０１０５１９４９１２３１００２Ｘ",  # typed through a Chinese input method: full-width
        "1101051949123100XX", "110105194902300021", "110105209912310011", "110105184912310012",
        "513422199001011230", "")
] + [
    ("credit_code", n) for n in (
        credit_code("91513422MA6200001"), credit_code("N2513422MF0000001"), credit_code("A1000000000000001"),
        credit_code("Y1513422000000001"), "91513422MA62000010", "91513422MA6200001", "91513422MA620000I")
] + [
    ("passport", "E12345678"), ("passport", "E123"), ("hk_macao_permit", "H12345678"),
    ("hk_macao_permit", "H1234567"), ("other", "军官证 第123号"), ("other", " "), ("other", "x" * 41),
    ("unknown", "123"),
]
MISSING = ("户口簿复印件", "家庭收入证明", "银行卡复印件")
PHONE_CASES = ["13800000000", "+8613800000000", "12800000000", "0834-1234567", "08341234567", "0834-1234567-89",
               "0834-1234567转89", "1234567", "１３８００００００００"]


def test_the_page_checks_certificates_and_phones_exactly_as_the_server_does(page, offline_agent):
    open_page(page, offline_agent.url)
    got = page.evaluate("""async ([certs, phones]) => {
        const c = await import("/static/certificates.js");
        return [certs.map(([type, n]) => c.checkCertificate(type, n)), phones.map((p) => c.checkPhone(p))];
    }""", [CERTIFICATE_CASES, PHONE_CASES])
    assert got[0] == [python_key(t, n) for t, n in CERTIFICATE_CASES]
    phone_key = {None: None, certificates.MESSAGES["phone.format"]: "phone.format"}
    assert got[1] == [phone_key[certificates.check_phone(p)] for p in PHONE_CASES]


def test_a_case_goes_through_its_whole_life_from_the_keyboard_while_the_county_is_down(page, offline_agent):
    open_page(page, offline_agent.url, "/#/new")
    page.wait_for_selector("#sync-indicator[data-state=offline]")
    started = time.monotonic()
    kb = page.keyboard
    # 受理: the item by part of its name, then the applicant, all from the keyboard
    kb.type("最低生活")
    page.wait_for_selector("#f-item-list li[aria-selected=true]")
    kb.press("Enter")
    assert page.input_value("#f-item-code") == "GG-0004"
    kb.press("Tab")
    kb.type("扎西卓玛")
    kb.press("Tab")
    kb.press("Tab")
    kb.type(WRONG_CHECK_DIGIT_ID)
    # shown at once, next to the field, before any save
    assert page.text_content("#err-cert_no") == certificates.MESSAGES["resident_id.check_digit"]
    assert page.get_attribute("#f-cert-no", "aria-invalid") == "true"
    kb.press("Control+A")
    kb.type(VALID_ID)
    assert page.text_content("#err-cert_no") == ""
    kb.press("Tab")
    kb.type("13800000000")
    kb.press("Control+Enter")
    page.wait_for_selector("[data-slot=saved]:not([hidden])")
    assert time.monotonic() - started < 60
    case_no = page.text_content("[data-slot=case-no]")
    case_id = page.url.rsplit("/", 1)[1]
    saved = page.text_content("[data-slot=saved]")
    assert "已受理并保存在本机" in saved and case_no in saved
    assert page.text_content(".view-head .badge") == "办理中"

    # 补正 with the one-time notice
    act(page, "supplement_requested", "\n".join(MISSING))
    assert page.text_content(".view-head .badge") == "补正中"
    assert page.evaluate("document.activeElement.dataset.slot") == "print-notice"
    notice_href = page.get_attribute("[data-slot=print-notice]", "href")
    open_page(page, offline_agent.url, notice_href)
    sheet = page.text_content("#sheet")
    for text in ("一次性告知书", "乔瓦镇便民服务中心", case_no, "最低生活保障申请", *MISSING):
        assert text in sheet
    open_page(page, offline_agent.url, f"/#/case/{case_id}")
    act(page, "supplement_received")
    assert page.text_content(".view-head .badge") == "办理中"
    act(page, "completed", "Tab", "Tab", "材料齐全,准予")
    assert page.text_content(".view-head .badge") == "已办结"
    act(page, "evaluated", "Space", "ArrowDown", "ArrowDown", "ArrowDown", "Tab", "等待时间长")
    facts = page.text_content("[data-slot=facts]")
    assert "不满意" in facts and "差评\uff0c需要回访" in facts

    # the bad rating waits on today's page until it is followed up
    open_page(page, offline_agent.url, "/#/today")
    assert case_no in page.text_content("[data-slot=follow-ups]")
    open_page(page, offline_agent.url, f"/#/case/{case_id}")
    act(page, "followed_up", "已电话回访,解释办理流程")
    assert "已回访" in page.text_content("[data-slot=facts]")
    # the follow-up names the rating it answers (a case may have several)
    history = api(offline_agent, "GET", f"/api/cases/{case_id}/history")
    rated = next(e for e in history["events"] if e["kind"] == "evaluated")
    followed = next(e for e in history["events"] if e["kind"] == "followed_up")
    assert followed["data"]["rating_id"] == rated["event_id"]

    # 受理回执: A4, with the case number, item, due date and centre
    open_page(page, offline_agent.url, f"/print/receipt/{case_id}")
    case = api(offline_agent, "GET", f"/api/cases/{case_id}")
    sheet = page.text_content("#sheet")
    for text in ("受理回执", "乔瓦镇便民服务中心", case_no, "最低生活保障申请", case["due_on"], "110105********002X"):
        assert text in sheet

    # search by name, ID number and case number, from the quick search ("/" focuses it)
    open_page(page, offline_agent.url, "/#/today")
    for query in ("卓玛", VALID_ID.lower(), case_no):
        page.locator("body").press("/")
        kb.press("Control+A")
        kb.type(query)
        kb.press("Enter")
        page.wait_for_selector("table.cases a")
        assert page.text_content("table.cases a") == case_no
        page.goto(f"{offline_agent.url}/#/today")

    # a consultation, by keyboard shortcut
    kb.press("Alt+KeyC")
    expect_focus(page, "#c-topic")
    kb.type("城乡居民医保缴费标准")
    kb.press("Enter")
    page.wait_for_selector("[data-slot=list] td >> text=城乡居民医保缴费标准")

    # everything waits on this PC: 6 case events and the consultation
    expect(page.locator("#sync-pending")).to_contain_text("7", timeout=10_000)
    assert page.get_attribute("#sync-indicator", "data-state") == "offline"
    assert api(offline_agent, "GET", "/api/status")["pending"] == 7


def test_today_flags_due_cases_and_the_page_switches_to_english(page, offline_agent):
    instant = api(offline_agent, "POST", "/api/cases", {
        "item_code": "GG-0001", "applicant_name": "次仁", "cert_type": "resident_id", "cert_no": VALID_ID})
    open_page(page, offline_agent.url, "/#/today")
    row = page.locator(f"tr[data-case-id='{instant['case_id']}']")
    assert "今日到期" in row.text_content()
    assert page.text_content(".counter-due_today strong") == "1"
    open_page(page, offline_agent.url, "/?lang=en#/today")
    assert page.text_content("[data-nav=today] span") == "Today"
    assert "Due today" in page.locator(f"tr[data-case-id='{instant['case_id']}']").text_content()
    assert page.evaluate("document.documentElement.lang") == "en"
    page.click("#lang-switch")
    expect(page.locator("[data-nav=today] span")).to_have_text("今日工作")


def test_a_refused_event_is_corrected_and_resent_from_the_sync_panel(page, offline_agent):
    case = api(offline_agent, "POST", "/api/cases", {
        "item_code": "GG-0003", "applicant_name": "拉姆", "cert_type": "resident_id", "cert_no": VALID_ID})
    # What a county refusal leaves behind (agent/store.py mark_pushed), written to the agent's file directly.
    with closing(sqlite3.connect(offline_agent.config.parent / "agent.sqlite3")) as db:
        db.execute("UPDATE outbox SET status = 'quarantined', refusal_code = 'unknown_item',"
                   " refusal_message = '县事项目录中没有这个事项' WHERE seq = 1")
        db.commit()
    open_page(page, offline_agent.url, "/#/today")
    page.wait_for_selector("#sync-quarantined:not([hidden])")
    page.focus("#sync-indicator")
    page.keyboard.press("Enter")
    card = page.locator(".quarantine-card")
    card.wait_for()
    assert "县事项目录中没有这个事项" in card.text_content()
    page.fill(".quarantine-card [name=item_code]", "GG-0009")
    page.click(".quarantine-card button[type=submit]")
    page.wait_for_selector(".quarantine-card .banner.ok")
    status = api(offline_agent, "GET", "/api/status")
    assert status["quarantined"] == [] and status["pending"] == 1
    assert api(offline_agent, "GET", f"/api/cases/{case['case_id']}")["item_code"] == "GG-0009"
