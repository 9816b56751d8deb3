"""The dashboard's part of the OpenAPI document: figure, list, export and session routes, and their types."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from protocol import API_PREFIX
from server.accounts.audit import ACTIONS, OUTCOMES
from server.reports.audit import AuditResponse
from server.reports.casepage import CaseDetail, GrantItem, SearchResponse
from server.reports.followups import FOLLOW_UP_STATES, FollowUpsResponse
from server.reports.items import ItemsResponse
from server.reports.overview import OverviewResponse, SummaryResponse, UnitsResponse
from server.reports.report import MONTH_FIGURES, REPORT_TABLES, ReportResponse
from server.reports.tables import TABLES
from server.reports.worklists import CONFLICT_STATES, AgentsResponse, CaseListResponse, ConflictsResponse
from server.storage.dashboard import CASE_FIGURES, CASE_SORTS

TYPES: list[type] = [OverviewResponse, UnitsResponse, SummaryResponse, CaseListResponse, AgentsResponse,
                     ConflictsResponse, AuditResponse, CaseDetail, SearchResponse, GrantItem, FollowUpsResponse,
                     ItemsResponse]
_READER: list[dict[str, list[str]]] = [{"dashboardSession": []}, {"adminToken": []}]


def _q(name: str, description: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


SCOPE = [
    _q("org", "2/4/6/9/12-digit division code of the unit (default: the server's top unit); a county's 9 digits "
       "(…000) or its 12-digit code: its service hall, when it has one",
       {"type": "string", "pattern": r"^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12})$"}),
    _q("period", "YYYY, YYYY-Qn, YYYY-MM or YYYY-MM-DD (or give from and to)",
       {"type": "string", "pattern": r"^\d{4}(-Q[1-4]|-\d{2}(-\d{2})?)?$"}),
    _q("from", "first day (with `to`, instead of `period`)", {"type": "string", "format": "date"}),
    _q("to", "last day, inclusive", {"type": "string", "format": "date"}),
    _q("as_of", "the day open cases are judged on (overdue, due soon); default today (China time)",
       {"type": "string", "format": "date"}),
    _q("basis", "handled (default): count cases where they were handled; residence: where the applicant lives",
       {"type": "string", "enum": ["handled", "residence"]}),
]
AS_OF = next(p for p in SCOPE if p["name"] == "as_of")


def dashboard_paths(ok: dict[str, Any], errors: Callable[..., dict[str, Any]],
                    json: Callable[[type], dict[str, Any]]) -> dict[str, Any]:
    def get(summary: str, answer: type | None, *params: dict[str, Any], content: dict[str, Any] | None = None
            ) -> dict[str, Any]:
        body = json(answer) if answer is not None else content
        return {"get": {"summary": summary, "security": _READER, "parameters": list(params),
                        "responses": {"200": {**ok, "content": body},
                                      **errors("bad_request", "invalid_filter", "login_required",
                                               "outside_township")}}}

    level = _q("level", "the level of the rows", {"type": "string", "enum": [
        "province", "prefecture", "county", "township", "village"]})
    case_params = [
        _q("figure", "the figure whose cases to list", {"type": "string", "enum": list(CASE_FIGURES)}, True),
        _q("category", "only this item category", {"type": "string"}),
        _q("channel", "only this channel", {"type": "string"}),
        _q("q", "only the cases of this whole ID number or phone, or of an ID number's last 4 characters (matched "
           "by keyed hash: the numbers are stored sealed)", {"type": "string", "maxLength": 40}),
        _q("sort", "sort key", {"type": "string", "enum": list(CASE_SORTS)}),
        _q("order", "asc or desc", {"type": "string", "enum": ["asc", "desc"]}),
        _q("limit", "page size (1-500)", {"type": "integer"}), _q("offset", "rows to skip", {"type": "integer"})]
    files = {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {
        "type": "string", "format": "binary"}}, "text/csv": {"schema": {"type": "string"}}}
    export = get("Any dashboard table as XLSX or CSV (UTF-8 with BOM), Chinese headers", None,
                 {"name": "table", "in": "path", "required": True, "schema": {"type": "string", "enum": list(TABLES)}},
                 *SCOPE, level, _q("figure", "for table=cases", {"type": "string", "enum": list(CASE_FIGURES)}),
                 _q("format", "xlsx (default) or csv", {"type": "string", "enum": ["xlsx", "csv"]}), content=files)
    audit_params = [
        _q("from", "first day, China time", {"type": "string", "format": "date"}),
        _q("to", "last day, China time, inclusive", {"type": "string", "format": "date"}),
        _q("actor", "only this actor", {"type": "string", "maxLength": 200}),
        _q("action", "only this action", {"type": "string", "enum": list(ACTIONS)}),
        _q("outcome", "only this outcome", {"type": "string", "enum": list(OUTCOMES)}),
        _q("limit", "page size (1-500)", {"type": "integer", "minimum": 1, "maximum": 500}),
        _q("offset", "rows to skip", {"type": "integer", "minimum": 0})]

    def _also(path: dict[str, Any], *codes: str) -> dict[str, Any]:
        path["get"]["responses"].update(errors(*codes))
        return path

    def _auditor(path: dict[str, Any]) -> dict[str, Any]:
        return _also(path, "auditor_only")

    session_body = {"application/json": {"schema": {
        "type": "object", "required": ["name", "password"], "additionalProperties": False,
        "properties": {"name": {"type": "string", "maxLength": 64},
                       "password": {"type": "string", "maxLength": 1024}}}}}
    return {
        f"{API_PREFIX}/overview": get("One unit for a period: headline figures, categories, channels, monthly trend, "
                                      "the units one level down, catalogue item figures, the definitions used",
                                      OverviewResponse, *SCOPE),
        f"{API_PREFIX}/units": get("Every unit of a level under `org`, with full figures and the total",
                                   UnitsResponse, *SCOPE, level),
        f"{API_PREFIX}/summary": get("The yearbook paragraph and the table behind it", SummaryResponse, *SCOPE),
        f"{API_PREFIX}/report": get(
            "A report table of one figure for any period: units by months (table=months) or items by units "
            "(table=items), with totals", ReportResponse, *SCOPE,
            _q("table", "months (default) or items", {"type": "string", "enum": list(REPORT_TABLES)}),
            _q("figure", "the figure in the cells (default accepted)",
               {"type": "string", "enum": list(MONTH_FIGURES)})),
        f"{API_PREFIX}/cases": get("The cases behind one figure (certificate numbers masked)", CaseListResponse,
                                   *SCOPE, *case_params),
        API_PREFIX + "/cases/{case_id}": _also(get(
            "One case: its fields (certificate masked), every event with its PC, staff and China time, corrections "
            "with reason and before/after, ratings with comments, conflicts", CaseDetail,
            {"name": "case_id", "in": "path", "required": True, "schema": {"type": "string"}}, SCOPE[0]),
            "case_not_found"),
        API_PREFIX + "/cases/{case_id}/grants": {"post": {
            "summary": "A county admin's leave to correct the figure fields of a closed or rated case (更正授权); the "
                       "township's PCs receive it with their next pull", "security": _READER,
            "parameters": [{"name": "case_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["reason"], "additionalProperties": False,
                "properties": {"reason": {"type": "string", "maxLength": 500}}}}}},
            "responses": {"201": {**ok, "content": json(GrantItem)},
                          **errors("bad_json", "bad_request", "invalid_input", "login_required", "forbidden",
                                   "case_not_found", "json_required", "too_large", "body_timeout")}}},
        f"{API_PREFIX}/search": get(
            "Cases under `org` by case number, applicant name, certificate number (whole or last 4) or phone",
            SearchResponse, _q("q", "what to look for (full-width digits are folded)", {"type": "string"}, True),
            SCOPE[0]),
        f"{API_PREFIX}/agents": get("Township PCs: last push, pending events, clock offset, version, silence, "
                                    "protocol, agreement with the county, pull lag, open conflicts", AgentsResponse),
        f"{API_PREFIX}/conflicts": get(
            "Conflicts (县级未采纳) of the cases under `org`: the event that could not apply and the one it lost to",
            ConflictsResponse, SCOPE[0],
            _q("state", "open (default), settled or all", {"type": "string", "enum": list(CONFLICT_STATES)}),
            _q("limit", "page size (1-500)", {"type": "integer"}), _q("offset", "rows to skip", {"type": "integer"})),
        f"{API_PREFIX}/follow-ups": get(
            "Bad ratings (差评) under `org` waiting for their follow-up (回访), one row per rating, with the last day "
            "the county's rule gives and the days past it on `as_of`", FollowUpsResponse, SCOPE[0], AS_OF,
            _q("state", "overdue (default) or pending (all waiting)",
               {"type": "string", "enum": list(FOLLOW_UP_STATES)}),
            _q("limit", "page size (1-500)", {"type": "integer"}), _q("offset", "rows to skip", {"type": "integer"})),
        f"{API_PREFIX}/items": get(
            "Catalogue item figures (可网办, 全程网办, 最多跑一次, 承诺提速, 承诺提速率) and the items, each by its "
            "version in effect on `as_of`", ItemsResponse, AS_OF),
        f"{API_PREFIX}/org-units": get("The org tree: county, townships, villages", None,
                                       content={"application/json": {"schema": {"type": "object"}}}),
        API_PREFIX + "/export/{table}": export,
        f"{API_PREFIX}/audit": _auditor(get("The audit log, newest first (the auditor only)", AuditResponse,
                                            *audit_params)),
        f"{API_PREFIX}/audit/export": _auditor(get("The audit log as XLSX or CSV (the auditor only)", None,
                                                   *audit_params[:5], _q("format", "xlsx (default) or csv", {
                                                       "type": "string", "enum": ["xlsx", "csv"]}), content=files)),
        f"{API_PREFIX}/session": {
            "post": {"summary": "Log in: sets the HttpOnly session cookie", "requestBody": {
                "required": True, "content": session_body},
                "responses": {"200": ok, **errors("bad_json", "bad_request", "login_failed", "login_throttled",
                                                  "json_required", "too_large", "body_timeout")}},
            "get": {"summary": "The logged-in account", "security": _READER,
                    "responses": {"200": ok, **errors("login_required")}},
            "delete": {"summary": "Log out", "responses": {"200": ok}}},
        "/": {"get": {"summary": "Redirects to the dashboard", "responses": {"302": {"description": "/dashboard/"}}}},
        "/dashboard/fonts/{name}": {"get": {
            "summary": "Fonts for Tibetan script and emoji (fonts.css and WOFF2 files), shared with the township page",
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "the file"}, **errors("not_found")}}},
        "/dashboard/{path}": {"get": {
            "summary": "The dashboard page and its local assets (no CDN)",
            "parameters": [{"name": "path", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": ok, **errors("not_found")}}},
    }


SECURITY_SCHEMES = {"dashboardSession": {"type": "apiKey", "in": "cookie", "name": "county_session",
                                         "description": "Set by POST /api/v1/session; ends after "
                                                        "[dashboard] session_idle_minutes without use, and "
                                                        "session_max_hours after the login"}}
