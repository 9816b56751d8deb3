"""Every error staff can meet is in Chinese and on the field it concerns: msgspec's validation messages, aiohttp's
routing errors, a failed sync, and the county's refusals; the technical text stays beside it for ops."""

from __future__ import annotations

import io

import pytest

from agent.explain import explain_validation, refusal_reason
from protocol.codes import CODES, staff_message
from tests.agent.conftest import accept_form


@pytest.mark.parametrize(("technical", "field", "message"), [
    ("Expected `str` of length <= 2000 - at `$.note`", "note", "备注不能超过2000个字"),
    ("Expected `str` of length <= 2000 - at `$.missing[1]`", "missing", "缺少的材料第2项不能超过2000个字"),
    ("Expected `str` of length >= 1 - at `$.reason`", "reason", "请填写原因"),
    ("Expected `array` of length >= 1 - at `$.missing`", "missing", "请至少填写一项缺少的材料"),
    ("Expected `array` of length <= 100 - at `$.missing`", "missing", "缺少的材料最多100项"),
    ("Expected `int` <= 5 - at `$.rating`", "rating", "评价不能大于5"),
    ("Expected `int` >= 0 - at `$.trips`", "trips", "跑动次数不能小于0"),
    ("Expected `int`, got `str` - at `$.rating`", "rating", "评价应为整数"),
    ("Expected `array`, got `str` - at `$.missing`", "missing", "缺少的材料应为列表（每行一项）"),
    ("Invalid enum value 'zz' - at `$.result`", "result", "办理结果的取值无效，请从列表中选择"),
    ("Object missing required field `result`", "result", "请填写办理结果"),
    ("Object contains unknown field `foo`", "foo", "不能填写「foo」这一项"),
    ("Expected `str` matching regex '^\\d{4}-\\d{2}-\\d{2}$' - at `$.due_on`", "due_on", "办结期限的格式不对"),
])
def test_msgspec_messages_become_a_field_and_plain_chinese(technical, field, message):
    assert explain_validation(technical) == (field, message)
    assert explain_validation(f"{technical} (in `data` of completed)") == (field, message)  # a county refusal


def test_a_refusal_reads_as_the_codes_chinese_message_and_what_was_wrong():
    assert refusal_reason("unknown_item", "The service item code is not in the county's catalog.") == \
        "事项不在县里的事项目录中"
    assert refusal_reason("invalid_event", "The event's fields are invalid; see `detail`. (Expected `str` of "
                          "length <= 2000 - at `$.note` (in `data` of completed))") == \
        "县服务器认为这条记录的内容不合规定：备注不能超过2000个字"
    assert refusal_reason("from_a_newer_county", "whatever") == "县服务器退回了这条记录（from_a_newer_county）"


# Codes only the dashboard's admins and ops meet (in English or on the dashboard); every other one can reach a PC.
COUNTY_ONLY = {"login_required", "login_failed", "login_throttled", "metrics_token_required"}


def test_every_code_staff_can_meet_has_chinese_words():
    staff_codes = [c for c in CODES if c not in COUNTY_ONLY]
    for code in staff_codes:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in staff_message(code)), code


async def test_a_too_long_note_is_refused_on_the_note_in_chinese_with_the_technical_text_beside(agent_client):
    case = await (await agent_client.post("/api/cases", json=accept_form())).json()
    resp = await agent_client.post(f"/api/cases/{case['case_id']}/events",
                                   json={"kind": "completed", "data": {"result": "approved", "note": "很" * 2001}})
    body = await resp.json()
    assert resp.status == 422 and body["code"] == "invalid_input"
    assert body["fields"] == {"note": "备注不能超过2000个字"} and body["message"] == "备注不能超过2000个字"
    assert "Expected `str` of length <= 2000" in body["detail"]
    resp = await agent_client.post(f"/api/cases/{case['case_id']}/events",
                                   json={"kind": "completed", "data": {"result": "maybe"}})
    assert (await resp.json())["fields"] == {"result": "办理结果的取值无效，请从列表中选择"}


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/api/nothing-here", 404, "not_found"),
    ("DELETE", "/api/cases", 405, "method_not_allowed"),
    ("GET", "/api/cases/0190b6a2-0000-7000-8000-000000000000", 404, "case_not_found"),
    ("POST", "/api/sync?max_batches=x", 422, "invalid_input"),
])
async def test_routing_errors_of_the_local_api_are_codes_with_chinese_messages(agent_client, method, path, status,
                                                                                code):
    resp = await agent_client.request(method, path, json=None if method == "GET" else {})
    body = await resp.json()
    assert (resp.status, body["code"]) == (status, code)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"]), body


async def test_a_sync_with_the_county_down_says_why_in_chinese_and_keeps_the_technical_text(agent_client):
    result = await (await agent_client.post("/api/sync", json={})).json()
    assert result["ok"] is False and result["error_code"] == "county_unreachable"
    assert result["error_message"].startswith("连不上县服务器")
    status = await (await agent_client.get("/api/status")).json()
    assert status["last_error_code"] == "county_unreachable"
    assert status["last_error_message"] == CODES["county_unreachable"].message
    assert "ClientConnectorError" in status["last_error"]


async def test_a_body_too_large_is_refused_in_chinese_and_stores_nothing(agent_client):
    resp = await agent_client.post("/api/cases", data=io.BytesIO(b"{" + b" " * 3_000_000 + b"}"),
                                   headers={"Content-Type": "application/json"})
    body = await resp.json()
    assert (resp.status, body["code"], body["message"]) == (413, "too_large", "请求内容太大，没有保存")
    assert (await (await agent_client.get("/api/status")).json())["pending"] == 0
