"""Who is asking: staff sign-in for the local API and page (rules in `agent.staff`). HTTP only.

Every `/api/` route but the sign-in itself needs a staff member once the township has one:
- the page: the session cookie of `POST /api/session` (HttpOnly, SameSite=Strict, Path=/);
- scripts: the staff credential with each request, `Authorization: Basic` (`curl -u 工号:密码`);
- the PC's own command line (`township-agent status`, `sync`): the operations token the agent writes next to its
  database at start (mode 0600), for `GET /api/status` and `POST /api/sync` only, which name no staff member.
The staff member's id goes into every event the request makes (`agent.staff.SIGNED_IN`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from aiohttp import web

from agent.errors import InvalidInput, StaffRefused
from agent.http.api import code_response, json_body
from agent.staff import SESSION_MAX_S, SIGNED_IN, StaffDesk, public
from protocol.messages import StaffMember

log = logging.getLogger(__name__)

DESK = web.AppKey("staff_desk", StaffDesk)
OPS_TOKEN = web.AppKey("ops_token", str)
STAFF: web.RequestKey[StaffMember | None] = web.RequestKey("staff")  # the signed-in staff member, or None
COOKIE = "staff_session"
# The rating screen (评价屏) faces the resident, often in a browser of its own: it sees a handed-over case's item and
# staff name only, and its tap rates only the case a signed-in staff member handed over (`agent.rating_desk`).
OPEN_PATHS = frozenset({"/api/session", "/api/rate/current", "/api/rate/give"})
OPS_ROUTES = frozenset({("GET", "/api/status"), ("POST", "/api/sync")})

routes = web.RouteTableDef()


def ops_token_path(database: Path) -> Path:
    return database.with_name(database.name + ".ops-token")


def ensure_ops_token(database: Path) -> str:
    """The operations token of this PC, made on first start, readable only by the agent's user."""
    path = ops_token_path(database)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def refused(e: StaffRefused) -> web.Response:
    response = code_response(e.code, e.detail)
    if e.retry_after_s is not None:
        response.headers["Retry-After"] = str(e.retry_after_s)
    return response


def _basic(header: str) -> tuple[str, str] | None:
    if not header.lower().startswith("basic "):
        return None
    try:
        staff_id, _, secret = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return staff_id, secret


@web.middleware
async def signin_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith("/api/") or request.path in OPEN_PATHS:
        return await handler(request)
    desk = request.app[DESK]
    member: StaffMember | None = None
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        if hmac.compare_digest(header[7:].strip().encode(), request.app[OPS_TOKEN].encode()) \
                and (request.method, request.path) in OPS_ROUTES:
            request[STAFF] = None
            return await handler(request)
        return code_response("sign_in_required", "the operations token opens only GET /api/status, POST /api/sync")
    if header:
        pair = _basic(header)
        if pair is None:
            return code_response("sign_in_required", "Authorization: expected Basic 工号:密码")
        try:
            member = await desk.sign_in(*pair)
        except StaffRefused as e:
            return refused(e)
    elif COOKIE in request.cookies:
        member = await desk.session_member(request.cookies[COOKIE])
    if member is None and await desk.is_required():
        return code_response("sign_in_required")
    request[STAFF] = member
    token = SIGNED_IN.set(member.staff_id if member else None)
    try:
        return await handler(request)
    finally:
        SIGNED_IN.reset(token)


def signed_in(request: web.Request) -> StaffMember | None:
    return request.get(STAFF)


@routes.get("/api/session")
async def session(request: web.Request) -> web.Response:
    """Whether sign-in is needed, and who is signed in on this page (null: nobody)."""
    desk = request.app[DESK]
    token = request.cookies.get(COOKIE)
    member = await desk.session_member(token) if token else None
    return web.json_response({"required": await desk.is_required(), "staff": public(member) if member else None})


@routes.post("/api/session")
async def sign_in(request: web.Request) -> web.Response:
    body = await json_body(request)
    staff_id, secret = body.get("staff_id"), body.get("secret")
    if not isinstance(staff_id, str) or not staff_id or not isinstance(secret, str) or not secret:
        raise InvalidInput("请输入工号和密码", {k: "必填" for k in ("staff_id", "secret") if not body.get(k)})
    desk = request.app[DESK]
    try:
        member = await desk.sign_in(staff_id.strip(), secret)
    except StaffRefused as e:
        return refused(e)
    response = web.json_response({"staff": public(member)})
    response.set_cookie(COOKIE, desk.open_session(member), httponly=True, samesite="Strict", path="/",
                        max_age=SESSION_MAX_S)
    return response


@routes.post("/api/session/end")
async def sign_out(request: web.Request) -> web.Response:
    token = request.cookies.get(COOKIE)
    if token:
        request.app[DESK].end_session(token)
    response = web.json_response({"staff": None})
    response.del_cookie(COOKIE, path="/")
    return response


# ---- the township's staff list ---------------------------------------------------------------------------------


@routes.get("/api/staff")
async def staff_list(request: web.Request) -> web.Response:
    return web.json_response({"staff": [public(m) for m in await request.app[DESK].store.staff_members()]})


@routes.post("/api/staff")
async def staff_add(request: web.Request) -> web.Response:
    """A new staff member: the lead only."""
    body = await json_body(request)
    try:
        member = await request.app[DESK].add(_actor(request), _text(body, "staff_id"), _text(body, "name"),
                                             _text(body, "role") or "clerk", _text(body, "secret"))
    except StaffRefused as e:
        return refused(e)
    return web.json_response({"staff": public(member)}, status=201)


@routes.post("/api/staff/{staff_id}")
async def staff_change(request: web.Request) -> web.Response:
    """Change a staff member (name, role, PIN, disabled): the lead; a clerk only their own PIN."""
    body = await json_body(request)
    disabled = body.get("is_disabled")
    if disabled is not None and not isinstance(disabled, bool):
        raise InvalidInput("is_disabled 应为 true 或 false", {"is_disabled": "应为 true 或 false"})
    try:
        member = await request.app[DESK].change(
            _actor(request), request.match_info["staff_id"], name=_text(body, "name", None),
            role=_text(body, "role", None), secret=_text(body, "secret", None), is_disabled=disabled)
    except StaffRefused as e:
        return refused(e)
    return web.json_response({"staff": public(member)})


def _actor(request: web.Request) -> StaffMember:
    """The signed-in staff member who manages the list; before any exists only the command line may add one."""
    member = signed_in(request)
    if member is None:
        raise StaffRefused("lead_required", "set up the first lead with `township-agent staff add --lead`")
    return member


def _text(body: dict[str, Any], key: str, default: str | None = "") -> Any:
    """The text field `key`; `default` when it is missing or null (a required one then fails as empty)."""
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidInput(f"{key} 应为文字", {key: "应为文字"})
    return value

