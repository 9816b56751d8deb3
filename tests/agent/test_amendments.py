"""更正 over the local API: a correction needs a reason, is checked like the form, becomes a `corrected` event with
what changed, and a closed or rated case changes no figure field unless the county granted it (a grant the pull
brought, used offline); an unguarded `updated` of it is refused."""

from __future__ import annotations

import msgspec

from agent.http.api import STORE
from protocol.messages import CorrectionGrant
from tests.agent.conftest import TOWNSHIP, accept_form


async def _case(client, *steps):
    case = await (await client.post("/api/cases", json=accept_form())).json()
    for kind, data in steps:
        assert (await client.post(f"/api/cases/{case['case_id']}/events", json={"kind": kind, "data": data})
                ).status == 201
    return case["case_id"]


async def _correct(client, case_id, **data):
    return await client.post(f"/api/cases/{case_id}/events", json={"kind": "corrected", "data": data})


async def test_a_correction_changes_the_field_and_the_history_shows_reason_before_and_after(agent_client):
    case_id = await _case(agent_client)
    resp = await _correct(agent_client, case_id, phone="139 0000 0000", village_code=f"{TOWNSHIP}202",
                          reason="电话记错了")
    assert resp.status == 201, await resp.text()
    case = await resp.json()
    assert case["phone"] == "13900000000" and case["village_code"] == f"{TOWNSHIP}202"
    history = await (await agent_client.get(f"/api/cases/{case_id}/history")).json()
    [event] = [e for e in history["events"] if e["kind"] == "corrected"]
    assert event["data"]["reason"] == "电话记错了"
    assert event["data"]["phone"] == "13900000000"
    assert event["data"]["before"] == {"phone": accept_form()["phone"], "village_code": accept_form()["village_code"]}
    assert (await (await agent_client.get("/api/status")).json())["pending"] == 2


async def test_a_correction_without_reason_or_change_or_with_a_bad_value_stores_nothing(agent_client):
    case_id = await _case(agent_client)
    no_reason = await _correct(agent_client, case_id, phone="13900000000")
    assert no_reason.status == 422
    assert (await no_reason.json())["fields"]["reason"] == "请填写更正原因"
    same = await _correct(agent_client, case_id, phone=accept_form()["phone"], reason="r")
    assert "没有修改" in (await same.json())["message"]
    bad = await _correct(agent_client, case_id, cert_no="110105194912310021", reason="号码错")
    assert "校验位" in (await bad.json())["fields"]["cert_no"]
    unknown = await _correct(agent_client, case_id, rating=5, reason="r")
    assert "rating" in (await unknown.json())["fields"]
    assert (await (await agent_client.get("/api/status")).json())["pending"] == 1


async def test_an_open_case_corrects_its_item_and_the_due_date_follows(agent_client):
    case_id = await _case(agent_client)
    case = await (await _correct(agent_client, case_id, item_code="XK-001", reason="选错事项")).json()
    assert case["item_code"] == "XK-001" and case["promised_days"] == 10
    assert case["due_on"] is not None


async def test_a_rated_case_corrects_contact_fields_but_not_a_figure_field(agent_client):
    case_id = await _case(agent_client, ("completed", {"result": "approved"}), ("evaluated", {"rating": 2}))
    ok = await _correct(agent_client, case_id, applicant_name="扎西卓玛", reason="姓名漏字")
    assert ok.status == 201 and (await ok.json())["applicant_name"] == "扎西卓玛"
    refused = await _correct(agent_client, case_id, item_code="XK-001", channel="online", reason="选错")
    assert refused.status == 409
    body = await refused.json()
    assert body["code"] == "correction_needs_grant"
    assert "县级管理员授权" in body["message"] and set(body["fields"]) == {"item_code", "channel"}
    case = await (await agent_client.get(f"/api/cases/{case_id}")).json()
    assert case["item_code"] == "GG-001" and case["channel"] == "window"


async def test_an_unguarded_update_of_a_completed_rated_case_is_refused_in_chinese(agent_client):
    case_id = await _case(agent_client, ("completed", {"result": "approved"}), ("evaluated", {"rating": 5}))
    resp = await agent_client.post(f"/api/cases/{case_id}/events",
                                   json={"kind": "updated", "data": {"item_code": "XK-001"}})
    assert resp.status == 409
    body = await resp.json()
    assert body["code"] == "correction_required" and "更正" in body["message"]
    assert (await (await agent_client.get(f"/api/cases/{case_id}")).json())["item_code"] == "GG-001"


async def test_a_county_grant_pulled_earlier_lets_the_pc_correct_a_figure_field_offline(agent_client):
    case_id = await _case(agent_client, ("completed", {"result": "approved"}), ("evaluated", {"rating": 4}))
    history = await (await agent_client.get(f"/api/cases/{case_id}/history")).json()
    assert set(history["case"]["correction"]["locked"]) == {"item_code", "org_code", "channel", "village_code"}
    grant = CorrectionGrant(grant_id="0190a0b0-0000-7000-8000-000000000001", case_id=case_id, reason="核实后改正",
                            granted_by="县管理员", granted_at="2026-11-24T01:00:00+00:00")
    other = msgspec.structs.replace(grant, grant_id="0190a0b0-0000-7000-8000-000000000002",
                                    case_id="0190a0b0-0000-7000-8000-0000000000ff")
    await agent_client.server.app[STORE].set_meta(correction_grants=msgspec.json.encode([other, grant]).decode())
    history = await (await agent_client.get(f"/api/cases/{case_id}/history")).json()
    assert history["case"]["correction"]["locked"] == []
    assert history["case"]["correction"]["grant"]["reason"] == "核实后改正"
    resp = await _correct(agent_client, case_id, item_code="XK-001", reason="选错事项")  # the county is unreachable
    assert resp.status == 201, await resp.text()
    case = await resp.json()
    assert (case["item_code"], case["promised_days"], case["state"], case["rating"]) == ("XK-001", 10, "completed", 4)
    history = await (await agent_client.get(f"/api/cases/{case_id}/history")).json()
    [event] = [e for e in history["events"] if e["kind"] == "corrected"]
    assert event["data"]["grant"] == grant.grant_id
    assert event["data"]["before"]["item_code"] == "GG-001" and event["data"]["before"]["promised_days"] == 3
