"""The OpenAPI 3.1 document of the county server's API, generated from the protocol's msgspec types."""

from __future__ import annotations

from typing import Any

import msgspec

from protocol import API_PREFIX, PROTOCOL_VERSION
from protocol.codes import CODES
from protocol.messages import (
    DATA_TYPES,
    ErrorBody,
    Event,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    ReferenceResponse,
    StaffList,
    StaffPush,
    StatsResponse,
)
from server.http import openapi_attachments, openapi_dashboard

_REF = "#/components/schemas/{name}"


# A PC bound to a TLS client certificate and connecting without it ([tls] client_ca_file).
CERT_CODES = ("client_cert_required", "client_cert_mismatch")

def _ref(t: type) -> dict[str, str]:
    return {"$ref": _REF.format(name=t.__name__)}


def _json(t: type) -> dict[str, Any]:
    return {"application/json": {"schema": _ref(t)}}


def _errors(*codes: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for code in codes:
        c = CODES[code]
        entry = out.setdefault(str(c.status), {"description": "", "headers": _TIME_HEADER, "content": _json(ErrorBody)})
        entry["description"] = "; ".join(filter(None, [entry["description"], f"`{code}`: {c.message}"]))
    return out


_TIME_HEADER = {"X-Server-Time-Ms": {"$ref": "#/components/headers/X-Server-Time-Ms"}}


def build_openapi() -> dict[str, Any]:
    data_types = list(DATA_TYPES.values())
    _, components = msgspec.json.schema_components(
        [PushRequest, PushResponse, PullRequest, PullResponse, ErrorBody, ReferenceResponse, StatsResponse, Event,
         StaffPush, StaffList,
         *data_types,
         *openapi_dashboard.TYPES, *openapi_attachments.TYPES],
        ref_template=_REF)
    # On the wire `events` are objects checked one by one (so one bad event is refused alone): document them as
    # Event, and Event.data as the struct of its kind.
    components["PushRequest"]["properties"]["events"]["items"] = _ref(Event)
    components["Event"]["properties"]["data"] = {
        "description": "Fields of the event's kind: " + ", ".join(f"{k.value} -> {t.__name__}"
                                                                 for k, t in DATA_TYPES.items()),
        "oneOf": [_ref(t) for t in data_types]}
    ok = {"description": "OK", "headers": _TIME_HEADER}
    return {
        "openapi": "3.1.0",
        "info": {"title": "County server API (县级政务服务数据汇聚)", "version": str(PROTOCOL_VERSION),
                 "description": "Township agents push case events; the county reads figures per level. Every "
                                "response carries X-Server-Time-Ms; every non-2xx body is an ErrorBody."},
        "paths": {
            f"{API_PREFIX}/sync/push": {"post": {
                "summary": "Push a batch of events (idempotent by event_id; one transaction; ack after commit)",
                "security": [{"agentToken": []}],
                "parameters": [{"name": "Content-Encoding", "in": "header", "required": False,
                                "schema": {"type": "string", "enum": ["gzip", "deflate", "identity"]}}],
                "requestBody": {"required": True, "content": _json(PushRequest)},
                "responses": {"200": {**ok, "content": _json(PushResponse)},
                              **_errors("bad_json", "bad_request", "unauthorized", "agent_mismatch", "agent_revoked",
                                        *CERT_CODES, "too_large", "unsupported_encoding", "body_timeout",
                                        "quota_exceeded", "orphan_quota", "internal")}}},
            f"{API_PREFIX}/sync/pull": {
                method: {
                    "summary": "The township's events of other PCs after a cursor, in the order stored (gzip; "
                               "idempotent by event_id; the last batch carries the township digest)",
                    "security": [{"agentToken": []}],
                    **({"requestBody": {"required": True, "content": _json(PullRequest)}} if method == "post" else {
                        "parameters": [
                            {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
                             "description": "the last cursor applied; empty or absent: from the beginning"},
                            {"name": "limit", "in": "query", "required": False,
                             "schema": {"type": "integer", "minimum": 1, "maximum": 5000, "default": 1000}}]}),
                    "responses": {"200": {**ok, "content": _json(PullResponse)},
                                  **_errors("bad_json", "bad_request", "bad_cursor", "unauthorized", "agent_revoked",
                                            *CERT_CODES, "internal")}}
                for method in ("post", "get")},
            f"{API_PREFIX}/staff": {"post": {
                "summary": "A PC's changes to its township's staff list (scrypt hashes only); answers the whole list",
                "security": [{"agentToken": []}],
                "requestBody": {"required": True, "content": _json(StaffPush)},
                "responses": {"200": {**ok, "content": _json(StaffList)},
                              **_errors("bad_json", "bad_request", "unauthorized", "agent_revoked", "too_large",
                                        "body_timeout", "internal")}}},
            f"{API_PREFIX}/reference": {"get": {
                "summary": "Reference data for the token's township: org units, catalog, calendar",
                "security": [{"agentToken": []}],
                "responses": {"200": {**ok, "content": _json(ReferenceResponse)},
                              **_errors("unauthorized", "agent_revoked", *CERT_CODES)}}},
            f"{API_PREFIX}/stats": {"get": {
                "summary": "Figures per org unit of a level for a period, including units with zero figures",
                "security": [{"adminToken": []}],
                "parameters": [
                    {"name": "level", "in": "query", "required": True,
                     "schema": {"type": "string", "enum": ["county", "township", "village"]}},
                    {"name": "from", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}},
                    {"name": "to", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}},
                    {"name": "org", "in": "query", "required": False,
                     "description": "6/9/12-digit division code prefix, or a 12-digit org unit code",
                     "schema": {"type": "string", "pattern": r"^(\d{6}|\d{9}|\d{12})$"}}],
                "responses": {"200": {**ok, "content": _json(StatsResponse)},
                              **_errors("bad_request", "unauthorized", "forbidden")}}},
            "/healthz": {"get": {
                "summary": "Liveness", "responses": {"200": {**ok, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"status": {"const": "ok"}}, "required": ["status"]}}}}}}},
            "/readyz": {"get": {
                "summary": "Readiness: the database answers a writer and every migration is applied",
                "responses": {"200": ok, "503": {"description": "Not ready; `detail` says why"}}}},
            "/metrics": {"get": {
                "summary": "Prometheus text exposition (requests, ingest, refusals, quotas, agents silent); with the "
                           "[metrics] token, or without one on the metrics listener ([metrics] port)",
                "security": [{"metricsToken": []}],
                "responses": {"200": {**ok, "content": {"text/plain": {"schema": {"type": "string"}}}},
                              **_errors("metrics_token_required")}}},
            f"{API_PREFIX}/openapi.json": {"get": {"summary": "This document", "responses": {"200": ok}}},
            **openapi_dashboard.dashboard_paths(ok, _errors, _json),
            **openapi_attachments.attachment_paths(ok, _errors, _json),
        },
        "components": {
            "schemas": components,
            "headers": {"X-Server-Time-Ms": {"description": "The server's clock, Unix epoch milliseconds: agents "
                                                            "measure their clock offset from it on every exchange.",
                                             "schema": {"type": "integer"}}},
            "securitySchemes": {
                "agentToken": {"type": "http", "scheme": "bearer",
                               "description": "Per-agent token printed once by `county-server agents add`"},
                "adminToken": {"type": "http", "scheme": "bearer",
                               "description": "[server] admin_token of the server config"},
                "metricsToken": {"type": "http", "scheme": "bearer",
                                 "description": "[metrics] token of the server config"},
                **openapi_dashboard.SECURITY_SCHEMES},
        },
    }
