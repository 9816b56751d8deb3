"""Take the dashboard screenshots in docs/screenshots/ (a script, not a test).

    .venv/bin/python -m tests.browser.dashboard_screenshots [--out docs/screenshots] [--cases 3000]

Starts the real county server with the sample county (木里藏族自治县, 10 townships), registers one PC per
township, and pushes this year's cases through the real ingest path as the PCs would (accepted, supplements,
completed, rated, followed up, rejected, withdrawn, consultations; due dates from the working-day calendar), then
logs in with headless Chromium and visits the main views. Chinese text needs a CJK font (fonts-noto-cjk).
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from protocol.workdays import due_date
from scripts.cluster import ROOT
from server.model.calendar import package_calendar
from server.model.reference import load_catalog
from tests.browser.conftest import launch_chromium
from tests.browser.county import ProcessCounty, log_in, start_county, visit

NAMES = ["扎西卓玛", "李建华", "次仁多吉", "王秀英", "阿西木呷", "张德明", "格桑拉姆", "刘国强", "泽仁措", "杨丽",
         "བཀྲ་ཤིས་སྒྲོལ་མ", "木里县乔瓦镇锄头湾村生态农业专业合作社（林下种植、养殖及农副产品加工销售）"]
STAFF = ["李梅", "王芳", "张磊", "杨静", "泽让", "达瓦"]
COMMENTS = ["排队时间太长", "材料要求没有一次说清楚，跑了两趟", "窗口人员态度不好", "网上办理页面打不开"]
# The case the case page and the search show: rated 不满意 with a comment, its phone corrected at the window.
FEATURED: dict[str, Any] = {"cert_no": "513422198807150417", "case_id": None, "case_no": None}


def _units() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with (ROOT / "config" / "org_units.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            if row["level"] == "township":
                out[row["code"][:9]] = []
            elif row["level"] == "village":
                out[row["code"][:9]].append(row["code"])
    return out


def seeder(n_cases: int, today: date):
    async def seed(county: ProcessCounty) -> None:
        rng = random.Random(2026)
        calendar = package_calendar()
        items = list(load_catalog(ROOT / "config" / "catalog.csv").values())
        start = date(today.year, 1, 2)
        days = [start + timedelta(days=i) for i in range((today - start).days)]
        workdays = [d for d in days if calendar.is_workday(d)]
        units = _units()
        weights = {t: rng.uniform(0.4, 1.6) for t in units}
        per_township: dict[str, list[dict[str, Any]]] = {t: [] for t in units}
        agents = {t: await county.add_agent(t, "窗口1") for t in units}
        for _ in range(n_cases):
            township = rng.choices(list(units), weights=list(weights.values()))[0]
            agent, events = agents[township], per_township[township]
            on = rng.choice(workdays)
            item = rng.choice(items)
            village = rng.choice(units[township]) if units[township] else None
            org = village if village and rng.random() < 0.3 else f"{township}000"
            due = due_date(calendar, on, item.promised_days)
            channel = rng.choices(["online", "window", "proxy", "home_visit", "self_service"],
                                  [0.8, 0.14, 0.03, 0.02, 0.01])[0]
            ev = agent.accepted(on.isoformat(), org_code=org, item_code=item.code, channel=channel,
                                due_on=due.isoformat(), promised_days=item.promised_days, village_code=village,
                                applicant_name=rng.choice(NAMES), staff=rng.choice(STAFF),
                                cert_no=f"51342219{rng.randint(50, 99)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}"
                                        f"{rng.randint(100, 999)}{rng.choice('0123456789X')}")
            events.append(ev)
            case_id = ev["case_id"]
            fate = rng.random()
            if fate < 0.01:
                events.append(agent.rejected(case_id, on.isoformat()))
                continue
            if fate < 0.02:
                events.append(agent.withdrawn(case_id, (on + timedelta(days=1)).isoformat()))
                continue
            if (today - on).days < 20 and rng.random() < 0.4:
                continue  # still open: some overdue, some due soon
            late = rng.random() < 0.03
            done = due + timedelta(days=rng.randint(1, 4)) if late else on + timedelta(
                days=rng.randint(0, max(0, (due - on).days)))
            if done >= today:
                continue
            events.append(agent.completed(case_id, done.isoformat(), trips=0 if rng.random() < 0.95 else 1))
            if rng.random() < 0.9:
                rating = rng.choices([5, 4, 3, 2, 1], [0.85, 0.11, 0.025, 0.01, 0.005])[0]
                events.append(agent.event("evaluated", case_id, f"{done.isoformat()}T10:30:00+08:00", {
                    "rating": rating, **({"comment": rng.choice(COMMENTS)} if rating <= 2 else {})}))
                if rating <= 2 and rng.random() < 0.6:
                    events.append(agent.followed_up(case_id, (done + timedelta(days=2)).isoformat()))
        _featured(agents["513422100"], per_township["513422100"], workdays[-12], calendar)
        for township, events in per_township.items():
            agent = agents[township]
            for _ in range(int(40 * weights[township])):
                events.append(agent.consulted(rng.choice(workdays).isoformat(),
                                              channel="window" if rng.random() < 0.7 else "online"))
            events.sort(key=lambda e: e["seq"])  # each PC's seq order, as an agent sends them
            events[-1]["offset_ms"] = rng.choice([0, -40, 350, -1200, 2300, 95_000])  # the PC's measured clock offset
            await county.push(agent, events, pending=rng.choice([0, 0, 0, 2, 7]))
        await county.add_agent("513422104", "窗口2")  # a second PC that has never synced

    return seed


def _featured(agent: Any, events: list[dict[str, Any]], on: date, calendar: Any) -> None:
    """乔瓦镇's case of 格桑拉姆: accepted, completed, rated 不满意 with a comment, its phone corrected."""
    due = due_date(calendar, on, 10)
    ev = agent.accepted(on.isoformat(), item_code="GG-0004", due_on=due.isoformat(), promised_days=10,
                        village_code="513422100201", applicant_name="格桑拉姆", staff="李梅",
                        cert_no=FEATURED["cert_no"], phone="13908141234")
    case_id = ev["case_id"]
    FEATURED.update(case_id=case_id, case_no=ev["data"]["case_no"])
    done = on + timedelta(days=3)
    events += [ev, agent.completed(case_id, done.isoformat()),
               agent.event("evaluated", case_id, f"{done.isoformat()}T11:05:00+08:00",
                           {"rating": 2, "comment": "材料要求没有一次说清楚，跑了两趟"}),
               agent.event("corrected", case_id, f"{(done + timedelta(days=1)).isoformat()}T09:20:00+08:00", {
                   "reason": "回访时发现电话登记错一位", "phone": "13908141243", "staff": "王芳",
                   "before": {"phone": "13908141234", "staff": "李梅"}})]


