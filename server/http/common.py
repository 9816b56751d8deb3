"""What every route shares: the app keys, JSON answers, the error middleware, and the server-time header."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections import Counter
from typing import Any

import msgspec
from aiohttp import web

from ops import metrics
from ops.tls import peer_sha256
from protocol.codes import CODES, message_of
from protocol.messages import ErrorBody, encoder
from server.accounts.agents import Authenticator, bearer_token
from server.accounts.audit import AuditTrail
from server.accounts.roles import Reader
from server.accounts.users import Accounts
from server.clock import Clock, now_ms
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
CLOCK = web.AppKey("clock", Clock)  # now, and today in the county's zone (`[server] time_zone`)
ACCOUNTS = web.AppKey("accounts", Accounts)
AUDIT = web.AppKey("audit", AuditTrail)
COOKIE = "county_session"

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
        response = error_response(code, f"{exc.status} {exc.reason}: {request.method} {request.path}")
        if "Allow" in exc.headers:  # a 405 names the methods the resource takes (RFC 9110)
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception:
        log.exception("request failed method=%s path=%s", request.method, request.path)
        return error_response("internal")


async def stamp_server_time(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer, errors included, tells the server's clock: the agent measures its offset on each exchange."""
    response.headers["X-Server-Time-Ms"] = str(now_ms())


def client_address(request: web.Request) -> str:
    """Where a request comes from, for login throttling, the audit log and logs: the peer's address, or behind the
    trusted proxy the address it forwarded (`forwarded_middleware`)."""
    return request.remote or "unknown"


async def require_agent(request: web.Request) -> AgentRecord:
    agent = await request.app[AUTH].agent(bearer_token(request.headers.get("Authorization")))
    if agent is None:
        raise ApiError("unauthorized")
    if agent.revoked_at is not None:
        raise ApiError("agent_revoked", f"{agent.agent_id} was revoked at {agent.revoked_at}")
    config = request.app[CONFIG]
    if config.tls_client_ca_file is not None:
        await _check_client_cert(request, agent, config.tls_require_client_cert)
    return agent


async def _check_client_cert(request: web.Request, agent: AgentRecord, required: bool) -> None:
    """A PC bound to a client certificate must present it (verified by the handshake against [tls] client_ca_file):
    a stolen token alone, or with another PC's certificate, opens nothing."""
    bound = await request.app[STORE].agent_cert(agent.agent_id)
    presented = peer_sha256(request.transport)
    if bound is None:
        if required:
            raise ApiError("client_cert_required", f"{agent.agent_id} has no certificate bound "
                                                   "([tls] require_client_cert = true)")
        return
    if presented is None:
        raise ApiError("client_cert_required", f"{agent.agent_id} is bound to a certificate; none was presented")
    if not hmac.compare_digest(presented, bound):
        log.warning("client certificate mismatch agent_id=%s presented_sha256=%s", agent.agent_id, presented[:16])
        raise ApiError("client_cert_mismatch", f"the certificate presented is not {agent.agent_id}'s")


@web.middleware
async def forwarded_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Behind the configured TLS reverse proxy ([server] trusted_proxy), and only for requests from its address:
    the scheme of X-Forwarded-Proto (so cookies are Secure and HSTS is sent under HTTPS) and the client address the
    proxy appended last to X-Forwarded-For. From anyone else those headers are ignored: a client cannot claim to
    be another address. Every HTTPS answer carries Strict-Transport-Security."""
    config = request.app[CONFIG]
    if config.trusted_proxy and request.remote == config.trusted_proxy:
        changes: dict[str, Any] = {}
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
        if proto in ("http", "https"):
            changes["scheme"] = proto
        forwarded_for = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
        if forwarded_for and _is_ip(forwarded_for):
            changes["remote"] = forwarded_for
        if changes:
            request = request.clone(**changes)
    if not request.secure:
        return await handler(request)
    hsts = f"max-age={config.tls_hsts_max_age_s}"
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # a redirect
        exc.headers["Strict-Transport-Security"] = hsts
        raise
    response.headers["Strict-Transport-Security"] = hsts
    return response


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


async def require_reader(request: web.Request) -> Reader:
    """The reader: a live dashboard session's account (name, role, township), or the admin token (a county admin
    named "admin"). Raises login_required."""
    reader = await request.app[ACCOUNTS].reader_of(request.cookies.get(COOKIE))
    if reader is not None:
        return reader
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer ") and request.app[AUTH].is_admin(header[7:].strip()):
        return Reader("admin")
    raise ApiError("login_required")


async def require_admin(request: web.Request) -> None:
    """The admin token, or the session of an account that sees the whole county (a township viewer: 403)."""
    auth = request.app[AUTH]
    token = bearer_token(request.headers.get("Authorization"))
    if auth.is_admin(token):
        return
    reader = await request.app[ACCOUNTS].reader_of(request.cookies.get(COOKIE))
    if reader is not None:
        if reader.sees_county:
            return
        raise ApiError("outside_township", f"{reader.name} reads township {reader.township} on the dashboard")
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
