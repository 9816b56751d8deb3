"""The agent's local JSON API on 127.0.0.1; the web page uses the same routes. HTTP only: no rules here."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from typing import Any

import msgspec
from aiohttp import web

from agent import __version__
from agent.errors import CaseNotFound, ConflictNotFound, InvalidInput, StaffRefused
from agent.service import CaseService
from agent.store import AgentStore
from agent.sync.syncer import Syncer
from protocol import PROTOCOL_VERSION
from protocol.codes import staff_message, status_of
from protocol.lifecycle import Case
from protocol.messages import ErrorBody

log = logging.getLogger(__name__)

STORE = web.AppKey("store", AgentStore)
SERVICE = web.AppKey("service", CaseService)
SYNCER = web.AppKey("syncer", Syncer)
INFO = web.AppKey("info", dict)

routes = web.RouteTableDef()


def error_response(status: int, code: str, message: str, fields: dict[str, str] | None = None, *,
                   detail: str | None = None) -> web.Response:
    body = msgspec.json.encode(ErrorBody(code=code, message=message, detail=detail, fields=fields or None))
    return web.Response(status=status, body=body, content_type="application/json")


def code_response(code: str, detail: str | None = None) -> web.Response:
    """The answer for `code` of protocol.codes, with its Chinese message."""
    return error_response(status_of(code), code, staff_message(code), detail=detail)


# aiohttp's own HTTP errors (router, body size) as codes with a Chinese message, like every other answer.
_HTTP_CODES = {400: "bad_json", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}


@web.middleware
async def errors_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except InvalidInput as e:
        return error_response(status_of(e.code), e.code, e.message, e.fields, detail=e.detail)
    except CaseNotFound as e:
        return error_response(404, "case_not_found", f"没有找到办件 {e.case_id}")
    except ConflictNotFound:
        return code_response("conflict_not_found")
    except StaffRefused as e:
        return code_response(e.code, e.detail)
    except web.HTTPException as e:
        if e.status >= 400 and request.path.startswith("/api/"):
            code = _HTTP_CODES.get(e.status)
            if code == "too_large":
                return error_response(413, code, "请求内容太大，没有保存", detail=f"{e.status} {e.reason}")
            if code is not None:
                return code_response(code, f"{e.status} {e.reason}: {request.method} {request.path}")
            return error_response(e.status, "bad_request", "请求无效", detail=f"{e.status} {e.reason}")
        raise
    except Exception as e:
        log.exception("request failed method=%s path=%s", request.method, request.path)
        if not request.path.startswith("/api/"):
            raise
        return code_response("agent_failed", f"{type(e).__name__}: {e}")


def case_json(case: Case) -> dict[str, Any]:
    out = msgspec.to_builtins(case)
    out["is_on_time"] = case.is_on_time
    out["calendar_missing"] = case.due_on is None and case.state == "in_progress"
    return out


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput("请求内容不是有效的 JSON") from None
    except RecursionError:
        raise InvalidInput("请求内容嵌套过深") from None
    if not isinstance(body, dict):
        raise InvalidInput("请求内容应为 JSON 对象")
    return body


@routes.post("/api/cases")
async def create_case(request: web.Request) -> web.Response:
    case = await request.app[SERVICE].accept(await json_body(request))
    return web.json_response(case_json(case), status=201)


@routes.post("/api/cases/{case_id}/events")
async def add_event(request: web.Request) -> web.Response:
    body = await json_body(request)
    kind = body.get("kind")
    if not isinstance(kind, str):
        raise InvalidInput("请说明操作类型 kind", {"kind": "缺少操作类型"})
    data = body.get("data") or {}
    if not isinstance(data, dict):
        raise InvalidInput("data 应为 JSON 对象")
    service, case_id = request.app[SERVICE], request.match_info["case_id"]
    case = await (service.correct(case_id, data) if kind == "corrected" else service.act(case_id, kind, data))
    return web.json_response(case_json(case), status=201)


@routes.get("/api/cases")
async def list_cases(request: web.Request) -> web.Response:
    try:
        limit = max(1, min(int(request.query.get("limit", "200")), 1000))
    except ValueError:
        raise InvalidInput("limit 应为整数", {"limit": "应为整数"}) from None
    found = await request.app[STORE].list_cases(
        open_only=request.query.get("open") in ("1", "true"), query=request.query.get("q") or None, limit=limit
    )
    return web.json_response({"cases": [case_json(c) for c in found]})


@routes.get("/api/cases/{case_id}")
async def get_case(request: web.Request) -> web.Response:
    case = await request.app[STORE].get_case(request.match_info["case_id"])
    if case is None:
        raise CaseNotFound(request.match_info["case_id"])
    return web.json_response(case_json(case))


@routes.get("/api/status")
async def status(request: web.Request) -> web.Response:
    return web.json_response(await status_body(request.app))


async def status_body(app: web.Application) -> dict[str, Any]:
    store, syncer = app[STORE], app[SYNCER]
    meta = await store.get_meta()
    offset = meta.get("clock_offset_ms")
    agrees = meta.get("digest_agrees")
    return {
        "agent_id": syncer.agent_id,
        "township": app[INFO]["township_code"],
        "version": __version__,
        "protocol_version": PROTOCOL_VERSION,
        "pending": await store.count_pending(),
        # This PC's events the county could not apply (县级未采纳), open ones: settle them on the case.
        "conflicts": [msgspec.to_builtins(c) for c in await store.open_conflicts(syncer.agent_id, limit=100)],
        "pull": {"cursor": meta.get("pull_cursor") or None, "last_pull_at": meta.get("last_pull_at") or None,
                 "pulled_since_start": syncer.pulled_total},
        # The township digest compared with the county's at the last sync that had nothing left to push.
        "digest": {"agrees": None if not agrees else agrees == "1", "local": meta.get("digest_local") or None,
                   "county": meta.get("digest_county") or None, "checked_at": meta.get("digest_checked_at") or None,
                   "repulls_since_start": syncer.repulls},
        "batch_size": {"push": syncer.push_batch.size, "pull": syncer.pull_batch.size},
        "quarantined": [
            {"seq": q.seq, "event_id": q.event_id, "case_id": q.case_id, "kind": q.kind, "code": q.code,
             "message": q.message, "data": q.data}
            for q in await store.quarantined()
        ],
        # Scanned materials still to go to the county (they go after their case's events, in a lane of their own).
        "attachments": {"pending": await store.count_attachments_pending(),
                        "uploading": bool(syncer.attachments and syncer.attachments.is_running),
                        "last_error": syncer.attachments.last_error if syncer.attachments else None},
        "last_sync_at": meta.get("last_sync_at") or None,
        "last_attempt_at": meta.get("last_attempt_at") or None,
        "last_error": meta.get("last_error") or None,  # the technical text, for ops
        "last_error_code": meta.get("last_error_code") or None,
        "last_error_message": staff_message(meta["last_error_code"]) if meta.get("last_error_code") else None,
        "clock_offset_ms": int(offset) if offset else None,
        "reference_version": syncer.reference.version if syncer.reference else None,
        "county_url": app[INFO]["county_url"],
    }


@routes.post("/api/sync")
async def sync_now(request: web.Request) -> web.Response:
    max_batches = request.query.get("max_batches")
    if max_batches is not None and not max_batches.isdigit():
        raise InvalidInput("max_batches 应为正整数", {"max_batches": "应为正整数"})
    syncer = request.app[SYNCER]
    summary = await syncer.sync_once(max_batches=int(max_batches) if max_batches else None)
    reason = staff_message(summary.error_code) if summary.error_code else None
    answer = msgspec.to_builtins(summary) | {"ok": summary.is_ok, "error_message": reason}
    if request.query.get("attachments") in ("1", "true") and summary.is_ok and syncer.attachments is not None:
        # `?attachments=1` (ops, tests): the files' lane too, after the events, and its summary.
        answer["attachments"] = asdict(await syncer.attachments.upload_once())
    return web.json_response(answer)


@routes.get("/api/reference")
async def reference(request: web.Request) -> web.Response:
    ref = request.app[SYNCER].reference
    if ref is None:
        return code_response("no_reference")
    return web.json_response({
        "version": ref.version,
        "township": msgspec.to_builtins(ref.township),
        "org_units": [msgspec.to_builtins(o) for o in ref.org_units.values()],
        "items": [msgspec.to_builtins(i) for i in ref.items.values()],
        "has_calendar": ref.calendar is not None,
    })


@routes.get("/api/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    from agent.http.openapi import build_openapi  # built at the first ask, then kept

    return web.json_response(build_openapi())


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})
