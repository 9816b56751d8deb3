"""Consultations (咨询): a counter entry becomes a `consulted` event with an id of its own, and a row for the day."""

from __future__ import annotations

from tests.agent.conftest import TOWNSHIP
from tests.agent.desk import outbox, running_agent, today


async def test_a_consultation_is_stored_with_a_consulted_event_of_its_own(tmp_path):
    async with running_agent(tmp_path) as client:
        resp = await client.post("/api/consultations", json={"topic": "养老保险缴费标准", "channel": "window"})
        assert resp.status == 201
        first = await resp.json()
        second = await (await client.post("/api/consultations", json={
            "topic": "低保申请条件", "channel": "home_visit", "org_code": f"{TOWNSHIP}201"})).json()
        listed = await (await client.get("/api/consultations")).json()
        cases = await (await client.get("/api/cases")).json()
        status = await (await client.get("/api/status")).json()
        rows = outbox(client)
    assert first["org_code"] == f"{TOWNSHIP}000"  # the township centre by default
    assert first["day"] == today().isoformat()
    assert [c["topic"] for c in listed["consultations"]] == ["养老保险缴费标准", "低保申请条件"]
    assert [(r[2], r[3], r[4]) for r in rows] == [(first["consultation_id"], "consulted", "pending"),
                                                  (second["consultation_id"], "consulted", "pending")]
    assert rows[0][5] == {"topic": "养老保险缴费标准", "org_code": f"{TOWNSHIP}000", "channel": "window"}
    assert rows[1][5]["org_code"] == f"{TOWNSHIP}201"
    assert first["consultation_id"] != second["consultation_id"]
    assert cases["cases"] == []  # a consultation is not a case
    assert status["pending"] == 2


async def test_a_bad_consultation_names_its_fields_and_stores_nothing(tmp_path):
    async with running_agent(tmp_path) as client:
        resp = await client.post("/api/consultations", json={"topic": " ", "channel": "fax",
                                                             "org_code": "513422101000"})
        body = await resp.json()
        unknown = await client.post("/api/consultations", json={"topic": "x", "when": "now"})
        listed = await (await client.get("/api/consultations")).json()
        rows = outbox(client)
    assert resp.status == 422
    assert set(body["fields"]) == {"topic", "channel", "org_code"}
    assert unknown.status == 422
    assert listed["consultations"] == [] and rows == []


async def test_consultations_are_listed_per_day_and_counted_on_the_today_page(tmp_path):
    async with running_agent(tmp_path) as client:
        await client.post("/api/consultations", json={"topic": "医保报销"})
        other_day = await (await client.get("/api/consultations", params={"day": "2001-01-01"})).json()
        today_page = await (await client.get("/api/today")).json()
    assert other_day["consultations"] == []
    assert [c["topic"] for c in today_page["consultations"]] == ["医保报销"]
