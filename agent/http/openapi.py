"""The OpenAPI 3.1 document of the agent's local API (`GET /api/openapi.json`): every route the staff page and
scripts on the PC use, their parameters and bodies, and their answers. Errors are `ErrorBody` with a code of
`protocol.codes` and a Chinese message. tests/agent/test_openapi.py keeps it equal to the router, and
tests/e2e/test_fuzz.py runs schemathesis over it against the real agent."""

from __future__ import annotations

import functools
from typing import Any

import msgspec

from agent import __version__
from protocol.messages import ErrorBody

_ERROR = msgspec.json.schema(ErrorBody)
JSON = "application/json"


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ERROR}}}


# What any route may answer besides its success: the guard (another Host, another page's Origin, a change that is
# not JSON), the router (an unknown path or method, a body too big), and the checks of what was sent.
_GUARD = {"403": _error("host_not_allowed (not this PC's address), cross_origin (another page), staff_disabled or "
                         "lead_required"),
          "405": _error("method_not_allowed"), "404": _error("not_found, case_not_found or another *_not_found"),
          "401": _error("sign_in_required or sign_in_failed: once the township has staff, every /api/ route but the "
                        "sign-in needs a staff member (the page's cookie, or `curl -u 工号:密码`)"),
          "429": _error("sign_in_locked, with Retry-After")}
_WRITE = {**_GUARD, "400": _error("bad_json"), "413": _error("too_large"),
          "415": _error("json_required: a change is sent as application/json"),
          "409": _error("the action does not apply to the case in its state"),
          "422": _error("invalid_input: `fields` names what to fix, in Chinese"),
          "503": _error("no_reference: the catalog has not come from the county yet")}
_READ = {**_GUARD, "400": _error("bad_json"), "422": _error("invalid_input")}
# Outside /api the router's own 404 and 405 are plain text.
_TEXT = {"description": "not found, or not allowed", "content": {"text/plain": {"schema": {"type": "string"}}}}
_PAGE = {"403": _GUARD["403"], "404": _TEXT, "405": _TEXT}
_STAFF = {"type": "object", "required": ["staff"], "properties": {"staff": {"type": ["object", "null"]}}}
_OBJECT: dict[str, Any] = {"type": "object"}
_CASE = {"type": "object", "required": ["case_id", "case_no", "state"], "properties": {
    "case_id": {"type": "string"}, "case_no": {"type": "string"}, "state": {"type": "string"}}}
_PATH_ID = {"type": "string", "maxLength": 64}


def _ok(schema: dict[str, Any], status: str = "200", content: str = JSON) -> dict[str, Any]:
    return {status: {"description": "OK", "content": {content: {"schema": schema}}}}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _PATH_ID}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": schema}}}


def _list(key: str) -> dict[str, Any]:
    return {"type": "object", "required": [key], "properties": {key: {"type": "array", "items": _OBJECT}}}


