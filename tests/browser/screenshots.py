"""Take the screenshots in docs/screenshots/ with the real agent and headless Chromium (a script, not a test).

    .venv/bin/python -m tests.browser.screenshots [--out docs/screenshots]

A day's worth of cases is written first, dated in the past through the same pure functions the service uses, so
today's page shows every flag; then the agent starts with the county down, and Chromium visits the main pages.
Chinese text needs a CJK font: on Debian `apt-get install fonts-noto-cjk`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import urllib.request
from datetime import date, datetime, time, timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

from agent import cases
from agent.reference import Reference
from agent.store import AgentStore
from protocol.causal import CaseMeta, FoldResult
from protocol.certificates import resident_id_check_char
from protocol.ids import case_number, new_uuid7
from protocol.lifecycle import CHINA_TZ
from protocol.workdays import due_date
from tests.browser.conftest import (
    TOWNSHIP,
    VALID_ID,
    WRONG_CHECK_DIGIT_ID,
    AgentProcess,
    launch_chromium,
    sample_reference,
    seed_reference,
    write_agent_config,
)
from tests.conftest import free_port

PEOPLE = [("扎西卓玛", "51342219850312002X"), ("李建华", "513422197706150016"), ("བཀྲ་ཤིས་སྒྲོལ་མ", "513422199201230037"),
          ("王秀英", "513422196508080024"), ("阿西木呷", "513422198811110013"), ("张德明", "513422195403020019"),
          ("木里县乔瓦镇锄头湾村生态农业专业合作社（林下种植、养殖及农副产品加工销售）", "513422200102140025"),
          ("刘国强", "513422198009090038")]


def fix_id(number: str) -> str:
    return number[:17] + resident_id_check_char(number[:17])


def working_days_back(ref: Reference, end: date, n: int) -> date:
    """The acceptance day whose n-working-day due date is `end`."""
    day = end
    while due_date(ref.calendar, day, n) > end or not ref.calendar.is_workday(day):
        day -= timedelta(days=1)
    return day


async def seed(database: Path) -> None:
    """Cases as a township centre has them on a Monday morning, each written as its own actions were."""
    ref = Reference.from_response(sample_reference())
    store = await AgentStore.open(database)
    today = datetime.now(CHINA_TZ).date()
    next_working = due_date(ref.calendar, today, 1)
    person = iter(PEOPLE)

    async def accept(item: str, on: date, hour: int, village: str = "201"):
        name, cert = next(person)
        stamp = cases.Stamp(new_uuid7(), datetime.combine(on, time(hour, 12), CHINA_TZ), 0)
        n = await store.next_case_number(case_number(TOWNSHIP, 1, on.isoformat(), 0)[:-4])
        form = {"item_code": item, "applicant_name": name, "cert_type": "resident_id", "cert_no": fix_id(cert),
                "phone": "13908140000", "village_code": f"{TOWNSHIP}{village}", "staff": "李梅"}
        case, event = cases.accept(form, ref, case_id=new_uuid7(), stamp=stamp,
                                   case_no=case_number(TOWNSHIP, 1, on.isoformat(), n))
        await store.save_action(FoldResult(case, [], [], CaseMeta(count=1)), event)
        return case

    async def act(case, kind: str, on: date, hour: int, **data):
        stamp = cases.Stamp(new_uuid7(), datetime.combine(on, time(hour, 40), CHINA_TZ), 0)
        case, event = cases.act(case, kind, data, ref, stamp)
        await store.save_action(FoldResult(case, [], [], CaseMeta(count=1)), event)
        return case

    await accept("XK-0002", working_days_back(ref, today - timedelta(days=3), 10), 10)  # overdue
    await accept("GG-0003", working_days_back(ref, today, 5), 9, "001")  # due today
    await accept("GG-0006", working_days_back(ref, next_working, 5), 15, "202")  # due soon
    paused = await accept("GG-0004", today - timedelta(days=4), 11)
    await act(paused, "supplement_requested", today - timedelta(days=3), 9, missing=["户口簿复印件", "家庭收入证明"])
    moved = await accept("GG-0014", today - timedelta(days=6), 10, "002")  # the supplement moved its due date
    moved = await act(moved, "supplement_requested", today - timedelta(days=5), 10, missing=["房屋现状照片"])
    await act(moved, "supplement_received", today - timedelta(days=1), 16)
    await accept("QT-0005", today, 9)  # 30 working days: beyond the calendar's last year
    rated = await accept("GG-0001", today - timedelta(days=7), 10)
    rated = await act(rated, "completed", today - timedelta(days=7), 10, result="approved")
    await act(rated, "evaluated", today - timedelta(days=7), 10, rating=2, comment="排队时间太长")
    await store.close()


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def take(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        directory, port = Path(tmp) / "agent", free_port()
        config = write_agent_config(directory, port, f"http://127.0.0.1:{free_port()}")  # nothing listens there
        asyncio.run(seed(directory / "agent.sqlite3"))
        seed_reference(directory / "agent.sqlite3", sample_reference())
        agent = AgentProcess(config, port)
        agent.start()
        try:
            for topic, channel in (("城乡居民医保缴费标准", "window"), ("高龄津贴申请条件", "window"),
                                   ("宅基地审批需要哪些材料 🏠", "online")):
                post(f"{agent.url}/api/consultations", {"topic": topic, "channel": channel})
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                page = browser.new_page(viewport={"width": 1280, "height": 800}, device_scale_factor=1)

                def visit(path: str) -> None:
                    page.goto(f"{agent.url}{path}")
                    page.wait_for_selector("body[data-ready=true]")
                    page.wait_for_selector("#sync-indicator[data-state=offline]")

                visit("/#/today")
                page.screenshot(path=out / "today.png", full_page=True)

                visit("/#/new")
                page.keyboard.type("db")  # the pinyin initials of 低保, an alias of 最低生活保障申请
                page.wait_for_selector("#f-item-list li[aria-selected=true] .alias")
                page.screenshot(path=out / "new-case-item-search.png")
                page.fill("#f-item", "")
                page.keyboard.type("养老")
                page.wait_for_selector("#f-item-list li[aria-selected=true]")
                page.screenshot(path=out / "new-case-item-picker.png")
                page.keyboard.press("Enter")
                page.keyboard.press("Tab")
                page.keyboard.type("卓玛")
                page.keyboard.press("Tab")
                page.keyboard.press("Tab")
                page.keyboard.type(WRONG_CHECK_DIGIT_ID)
                page.keyboard.press("Tab")
                page.keyboard.type("1390814")
                page.keyboard.press("Tab")
                page.screenshot(path=out / "new-case-field-error.png", full_page=True)

                page.fill("#f-cert-no", VALID_ID)
                page.fill("#f-phone", "13908140000")
                page.keyboard.press("Control+Enter")
                page.wait_for_selector("[data-slot=saved]:not([hidden])")
                case_id = page.url.rsplit("/", 1)[1]
                page.click("[data-action=completed]")
                page.wait_for_selector("form[data-kind=completed]")
                page.screenshot(path=out / "case-detail.png", full_page=True)
                page.fill("form[data-kind=completed] [name=note]", "材料齐全，准予办理。" * 201)
                page.click("form[data-kind=completed] button[type=submit]")
                page.wait_for_selector("[data-field=note].invalid")
                page.locator("[data-field=note]").scroll_into_view_if_needed()
                page.screenshot(path=out / "case-field-error.png")
                page.click("#sync-indicator")
                page.wait_for_selector("#sync-panel:not([hidden])")
                page.click("#sync-error-tech summary")
                page.evaluate("window.scrollTo(0, 0)")
                page.screenshot(path=out / "sync-panel.png")

                visit(f"/print/receipt/{case_id}")
                page.screenshot(path=out / "receipt.png", full_page=True)

                found = post(f"{agent.url}/api/cases", {"item_code": "GG-0004", "applicant_name": "王秀英",
                                                          "cert_type": "resident_id", "cert_no": VALID_ID})
                events = f"{agent.url}/api/cases/{found['case_id']}/events"
                post(events, {"kind": "supplement_requested", "data": {
                    "missing": ["户口簿复印件", "家庭成员收入证明(近6个月)", "残疾人证复印件"],
                    "note": "复印件请本人签字并注明“与原件一致”；收入证明由村委会出具并盖章。"}})
                visit(f"/print/notice/{found['case_id']}")
                page.screenshot(path=out / "one-time-notice.png", full_page=True)
                post(events, {"kind": "supplement_received", "data": {}})
                post(events, {"kind": "completed", "data": {
                    "result": "approved", "note": "经审核符合条件，自下月起按月发放最低生活保障金。"}})
                visit(f"/print/result/{found['case_id']}")
                page.screenshot(path=out / "result-slip.png", full_page=True)

                rated = post(f"{agent.url}/api/cases", {
                    "item_code": "GG-0004", "applicant_name": "格桑拉姆", "cert_type": "resident_id",
                    "cert_no": VALID_ID, "phone": "13908141234", "village_code": f"{TOWNSHIP}201", "staff": "李梅"})
                events = f"{agent.url}/api/cases/{rated['case_id']}/events"
                post(events, {"kind": "completed", "data": {"result": "approved"}})
                post(events, {"kind": "evaluated", "data": {"rating": 2, "comment": "材料要求没有一次说清楚"}})
                visit(f"/#/case/{rated['case_id']}")
                page.click("[data-action=corrected]")
                page.fill("form[data-kind=corrected] [name=phone]", "13908141243")
                page.fill("form[data-kind=corrected] [name=reason]", "回访时发现电话登记错一位")
                page.locator("form[data-kind=corrected]").scroll_into_view_if_needed()
                page.screenshot(path=out / "case-correction-form.png", full_page=True)
                page.keyboard.press("Control+Enter")
                page.wait_for_selector("[data-slot=saved]:not([hidden])")
                page.screenshot(path=out / "case-corrected.png", full_page=True)

                visit("/?lang=en#/today")
                page.screenshot(path=out / "today-en.png", full_page=True)
                browser.close()
        finally:
            agent.stop()
    print(f"screenshots written to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    take(parser.parse_args().out)


if __name__ == "__main__":
    main()
