"""Calendar missing: a due date the calendar cannot reach stays null, flagged, never guessed; when the county's next
calendar reaches it, the agent fills it in with an `updated` event."""

from __future__ import annotations

from datetime import date

import msgspec
from aiohttp import web
from aiohttp.test_utils import TestServer

from protocol.messages import PullResponse, PushResponse, ReferenceResponse
from protocol.workdays import due_date
from tests.agent.conftest import accept_form
from tests.agent.desk import outbox, plain_calendar, reference, running_agent, service_of, store_of, today


class StubCounty:
    """Just enough of the county server: serves a reference version, acknowledges every push, has nothing to pull."""

    def __init__(self, ref: ReferenceResponse) -> None:
        self.ref = ref
        self.pushed: list[dict] = []
        self.app = web.Application()
        self.app.router.add_get("/api/v1/reference", self.reference)
        self.app.router.add_post("/api/v1/sync/push", self.push)
        self.app.router.add_post("/api/v1/sync/pull", self.pull)

    async def reference(self, request: web.Request) -> web.Response:
        return web.Response(body=msgspec.json.encode(self.ref), content_type="application/json")

    async def push(self, request: web.Request) -> web.Response:
        body = msgspec.json.decode(await request.read())  # aiohttp undoes the gzip Content-Encoding
        self.pushed += body["events"]
        acked = max(e["seq"] for e in body["events"])
        response = PushResponse(acked_seq=acked, stored=len(body["events"]), duplicates=0)
        return web.Response(body=msgspec.json.encode(response), content_type="application/json")

    async def pull(self, request: web.Request) -> web.Response:
        response = PullResponse(events=[], cursor="stub", has_more=False)
        return web.Response(body=msgspec.json.encode(response), content_type="application/json")


def this_year_only():
    year = today().year
    return reference(plain_calendar(year, year), version="this-year")


async def test_a_due_date_beyond_the_calendar_is_null_and_flagged(tmp_path):
    async with running_agent(tmp_path, this_year_only()) as client:
        resp = await client.post("/api/cases", json=accept_form(item_code="LONG-300"))
        case = await resp.json()
        page = await (await client.get("/api/today")).json()
    assert resp.status == 201
    assert case["due_on"] is None and case["calendar_missing"] is True
    assert [c["flag"] for c in page["cases"]] == ["calendar_missing"]
    assert page["counts"]["calendar_missing"] == 1


async def test_the_next_calendar_fills_in_due_dates_with_updated_events(tmp_path):
    year = today().year
    county = StubCounty(reference(plain_calendar(year, year + 2), version="three-years"))
    async with TestServer(county.app, host="127.0.0.1") as server:
        url = str(server.make_url("")).rstrip("/")
        async with running_agent(tmp_path, this_year_only(), county_url=url) as client:
            long = await (await client.post("/api/cases", json=accept_form(item_code="LONG-300"))).json()
            paused = await (await client.post("/api/cases", json=accept_form(item_code="LONG-300"))).json()
            await client.post(f"/api/cases/{paused['case_id']}/events",
                              json={"kind": "supplement_requested", "data": {"missing": ["户口簿"]}})
            summary = await (await client.post("/api/sync", json={})).json()
            filled = await (await client.get(f"/api/cases/{long['case_id']}")).json()
            still_paused = await (await client.get(f"/api/cases/{paused['case_id']}")).json()
            again = await service_of(client).fill_due_dates()
            rows = outbox(client)
    expected = due_date(plain_calendar(year, year + 2), date.fromisoformat(long["accepted_on"]), 300)
    assert summary["ok"] is True and summary["reference_version"] == "three-years"
    assert filled["due_on"] == expected.isoformat() and filled["calendar_missing"] is False
    assert still_paused["due_on"] is None  # the clock is stopped: there is no due date to fill in yet
    updated = [r for r in rows if r[3] == "updated"]
    assert [(r[2], r[5]) for r in updated] == [(long["case_id"], {"due_on": expected.isoformat()})]
    # pushed in the same round, after the reference refresh
    assert [e["kind"] for e in county.pushed] == ["accepted", "accepted", "supplement_requested", "updated"]
    assert again == 0


async def test_a_calendar_pulled_before_a_restart_is_applied_at_start(tmp_path):
    year = today().year
    async with running_agent(tmp_path, this_year_only()) as client:
        case = await (await client.post("/api/cases", json=accept_form(item_code="LONG-300"))).json()
        wider = reference(plain_calendar(year, year + 2), version="wider")
        # the new reference was saved, then the agent stopped before filling in
        await store_of(client).save_reference(wider.version, msgspec.json.encode(wider))
    async with running_agent(tmp_path, wider) as client:
        stored = await (await client.get(f"/api/cases/{case['case_id']}")).json()
    assert stored["due_on"] is not None