def take(out: Path, n_cases: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    today = date.today()
    with tempfile.TemporaryDirectory() as tmp:
        county = start_county(Path(tmp) / "county", seeder(n_cases, today))
        url = county.server_url
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                page = browser.new_page(viewport={"width": 1360, "height": 900}, device_scale_factor=1)
                log_in(page, url)
                year = today.year
                visit(page, url, f"#/overview?period={year}")
                page.screenshot(path=out / "dashboard-overview.png", full_page=True)
                visit(page, url, f"#/overview?period={year}&org=513422100")
                page.screenshot(path=out / "dashboard-township.png", full_page=True)
                visit(page, url, f"#/cases?period={year}&org=513422100&figure=completed_late")
                page.screenshot(path=out / "dashboard-cases.png", full_page=True)
                visit(page, url, "#/open")
                page.screenshot(path=out / "dashboard-open.png", full_page=True)
                visit(page, url, f"#/summary?period={year}")
                page.screenshot(path=out / "dashboard-summary.png", full_page=True)
                visit(page, url, "#/agents")
                page.screenshot(path=out / "dashboard-agents.png", full_page=True)
                visit(page, url, "#/bad?state=pending")
                page.screenshot(path=out / "dashboard-bad.png", full_page=True)
                page.fill("#search-q", FEATURED["cert_no"][-4:])
                page.keyboard.press("Enter")
                page.wait_for_selector("#search-results")
                page.wait_for_selector("body[data-ready=true]")
                page.screenshot(path=out / "dashboard-search.png", full_page=True)
                visit(page, url, f"#/case/{FEATURED['case_id']}")
                page.screenshot(path=out / "dashboard-case.png", full_page=True)
                visit(page, url, f"#/overview?from={year}-03-31&to={year}-03-01")  # a range typed the wrong way round
                page.screenshot(path=out / "dashboard-filter-error.png")
                page.context.clear_cookies()
                visit(page, url, "")
                page.wait_for_selector("#login-form")
                page.screenshot(path=out / "dashboard-login.png")
                browser.close()
        finally:
            county.stop_all()
    print(f"screenshots written to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--cases", type=int, default=3000)
    args = parser.parse_args()
    take(args.out, args.cases)


if __name__ == "__main__":
    main()
