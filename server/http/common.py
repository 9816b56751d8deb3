"""What every route shares: the app keys, JSON answers, the error middleware, and the server-time header."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import msgspec
from aiohttp import web

from ops import metrics
from protocol.codes import CODES, message_of
from protocol.messages import ErrorBody, encoder
from server.accounts.agents import Authenticator, bearer_token
from server.clock import now_ms
from server.config import ServerConfig
from server.errors import ApiError, ClientGone
from server.ingest.ingestor import IngestStats, PushIngest
from server.model.reference import Reference
from server.model.sealing import Keyring
from server.reports.overview import Overview
from server.storage.base import AgentRecord, Store
from server.storage.dashboard import DashboardStore

log = logging.getLogger(__name__)

# The status of a request whose client went away before the answer (nginx's convention; `ops.metrics` counts it so).
CLIENT_CLOSED = int(metrics.CLIENT_CLOSED)

CONFIG = web.AppKey("config", ServerConfig)
REFERENCE = web.AppKey("reference", Reference)
CALENDAR: web.AppKey[dict[str, Any] | None] = web.AppKey("calendar")  # WorkCalendar.to_json(), or None
STORE = web.AppKey("store", Store)
DASHBOARD_STORE = web.AppKey("dashboard_store", DashboardStore)
AUTH = web.AppKey("auth", Authenticator)
INGEST = web.AppKey("ingest", PushIngest)
INGEST_STATS = web.AppKey("ingest_stats", IngestStats)
REFERENCE_CACHE = web.AppKey("reference_cache", dict)  # township code -> ReferenceResponse
KEYS = web.AppKey("keys", Keyring)  # seals ID numbers and phones at rest (server.model.sealing)
QUOTA_REFUSALS = web.AppKey("quota_refusals", Counter)  # quota (events, bytes, orphans) -> pushes refused since start
OVERVIEW = web.AppKey("overview", Overview)  # every figure: the dashboard's and the stats API's

# aiohttp's own HTTP errors (router, body size) mapped to our codes, so every non-2xx answer is an ErrorBody.
_HTTP_CODES = {400: "bad_json", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
               413: "too_large"}


# After an answer to a request whose body was not read whole, aiohttp reads (and drops) the rest for this long before
# it closes the connection, so that the client sees the answer rather than a reset.
LINGER_S = 2.0


def handler_args(config: ServerConfig) -> dict[str, Any]:
    """How the server's connections are handled (`web.Application(handler_args=...)`, whatever runs the app):
    - no decompression by aiohttp: `server.http.body` decompresses what a route reads, within bounds;
    - a connection gets `header_timeout_s` to send a whole request head after it opened or after its previous answer
      (aiohttp's keep-alive timer, which closes a connection still waiting for a complete request head).
    """
    return {"auto_decompress": False, "keepalive_timeout": float(config.header_timeout_s), "lingering_time": LINGER_S}


def json_response(obj: Any, status: int = 200) -> web.Response:
    return web.Response(body=encoder.encode(obj), status=status, content_type="application/json")


def error_response(code: str, detail: str | None = None, fields: dict[str, str] | None = None) -> web.Response:
    return json_response(ErrorBody(code=code, message=message_of(code), detail=detail, fields=fields),
                         status=CODES[code].status)


# Errors raised before the body was read whole: the connection closes after the answer, so the rest of a big or
# slow body is not waited for (aiohttp reads what is left for a moment, without decompressing it, then closes).
_CLOSING = frozenset({"too_large", "body_timeout", "unsupported_encoding", "json_required"})


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        if "%00" in request.raw_path:  # a NUL in a path or a query value: no file, code or date has one
            raise ApiError("bad_request", "the address contains a NUL character (%00)")
        return await handler(request)
    except ApiError as exc:
        response = error_response(exc.code, exc.detail, exc.fields)
        if exc.retry_after_s is not None:
            response.headers["Retry-After"] = str(exc.retry_after_s)
        if exc.code in _CLOSING:
            response.force_close()
        return response
    except ClientGone as exc:
        log.info("client went away method=%s path=%s detail=%s", request.method, request.path, exc)
        return web.Response(status=CLIENT_CLOSED)  # written to nobody; the metrics count it as 499
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "bad_request")
        return error_response(code, f"{exc.status} {exc.reason}: {request.method} {request.path}")
    except Exception:
        log.exception("request failed method=%s path=%s", request.method, request.path)
        return error_response("internal")


async def stamp_server_time(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer, errors included, tells the server's clock: the agent measures its offset on each exchange."""
    response.headers["X-Server-Time-Ms"] = str(now_ms())


def client_address(request: web.Request) -> str:
    """Where a request comes from, for login throttling and logs: the peer's address. Behind a reverse proxy that is
    the proxy's (a trusted proxy's X-Forwarded-For is not read yet)."""
    return request.remote or "unknown"


async def require_agent(request: web.Request) -> AgentRecord:
    agent = await request.app[AUTH].agent(bearer_token(request.headers.get("Authorization")))
    if agent is None:
        raise ApiError("unauthorized")
    if agent.revoked_at is not None:
        raise ApiError("agent_revoked", f"{agent.agent_id} was revoked at {agent.revoked_at}")
    return agent


async def require_admin(request: web.Request) -> None:
    auth = request.app[AUTH]
    token = bearer_token(request.headers.get("Authorization"))
    if auth.is_admin(token):
        return
    if await auth.agent(token) is not None:
        raise ApiError("forbidden", "an agent token cannot read county figures; use the admin token")
    raise ApiError("unauthorized", "send Authorization: Bearer <[server] admin_token of the server config>")


def decode(body: bytes, kind: type) -> Any:
    """Strict decode of a request body: malformed JSON -> bad_json, wrong shape -> bad_request."""
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise ApiError("bad_request", str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ApiError("bad_json", str(exc)) from None
    except RecursionError:
        raise ApiError("bad_json", "the JSON is nested too deeply") from None
