"""Correct and resend a quarantined event: a new event with the same case_id and kind, a new event_id and seq; the
refused one is marked resent and never sent again; the local case is rebuilt with the correction."""

from __future__ import annotations

from protocol.messages import Refusal
from tests.agent.conftest import accept_form
from tests.agent.desk import outbox, running_agent, service_of, store_of


async def refuse(client, seq: int, code: str = "unknown_item", message: str = "事项目录中没有这个事项") -> str:
    """What `sync_once` does with a refusal from the county: quarantine that event (its case is folded without it),
    acknowledge the rest."""
    row = next(r for r in outbox(client) if r[0] == seq)
    await service_of(client).casebook.record_push(seq, [Refusal(event_id=row[1], seq=seq, code=code, message=message)])
    return row[1]


async def test_a_corrected_acceptance_goes_out_as_a_new_event_and_the_case_follows(tmp_path):
    async with running_agent(tmp_path) as client:
        case = await (await client.post("/api/cases", json=accept_form(item_code="GG-001"))).json()
        old_event_id = await refuse(client, 1)
        listed = (await (await client.get("/api/quarantine")).json())["events"]
        resp = await client.post(f"/api/quarantine/{old_event_id}/resend", json={"data": {"item_code": "XK-001"}})
        assert resp.status == 201, await resp.text()
        body = await resp.json()
        stored = await (await client.get(f"/api/cases/{case['case_id']}")).json()
        status = await (await client.get("/api/status")).json()
        rows = outbox(client)
        old_row = await store_of(client).get_event(old_event_id)
        new_row = await store_of(client).get_event(rows[1][1])
    assert [(e["event_id"], e["code"]) for e in listed] == [(old_event_id, "unknown_item")]
    assert "item_code" in listed[0]["editable"] and "case_no" not in listed[0]["editable"]
    assert body["seq"] == 2
    assert [(r[0], r[2], r[3], r[4]) for r in rows] == [(1, case["case_id"], "accepted", "resent"),
                                                        (2, case["case_id"], "accepted", "pending")]
    assert rows[1][1] != old_event_id
    assert new_row.at == old_row.at  # the acceptance happened then; only its data was wrong
    assert rows[1][5]["item_code"] == "XK-001" and rows[1][5]["promised_days"] == 10
    assert rows[1][5]["case_no"] == case["case_no"]
    assert stored["item_code"] == "XK-001" and stored["promised_days"] == 10
    assert status["quarantined"] == [] and status["pending"] == 1


async def test_a_correction_that_breaks_the_rules_is_refused_and_the_event_stays_quarantined(tmp_path):
    async with running_agent(tmp_path) as client:
        await client.post("/api/cases", json=accept_form())
        old_event_id = await refuse(client, 1, "invalid_event", "证件号码无效")
        bad = await client.post(f"/api/quarantine/{old_event_id}/resend",
                                json={"data": {"cert_no": "110105194912310021"}})
        bad_body = await bad.json()
        derived = await client.post(f"/api/quarantine/{old_event_id}/resend", json={"data": {"due_on": "2030-01-01"}})
        derived_body = await derived.json()
        listed = (await (await client.get("/api/quarantine")).json())["events"]
        rows = outbox(client)
    assert bad.status == 422 and "校验位" in bad_body["fields"]["cert_no"]
    assert derived.status == 422 and "due_on" in derived_body["fields"]
    assert [e["event_id"] for e in listed] == [old_event_id]
    assert len(rows) == 1


async def test_a_later_event_of_a_case_is_corrected_in_its_place(tmp_path):
    async with running_agent(tmp_path) as client:
        case = await (await client.post("/api/cases", json=accept_form(item_code="QT-001"))).json()
        url = f"/api/cases/{case['case_id']}/events"
        await client.post(url, json={"kind": "completed", "data": {"result": "approved", "note": "旧备注"}})
        await client.post(url, json={"kind": "evaluated", "data": {"rating": 5}})
        old_event_id = await refuse(client, 2, "invalid_event", "备注含不允许的内容")
        resp = await client.post(f"/api/quarantine/{old_event_id}/resend",
                                 json={"data": {"note": "已当场办结", "result": "not_approved"}})
        stored = await (await client.get(f"/api/cases/{case['case_id']}")).json()
        rows = outbox(client)
    assert resp.status == 201
    assert [(r[0], r[3], r[4]) for r in rows] == [(1, "accepted", "synced"), (2, "completed", "resent"),
                                                  (3, "evaluated", "pending"), (4, "completed", "pending")]
    # replayed in the original order: the rating given after completion is kept
    assert (stored["note"], stored["result"], stored["rating"]) == ("已当场办结", "not_approved", 5)


async def test_a_corrected_consultation_updates_its_row(tmp_path):
    async with running_agent(tmp_path) as client:
        c = await (await client.post("/api/consultations", json={"topic": "错字咨询"})).json()
        old_event_id = await refuse(client, 1, "invalid_event", "topic")
        resp = await client.post(f"/api/quarantine/{old_event_id}/resend", json={"data": {"topic": "医保咨询"}})
        resent = await resp.json()
        listed = (await (await client.get("/api/consultations")).json())["consultations"]
        rows = outbox(client)
    assert resp.status == 201 and resent["case"] is None
    assert [(x["consultation_id"], x["topic"]) for x in listed] == [(c["consultation_id"], "医保咨询")]
    assert [(r[2], r[3], r[4]) for r in rows] == [(c["consultation_id"], "consulted", "resent"),
                                                  (c["consultation_id"], "consulted", "pending")]


async def test_resending_or_dismissing_an_event_not_in_quarantine_is_404(tmp_path):
    async with running_agent(tmp_path) as client:
        await client.post("/api/cases", json=accept_form())
        event_id = outbox(client)[0][1]
        resend = await client.post(f"/api/quarantine/{event_id}/resend", json={"data": {}})
        resend_body = await resend.json()
        dismiss = await client.post(f"/api/quarantine/{event_id}/dismiss", json={})
        await refuse(client, 1)
        dismissed = await client.post(f"/api/quarantine/{event_id}/dismiss", json={})
        again = await client.post(f"/api/quarantine/{event_id}/resend", json={"data": {}})
        rows = outbox(client)
    assert (resend.status, dismiss.status) == (404, 404)
    assert resend_body["code"] == "not_quarantined"
    assert dismissed.status == 200 and again.status == 404
    assert [(r[4]) for r in rows] == ["dismissed"]
