"""The local API: a staff action is stored at once, works with the county unreachable, and bad input stores nothing."""

from __future__ import annotations

from tests.agent.conftest import TOWNSHIP, accept_form


async def test_accepting_a_case_answers_201_with_its_ids_and_due_date(agent_client):
    resp = await agent_client.post("/api/cases", json=accept_form())
    assert resp.status == 201
    case = await resp.json()
    assert len(case["case_id"]) == 36
    assert case["case_no"].startswith(f"{TOWNSHIP}01") and case["case_no"].endswith("0001")
    assert case["state"] == "in_progress"
    assert case["org_code"] == f"{TOWNSHIP}000"  # the township centre by default
    second = await (await agent_client.post("/api/cases", json=accept_form())).json()
    assert second["case_no"].endswith("0002")
    status = await (await agent_client.get("/api/status")).json()
    assert status["pending"] == 2


async def test_a_wrong_check_digit_is_refused_with_a_field_message_and_nothing_is_stored(agent_client):
    resp = await agent_client.post("/api/cases", json=accept_form(cert_no="110105194912310021"))
    assert resp.status == 422
    body = await resp.json()
    assert body["code"] == "invalid_input"
    assert "校验位" in body["fields"]["cert_no"]
    assert (await (await agent_client.get("/api/cases")).json())["cases"] == []
    assert (await (await agent_client.get("/api/status")).json())["pending"] == 0


async def test_refused_entries_use_up_no_case_number(agent_client):
    first = await (await agent_client.post("/api/cases", json=accept_form())).json()
    for bad in (accept_form(cert_no="110105194912310021"), accept_form(item_code="NOPE"), accept_form(phone="12")):
        assert (await agent_client.post("/api/cases", json=bad)).status == 422
    second = await (await agent_client.post("/api/cases", json=accept_form())).json()
    assert (first["case_no"][-4:], second["case_no"][-4:]) == ("0001", "0002")


async def test_unknown_item_and_foreign_village_are_named_per_field(agent_client):
    resp = await agent_client.post("/api/cases", json=accept_form(item_code="NOPE", village_code="513422101201"))
    body = await resp.json()
    assert resp.status == 422
    assert set(body["fields"]) == {"item_code", "village_code"}


async def test_not_json_is_a_clear_error(agent_client):
    resp = await agent_client.post("/api/cases", data=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status == 422
    assert "JSON" in (await resp.json())["message"]


async def test_complete_then_evaluate_and_illegal_transitions_are_refused(agent_client):
    case = await (await agent_client.post("/api/cases", json=accept_form())).json()
    url = f"/api/cases/{case['case_id']}/events"
    early = await agent_client.post(url, json={"kind": "evaluated", "data": {"rating": 5}})
    assert early.status == 422
    assert "办结之后" in (await early.json())["message"]
    done = await agent_client.post(url, json={"kind": "completed", "data": {"result": "approved"}})
    assert done.status == 201
    assert (await done.json())["state"] == "completed"
    rated = await agent_client.post(url, json={"kind": "evaluated", "data": {"rating": 2, "comment": "太慢"}})
    assert (await rated.json())["rating"] == 2
    again = await agent_client.post(url, json={"kind": "evaluated", "data": {"rating": 5}})
    assert again.status == 422
    assert "一事一评" in (await again.json())["message"]
    bad_rating = await agent_client.post(url, json={"kind": "completed", "data": {"result": "maybe"}})
    assert bad_rating.status == 422
    stored = await (await agent_client.get(f"/api/cases/{case['case_id']}")).json()
    assert stored["rating"] == 2 and stored["state"] == "completed"
    assert (await (await agent_client.get("/api/status")).json())["pending"] == 3


async def test_unknown_case_is_404_with_the_error_shape(agent_client):
    resp = await agent_client.post("/api/cases/00000000-0000-7000-8000-000000000000/events",
                                   json={"kind": "completed", "data": {"result": "approved"}})
    assert resp.status == 404
    assert set(await resp.json()) >= {"code", "message"}


async def test_sync_with_the_county_unreachable_reports_the_error_and_keeps_events(agent_client):
    await agent_client.post("/api/cases", json=accept_form())
    summary = await (await agent_client.post("/api/sync", json={})).json()
    assert summary["ok"] is False
    status = await (await agent_client.get("/api/status")).json()
    assert status["pending"] == 1
    assert status["last_error"] and "127.0.0.1:9" in status["last_error"]
    assert status["last_sync_at"] is None


async def test_search_finds_by_case_number_name_and_id_number(agent_client):
    case = await (await agent_client.post("/api/cases", json=accept_form(applicant_name="卓玛"))).json()
    await agent_client.post("/api/cases", json=accept_form(applicant_name="次仁"))
    for q in (case["case_no"], "卓玛"):
        found = (await (await agent_client.get("/api/cases", params={"q": q})).json())["cases"]
        assert [c["case_id"] for c in found] == [case["case_id"]]
    by_id = (await (await agent_client.get("/api/cases", params={"q": "11010519491231002x"})).json())["cases"]
    assert len(by_id) == 2


async def test_a_case_records_the_catalog_version_of_its_item(agent_client):
    case = await (await agent_client.post("/api/cases", json=accept_form())).json()
    assert (case["item_code"], case["item_version"]) == ("GG-001", "2026版")
    moved = await agent_client.post(f"/api/cases/{case['case_id']}/events",
                                    json={"kind": "updated", "data": {"item_code": "XK-001"}})
    assert moved.status == 201
    assert (await moved.json())["item_version"] is None  # XK-001 has no version in this catalog
