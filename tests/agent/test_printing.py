"""What residents take home: the one-time notice with its note, deadline and the centre's phone, and the result slip."""

from __future__ import annotations

from agent.reference import Reference
from protocol.lifecycle import Case
from tests.agent.conftest import CENTRE_PHONE, STATION_PHONE, TOWNSHIP, accept_form, sample_reference


def _case(**changes) -> Case:
    base = dict(case_id="c", case_no="n", org_code=f"{TOWNSHIP}000", item_code="GG-001", channel="window",
                applicant_name="扎西", cert_type="resident_id", cert_no="x", promised_days=3,
                accepted_at="2026-09-25T09:00:00+08:00", accepted_on="2026-09-25")
    return Case(**(base | changes))


def test_the_supplement_deadline_counts_the_items_working_days_from_the_notice():
    ref = Reference.from_response(sample_reference())
    # From Monday 28 September: 29, 30 September, then National Day (1-7 October, 5-7 weekdays off), 8 and 9 October,
    # and Saturday 10 October, a make-up working day (调休), is the fifth.
    assert ref.supplement_deadline(_case(supplements=[["2026-09-28", None]])) == "2026-10-10"
    assert ref.supplement_deadline(_case()) is None  # no notice given
    assert ref.supplement_deadline(_case(item_code="XK-001", supplements=[["2026-09-28", None]])) is None  # no limit
    assert ref.supplement_deadline(_case(supplements=[["2027-03-01", None]])) is None  # beyond the calendar


def test_the_phone_on_the_sheets_is_the_stations_own_else_the_centres():
    ref = Reference.from_response(sample_reference())
    assert ref.phone_of(f"{TOWNSHIP}202") == STATION_PHONE
    assert ref.phone_of(f"{TOWNSHIP}201") == CENTRE_PHONE
    assert ref.phone_of(f"{TOWNSHIP}000") == CENTRE_PHONE


async def test_the_case_carries_the_notes_note_deadline_and_phone_and_every_sheet_is_served(agent_client):
    case = await (await agent_client.post("/api/cases", json=accept_form())).json()
    url = f"/api/cases/{case['case_id']}"
    await agent_client.post(f"{url}/events", json={"kind": "supplement_requested",
                                                   "data": {"missing": ["户口簿复印件"], "note": "复印件需本人签字"}})
    body = (await (await agent_client.get(f"{url}/history")).json())["case"]
    assert body["supplement_note"] == "复印件需本人签字" and body["centre_phone"] == CENTRE_PHONE
    ref = Reference.from_response(sample_reference())
    assert body["supplement_deadline"] == ref.due_on(body["supplements"][-1][0], 5)
    for kind in ("receipt", "notice", "result"):
        resp = await agent_client.get(f"/print/{kind}/{case['case_id']}")
        assert resp.status == 200 and "text/html" in resp.headers["Content-Type"]
