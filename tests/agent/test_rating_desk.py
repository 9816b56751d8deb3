"""The rating screen's API on the real agent: staff hand a case over, the screen sees the item and staff only, the
resident's tap is a rating entered by the resident at the window, stored with the county unreachable; the agent's
guard keeps other pages out; what cannot be rated now is refused in Chinese before the resident is asked."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from protocol.workdays import CalendarMissing, WorkCalendar, due_date
from tests.agent.conftest import accept_form, sample_reference

CHINA = timezone(timedelta(hours=8))


async def _completed_case(client) -> dict:
    case = await (await client.post("/api/cases", json=accept_form(staff="李梅"))).json()
    done = await client.post(f"/api/cases/{case['case_id']}/events",
                             json={"kind": "completed", "data": {"result": "approved"}})
    assert done.status == 201
    return case


async def test_a_case_handed_to_the_screen_is_rated_by_the_resident_at_the_window(agent_client):
    assert await (await agent_client.get("/api/rate/current")).json() == {"request": None}
    page = await agent_client.get("/rate")
    assert page.status == 200 and "rate.js" in await page.text()
    case = await _completed_case(agent_client)
    handed = await agent_client.post("/api/rate/handoff", json={"case_id": case["case_id"]})
    assert handed.status == 201
    request = (await handed.json())["request"]
    shown = (await (await agent_client.get("/api/rate/current")).json())["request"]
    assert shown == request
    assert (shown["item_name"], shown["staff"], shown["step"], shown["step_label"]) == (
        "城乡居民基本养老保险参保登记", "李梅", "completion", "办结")
    assert not {"applicant_name", "cert_no", "phone"} & set(shown)
    given = await agent_client.post("/api/rate/give", json={"request_id": request["request_id"], "rating": 2})
    assert given.status == 201
    stored = await (await agent_client.get(f"/api/cases/{case['case_id']}")).json()
    (rating,) = stored["ratings"]
    assert (rating["rating"], rating["step"], rating["entered_by"]) == (2, "completion", "resident")
    assert rating.get("channel", "window") == "window"
    # a bad rating gets its follow-up's last day from the county rule (5 working days here) on the PC's calendar
    calendar = WorkCalendar.from_json(sample_reference().calendar or {})
    try:
        expected = due_date(calendar, date.fromisoformat(rating["on"]), 5).isoformat()
    except CalendarMissing:
        expected = None
    assert rating.get("follow_up_due") == expected
    assert rating["on"] == datetime.now(CHINA).date().isoformat()
    assert await (await agent_client.get("/api/rate/current")).json() == {"request": None}
    assert (await (await agent_client.get("/api/status")).json())["pending"] == 3  # stored, waiting for upload
    # the tap cannot be sent twice, and the step cannot be handed over again
    again = await agent_client.post("/api/rate/give", json={"request_id": request["request_id"], "rating": 5})
    assert again.status == 422 and "已结束" in (await again.json())["message"]
    twice = await agent_client.post("/api/rate/handoff", json={"case_id": case["case_id"]})
    assert twice.status == 422 and "办结环节已通过窗口评价器评价过" in (await twice.json())["message"]


async def test_an_open_case_is_rated_for_its_acceptance_and_bad_input_is_refused(agent_client):
    case = await (await agent_client.post("/api/cases", json=accept_form())).json()
    handed = await (await agent_client.post("/api/rate/handoff", json={"case_id": case["case_id"]})).json()
    assert handed["request"]["step"] == "acceptance"
    early = await agent_client.post("/api/rate/handoff", json={"case_id": case["case_id"], "step": "completion"})
    assert early.status == 422 and "办结之后" in (await early.json())["message"]
    for bad in (0, 6, "5", True, None):
        resp = await agent_client.post("/api/rate/give", json={"request_id": handed["request"]["request_id"],
                                                              "rating": bad})
        assert resp.status == 422 and "rating" in (await resp.json())["fields"], bad
    unknown = await agent_client.post("/api/rate/handoff", json={"case_id": "01900000-0000-7000-8000-00000000dead"})
    assert unknown.status == 404
    await agent_client.post("/api/rate/cancel", json={})
    assert await (await agent_client.get("/api/rate/current")).json() == {"request": None}


async def test_other_pages_cannot_hand_over_or_rate(agent_client):
    case = await _completed_case(agent_client)
    foreign = await agent_client.post("/api/rate/handoff", json={"case_id": case["case_id"]},
                                      headers={"Origin": "http://evil.example"})
    assert foreign.status == 403
    form = await agent_client.post("/api/rate/give", data="request_id=x&rating=1",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status == 415
    rebound = await agent_client.get("/api/rate/current", headers={"Host": "rebind.example:8700"})
    assert rebound.status == 403

