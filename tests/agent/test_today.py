"""Today's work: each open case gets one flag, counted in working days of the county calendar."""

from __future__ import annotations

from datetime import date

import msgspec

from agent.records import OutboxEvent
from agent.today import Flag, counts, flag_of, worklist
from protocol.ids import new_uuid7
from protocol.lifecycle import Case
from protocol.workdays import WorkCalendar
from tests.agent.conftest import accept_form, folded
from tests.agent.desk import running_agent, store_of, today

# National Day 2026: weekday holidays 10-01, 10-02, 10-05..10-07; make-up working days Sun 09-20 and Sat 10-10.
NATIONAL_DAY = WorkCalendar(
    "nd", 2026, 2026, frozenset(date(2026, 10, d) for d in (1, 2, 5, 6, 7)),
    frozenset({date(2026, 9, 20), date(2026, 10, 10)}),
)
D = date.fromisoformat


def case(due_on: str | None, state: str = "in_progress", supplements=(), accepted_on: str = "2026-09-01") -> Case:
    return Case(case_id=new_uuid7(), case_no=f"N{due_on}{state}", org_code="513422100000", item_code="GG-001",
                channel="window", applicant_name="扎西", cert_type="resident_id", cert_no="11010519491231002X",
                promised_days=5, accepted_at=f"{accepted_on}T09:00:00+08:00", accepted_on=accepted_on, state=state,
                due_on=due_on, supplements=[list(s) for s in supplements])


def test_past_due_is_overdue_and_today_is_due_today():
    assert flag_of(case("2026-09-29"), D("2026-09-30"), NATIONAL_DAY) is Flag.OVERDUE
    assert flag_of(case("2026-09-30"), D("2026-09-30"), NATIONAL_DAY) is Flag.DUE_TODAY


def test_due_soon_counts_working_days_across_the_national_day_holiday():
    # After Wed 09-30 the next working days are Thu 10-08 (1), Fri 10-09 (2), then make-up Sat 10-10 (3).
    on = D("2026-09-30")
    assert flag_of(case("2026-10-08"), on, NATIONAL_DAY) is Flag.DUE_SOON
    assert flag_of(case("2026-10-09"), on, NATIONAL_DAY) is Flag.DUE_SOON
    assert flag_of(case("2026-10-10"), on, NATIONAL_DAY) is None


def test_a_paused_case_is_paused_unless_the_supplement_came_after_its_due_date():
    on = D("2026-09-30")
    assert flag_of(case("2026-10-09", "suspended", [("2026-09-28", None)]), on, NATIONAL_DAY) is Flag.PAUSED
    assert flag_of(case("2026-09-25", "suspended", [("2026-09-28", None)]), on, NATIONAL_DAY) is Flag.OVERDUE
    # requested on the due date itself still stops the clock (protocol/workdays.py)
    assert flag_of(case("2026-09-28", "suspended", [("2026-09-28", None)]), on, NATIONAL_DAY) is Flag.PAUSED


def test_no_due_date_is_calendar_missing_and_closed_cases_carry_no_flag():
    on = D("2026-09-30")
    assert flag_of(case(None), on, NATIONAL_DAY) is Flag.CALENDAR_MISSING
    assert flag_of(case("2026-09-01", "completed"), on, NATIONAL_DAY) is None


def test_outside_the_calendar_no_due_soon_claim_is_made():
    assert flag_of(case("2027-01-04"), D("2026-12-31"), NATIONAL_DAY) is None


def test_worklist_puts_overdue_first_and_paused_and_missing_last():
    on = D("2026-09-30")
    cases = [case(None), case("2026-10-20"), case("2026-10-09", "suspended", [("2026-09-28", None)]),
             case("2026-09-30"), case("2026-09-01"), case("2026-10-08")]
    flags = [flag for _, flag in worklist(cases, on, NATIONAL_DAY)]
    assert flags == [Flag.OVERDUE, Flag.DUE_TODAY, Flag.DUE_SOON, None, Flag.PAUSED, Flag.CALENDAR_MISSING]
    assert counts(worklist(cases, on, NATIONAL_DAY)) == {
        "open": 6, "overdue": 1, "due_today": 1, "due_soon": 1, "paused": 1, "calendar_missing": 1}


async def test_today_api_flags_instant_next_day_and_overdue_cases(tmp_path):
    async with running_agent(tmp_path) as client:
        instant = await (await client.post("/api/cases", json=accept_form(item_code="QT-001"))).json()
        next_day = await (await client.post("/api/cases", json=accept_form(item_code="QT-002"))).json()
        later = await (await client.post("/api/cases", json=accept_form(item_code="XK-001"))).json()
        # A case accepted long ago, written as the agent would have written it then.
        old = case("2001-01-05", accepted_on="2001-01-02")
        await store_of(client).save_action(folded(old), OutboxEvent(new_uuid7(), old.case_id, "accepted",
                                                            "2001-01-02T09:00:00+08:00", 0, msgspec.json.encode({})))
        body = await (await client.get("/api/today")).json()
    assert body["today"] == today().isoformat()
    flags = {c["case_id"]: c["flag"] for c in body["cases"]}
    assert flags == {old.case_id: "overdue", instant["case_id"]: "due_today", next_day["case_id"]: "due_soon",
                     later["case_id"]: None}
    assert [c["case_id"] for c in body["cases"]] == [old.case_id, instant["case_id"], next_day["case_id"],
                                                     later["case_id"]]
    assert body["counts"]["open"] == 4 and body["counts"]["overdue"] == 1
    assert body["calendar"]["last_year"] == today().year + 1


async def test_a_bad_rating_waits_on_the_today_page_until_followed_up(tmp_path):
    async with running_agent(tmp_path) as client:
        c = await (await client.post("/api/cases", json=accept_form(item_code="QT-001"))).json()
        url = f"/api/cases/{c['case_id']}/events"
        await client.post(url, json={"kind": "completed", "data": {"result": "approved"}})
        await client.post(url, json={"kind": "evaluated", "data": {"rating": 1, "comment": "等太久"}})
        waiting = (await (await client.get("/api/today")).json())["follow_ups"]
        await client.post(url, json={"kind": "followed_up", "data": {"note": "已电话回访,已整改"}})
        after = (await (await client.get("/api/today")).json())["follow_ups"]
    assert [f["case_id"] for f in waiting] == [c["case_id"]]
    assert after == []


async def test_history_gives_the_flag_masked_number_and_events_with_their_upload_status(tmp_path):
    async with running_agent(tmp_path) as client:
        c = await (await client.post("/api/cases", json=accept_form(item_code="QT-001"))).json()
        body = await (await client.get(f"/api/cases/{c['case_id']}/history")).json()
        missing = await client.get("/api/cases/00000000-0000-7000-8000-000000000000/history")
    assert body["case"]["flag"] == "due_today"
    assert body["case"]["cert_no_masked"] == "110105********002X"
    assert [(e["kind"], e["status"]) for e in body["events"]] == [("accepted", "pending")]
    assert missing.status == 404