@functools.cache
def build_openapi() -> dict[str, Any]:
    case_form = {"type": "object", "description": "item_code, applicant_name, cert_type, cert_no, phone, channel, "
                 "village_code or org_code, and the item's own fields", "properties": {
                     "item_code": {"type": "string"}, "applicant_name": {"type": "string"},
                     "cert_type": {"type": "string"}, "cert_no": {"type": "string"}, "phone": {"type": "string"},
                     "channel": {"type": "string"}, "village_code": {"type": "string"}}}
    action = {"type": "object", "required": ["kind"], "properties": {
        "kind": {"type": "string", "description": "supplement_requested, supplement_received, completed, rejected, "
                 "withdrawn, evaluated, followed_up, corrected"}, "data": _OBJECT}}
    html = {"200": {"description": "the page", "content": {"text/html": {"schema": {"type": "string"}}}}}
    paths: dict[str, Any] = {
        "/api/cases": {
            "post": {"summary": "Accept a case (受理): committed before the answer, uploaded later",
                     "requestBody": _body(case_form), "responses": {**_ok(_CASE, "201"), **_WRITE}},
            "get": {"summary": "Cases on this PC, newest first; `q` searches number, name, certificate (or its last "
                           "4), phone", "parameters": [
                _query("open", "1 or true: open cases only; anything else: all", {"type": "string"}),
                _query("q", "what to look for", {"type": "string"}),
                _query("limit", "at most this many; brought into 1-1000 (default 200)", {"type": "integer"})],
                "responses": {**_ok(_list("cases")), **_READ}}},
        "/api/cases/{case_id}": {"get": {"summary": "One case", "parameters": [_path("case_id")],
                                         "responses": {**_ok(_CASE), **_READ}}},
        "/api/cases/{case_id}/events": {"post": {
            "summary": "An action on a case (补正, 办结, 不予受理, 撤回, 评价, 回访, 更正)",
            "parameters": [_path("case_id")],
            "requestBody": _body(action), "responses": {**_ok(_CASE, "201"), **_WRITE}}},
        "/api/cases/{case_id}/history": {"get": {
            "summary": "Every event of a case with its window and staff, China time", "parameters": [_path("case_id")],
            "responses": {**_ok(_OBJECT), **_READ}}},
        "/api/cases/{case_id}/attachments": {
            "get": {"summary": "The case's scanned materials", "parameters": [_path("case_id")],
                    "responses": {**_ok(_OBJECT), **_READ}},
            "post": {"summary": "Attach a file: its bytes as application/octet-stream with X-Desk-Upload: 1",
                     "parameters": [_path("case_id"),
                                    {"name": "X-Desk-Upload", "in": "header", "required": True,
                                     "schema": {"type": "string", "enum": ["1"]}},
                                    {"name": "X-File-Name", "in": "header", "required": False,
                                     "schema": {"type": "string", "pattern": "^[\\x20-\\x7e]{0,100}$"}}],
                     "requestBody": {"required": True, "content": {"application/octet-stream": {
                         "schema": {"type": "string", "format": "binary"}}}},
                     "responses": {**_ok(_OBJECT, "201"), **_ok(_OBJECT), **_WRITE}}},
        "/api/attachments/{attachment_id}/file": {"get": {
            "summary": "A material's file", "parameters": [_path("attachment_id")],
            "responses": {"200": {"description": "the file", "content": {"application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}}}}, **_READ}}},
        "/api/today": {"get": {"summary": "Today's work: open cases by due date, what is overdue or due soon",
                               "responses": {**_ok(_OBJECT), **_READ}}},
        "/api/status": {"get": {"summary": "Sync state: pending uploads, last sync and error, conflicts, refused "
                                           "records, the digest check", "responses": {**_ok(_OBJECT), **_READ}}},
        "/api/sync": {"post": {"summary": "Run one sync round now (any body is ignored)", "parameters": [
            _query("max_batches", "at most this many push batches", {"type": "string", "pattern": "^[0-9]{1,6}$"}),
            _query("attachments", "1 or true: upload materials too", {"type": "string"})],
            "responses": {**_ok(_OBJECT), **_WRITE}}},
        "/api/reference": {"get": {"summary": "The catalog and org units this PC holds",
                                   "responses": {**_ok(_OBJECT), **_READ, "503": _error("no_reference")}}},
        "/api/conflicts": {"get": {"summary": "Open conflicts (县级未采纳) of the township's cases", "parameters": [
            _query("mine", "1 or true: this PC's only; anything else: all", {"type": "string"})],
            "responses": {**_ok(_list("conflicts")), **_READ}}},
        "/api/conflicts/{event_id}/accept": {"post": {
            "summary": "Settle a conflict: the county's state stands", "parameters": [_path("event_id")],
            "requestBody": {"required": False, "content": {JSON: {"schema": _OBJECT}}},
            "responses": {**_ok(_OBJECT, "201"), **_WRITE}}},
        "/api/conflicts/{event_id}/redo": {"post": {
            "summary": "Settle a conflict: redo the action on the current state", "parameters": [_path("event_id")],
            "requestBody": {"required": False, "content": {JSON: {"schema": _OBJECT}}},
            "responses": {**_ok(_OBJECT, "201"), **_WRITE}}},
        "/api/consultations": {
            "post": {"summary": "Record a consultation (咨询)", "requestBody": _body(_OBJECT),
                     "responses": {**_ok(_OBJECT, "201"), **_WRITE}},
            "get": {"summary": "One day's consultations", "parameters": [
                _query("day", "YYYY-MM-DD; empty or absent: today", {"type": "string",
                                                                       "pattern": "^(\\d{4}-\\d{2}-\\d{2})?$"})],
                "responses": {**_ok(_OBJECT), **_READ}}},
        "/api/quarantine": {"get": {"summary": "Records the county refused, to correct and resend",
                                    "responses": {**_ok(_list("events")), **_READ}}},
        "/api/quarantine/{event_id}/resend": {"post": {
            "summary": "Resend a refused record, corrected", "parameters": [_path("event_id")],
            "requestBody": {"required": False, "content": {JSON: {"schema": _OBJECT}}},
            "responses": {**_ok(_OBJECT, "201"), **_WRITE}}},
        "/api/quarantine/{event_id}/dismiss": {"post": {
            "summary": "Put a refused record aside", "parameters": [_path("event_id")],
            "requestBody": {"required": False, "content": {JSON: {"schema": _OBJECT}}},
            "responses": {**_ok(_OBJECT), **_WRITE}}},
        "/api/openapi.json": {"get": {"summary": "This document", "responses": {**_ok(_OBJECT), **_READ}}},
        "/api/session": {
            "get": {"summary": "Whether sign-in is needed, and who is signed in on this page",
                    "responses": {**_ok({"type": "object", "required": ["required", "staff"]}), **_READ}},
            "post": {"summary": "Staff sign-in (工作人员登录): sets the HttpOnly session cookie",
                     "requestBody": _body({"type": "object", "required": ["staff_id", "secret"], "properties": {
                         "staff_id": {"type": "string"}, "secret": {"type": "string"}}}),
                     "responses": {**_ok(_STAFF), **_WRITE}}},
        "/api/session/end": {"post": {"summary": "Sign out", "responses": {**_ok(_STAFF), **_WRITE}}},
        "/api/staff": {
            "get": {"summary": "The township's staff list (no secrets)", "responses": {**_ok(_list("staff")), **_READ}},
            "post": {"summary": "Add a staff member (the lead only)", "requestBody": _body({
                "type": "object", "properties": {"staff_id": {"type": "string"}, "name": {"type": "string"},
                                                 "role": {"type": "string"}, "secret": {"type": "string"}}}),
                     "responses": {**_ok(_STAFF, "201"), **_WRITE}}},
        "/api/staff/{staff_id}": {"post": {
            "summary": "Change a staff member: the lead; a clerk only their own PIN", "parameters": [_path("staff_id")],
            "requestBody": _body({"type": "object", "properties": {
                "name": {"type": "string"}, "role": {"type": "string"}, "secret": {"type": "string"},
                "is_disabled": {"type": "boolean"}}}), "responses": {**_ok(_STAFF), **_WRITE}}},
        "/api/rate/current": {"get": {"summary": "What the rating screen shows now (the handed-over case, or null)",
                                      "responses": {**_ok(_OBJECT), **_READ}}},
        "/api/rate/handoff": {"post": {
            "summary": "Hand a case to the rating screen", "requestBody": _body({"type": "object", "properties": {
                "case_id": {"type": "string"}, "step": {"type": "string"}}}),
            "responses": {**_ok(_OBJECT, "201"), **_WRITE}}},
        "/api/rate/cancel": {"post": {"summary": "Take the case back from the screen",
                                      "responses": {**_ok(_OBJECT), **_WRITE}}},
        "/api/rate/give": {"post": {
            "summary": "The resident's rating (1-5), stored on this PC before the answer",
            "requestBody": _body({"type": "object", "properties": {"request_id": {"type": "string"},
                                                                   "rating": {"type": "integer"}}}),
            "responses": {**_ok(_OBJECT, "201"), **_WRITE}}},
        "/rate": {"get": {"summary": "The resident's rating screen (评价屏)", "responses": {**html, **_PAGE}}},
        "/healthz": {"get": {"summary": "Alive", "responses": {**_ok(_OBJECT), **_PAGE}}},
        "/readyz": {"get": {"summary": "The database answers and every migration is applied",
                            "responses": {**_ok(_OBJECT), **_PAGE, "503": _error("not_ready")}}},
        "/metrics": {"get": {"summary": "Prometheus text", "responses": {
            "200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}, **_PAGE}}},
        "/": {"get": {"summary": "The staff page (办件工作台)", "responses": {**html, **_PAGE}}},
        "/print/{kind}/{case_id}": {"get": {
            "summary": "A4 receipt, one-time notice or result slip of a case",
            "parameters": [{"name": "kind", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": ["receipt", "notice", "result"]}},
                           {"name": "case_id", "in": "path", "required": True, "schema": {"type": "string"},
                            "description": "any text: the page reads the case itself, and says when there is none"}],
            "responses": {**html, **_PAGE}}},
        "/fonts/{name}": {"get": {"summary": "Fonts for Tibetan script and emoji", "parameters": [_path("name")],
                                  "responses": {"200": {"description": "the file"}, **_PAGE}}},
    }
    return {"openapi": "3.1.0",
            "info": {"title": "township-agent local API", "version": __version__,
                     "description": "On 127.0.0.1 only; changes as application/json without another page's Origin "
                                    "(agent/http/guard.py)."},
            "paths": paths}
