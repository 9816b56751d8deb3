"""The county dashboard over HTTP: login sessions, figures, lists, exports, and the page itself.

Readers are dashboard sessions (cookie) or the admin token (bearer). Every figure route takes `org` (6/9/12-digit
code; default the county), `period` (YYYY, YYYY-Qn, YYYY-MM, YYYY-MM-DD) or `from`/`to`, and `as_of`.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from aiohttp import web
from prometheus_client.context_managers import Timer

from ops.fonts import font_response
from ops.metrics import route_of
from protocol import API_PREFIX
from protocol.messages import OrgUnit
from protocol.vocabulary import Level
from server.accounts.audit import details
from server.accounts.roles import COUNTY_ADMIN, Reader
from server.accounts.users import NAME_CHARS
from server.errors import ApiError, invalid_filter
from server.http.body import read_body
from server.http.common import (
    ACCOUNTS,
    AUDIT,
    CLOCK,
    CONFIG,
    COOKIE,
    OVERVIEW,
    REFERENCE,
    client_address,
    decode,
    json_response,
    require_reader,
)
from server.http.health import INSTRUMENTS
from server.reports.casepage import CasePages
from server.reports.exports import Table, to_csv, to_xlsx
from server.reports.followups import FollowUps
from server.reports.items import items_report
from server.reports.report import Reports
from server.reports.scope import Scope, parse_scope
from server.reports.tables import (
    TABLES,
    agents_table,
    breakdown_table,
    cases_table,
    conflicts_table,
    follow_ups_table,
    items_table,
    report_table,
    summary_table,
    units_table,
)
from server.reports.worklists import Worklists
from server.storage.dashboard import CASE_FIGURES

routes = web.RouteTableDef()
WORKLISTS = web.AppKey("worklists", Worklists)
REPORTS = web.AppKey("reports", Reports)
CASE_PAGES = web.AppKey("case_pages", CasePages)
FOLLOW_UPS = web.AppKey("follow_ups", FollowUps)
__all__ = ["ACCOUNTS", "CASE_PAGES", "COOKIE", "FOLLOW_UPS", "REPORTS", "WORKLISTS", "routes"]
WEB = Path(__file__).resolve().parent.parent / "web"
FIGURE_LABELS = {
    "accepted": "受理", "online": "网上受理", "in_progress": "在办", "completed": "办结",
    "completed_on_time": "按时办结", "completed_late": "超期办结", "completed_no_due_date": "办结(无期限)",
    "trips_le1": "最多跑一次办结", "rejected": "不予受理", "withdrawn": "撤回", "evaluations": "评价",
    "good_ratings": "好评", "bad_ratings": "差评", "bad_pending": "差评待回访", "bad_followed_up": "差评已回访",
    "overdue_open": "超期未办结", "due_soon": "即将到期"}


# A login body holds a name (64 characters) and a password (1024): room for both even with every character sent as a
# JSON escape, so that any well-formed login is read and a too-long field gets its 422, not a 413.
LOGIN_BODY_BYTES = 16 * 1024


class Login(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(max_length=NAME_CHARS)]
    password: Annotated[str, msgspec.Meta(max_length=1024)]  # longer than any password set, so none is cut


class SessionInfo(msgspec.Struct, omit_defaults=False):
    account: str
    idle_minutes: int
    county: str
    county_code: str
    max_hours: int = 12  # the session ends this long after the login however busy
    role: str = "county_admin"  # `server.accounts.roles`
    township_code: str | None = None  # a township viewer's township: the page starts there
    township_name: str | None = None


async def require_admin(request: web.Request) -> str:
    """The name of a reader whose role may give correction grants: a county admin (or the admin token). Raises
    forbidden."""
    reader = await require_reader(request)
    if reader.role != COUNTY_ADMIN:
        raise ApiError("forbidden", "只有县级管理员可以授权更正")
    return reader.name


def _timed(request: web.Request) -> Timer:
    """Times the figures or list of a dashboard route into county_server_dashboard_query_duration_seconds."""
    return request.app[INSTRUMENTS].dashboard_seconds.labels(route_of(request)).time()


async def _scope(request: web.Request, reader: Reader) -> Scope:
    """The org unit, period and as_of of a figure request, confined to what the reader may see: a township viewer
    reads its township by default, and 403 outside_township for any other unit."""
    query = dict(request.query)
    try:
        org = reader.confine_org(query.get("org"))
    except ValueError:
        await request.app[AUDIT].record("access_refused", actor=reader.name, role=reader.role,
                                        address=client_address(request), outcome="refused", target=request.path,
                                        detail=details(org=query.get("org", "")[:40]))
        raise ApiError("outside_township", f"账号 {reader.name} 只能查看本乡镇（{reader.township}）的数据") from None
    if org is not None:
        query["org"] = org
    return parse_scope(query, request.app[REFERENCE], request.app[CLOCK].today())


def _has_period(request: web.Request) -> bool:
    return any(k in request.query for k in ("period", "from", "to"))


def _level(request: web.Request) -> Level:
    value = request.query.get("level", "township")
    try:
        return Level(value)
    except ValueError:
        raise invalid_filter("level", f"层级「{value}」无效：应为 prefecture（市州）、county（县）、"
                                      "township（乡镇）或 village（村）") from None


# ---- session -------------------------------------------------------------------------------------------------

@routes.post(f"{API_PREFIX}/session")
async def login(request: web.Request) -> web.Response:
    # JSON only: a form or text/plain body is what another site's page can send without asking (CSRF).
    if request.content_type != "application/json":
        raise ApiError("json_required", f"Content-Type: {request.content_type}")
    config = request.app[CONFIG]
    body = decode(await read_body(request, LOGIN_BODY_BYTES, config.body_timeout_s), Login)
    token = await request.app[ACCOUNTS].login(body.name, body.password, client_address(request))
    if token is None:
        raise ApiError("login_failed")
    reader = await request.app[ACCOUNTS].reader_of(token)
    response = json_response(_session_info(request, reader or Reader(body.name)))
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=request.secure, path="/")
    return response


@routes.get(f"{API_PREFIX}/session")
async def session(request: web.Request) -> web.Response:
    return json_response(_session_info(request, await require_reader(request)))


@routes.delete(f"{API_PREFIX}/session")
async def logout(request: web.Request) -> web.Response:
    await request.app[ACCOUNTS].logout(request.cookies.get(COOKIE), client_address(request))
    response = json_response({"account": None})
    response.del_cookie(COOKIE, path="/")
    return response


def _session_info(request: web.Request, reader: Reader) -> SessionInfo:
    reference = request.app[REFERENCE]
    county = reference.county
    accounts = request.app[ACCOUNTS]
    township = reference.org_units.get(f"{reader.township}000") if reader.township else None
    return SessionInfo(account=reader.name, idle_minutes=int(accounts.idle.total_seconds() // 60), county=county.name,
                       county_code=county.code, max_hours=int(accounts.max_age.total_seconds() // 3600),
                       role=reader.role, township_code=reader.township,
                       township_name=township.name if township else None)


# ---- figures and lists ---------------------------------------------------------------------------------------

@routes.get(f"{API_PREFIX}/overview")
async def overview(request: web.Request) -> web.Response:
    scope = await _scope(request, await require_reader(request))
    with _timed(request):
        answer = await request.app[OVERVIEW].overview(scope)
    return json_response(answer)


@routes.get(f"{API_PREFIX}/units")
async def units(request: web.Request) -> web.Response:
    scope, level = await _scope(request, await require_reader(request)), _level(request)
    with _timed(request):
        answer = await request.app[OVERVIEW].units(scope, level)
    return json_response(answer)


@routes.get(f"{API_PREFIX}/summary")
async def summary(request: web.Request) -> web.Response:
    scope = await _scope(request, await require_reader(request))
    with _timed(request):
        answer = await request.app[OVERVIEW].summary(scope)
    return json_response(answer)


@routes.get(f"{API_PREFIX}/report")
async def report(request: web.Request) -> web.Response:
    scope = await _scope(request, await require_reader(request))
    with _timed(request):
        answer = await request.app[REPORTS].report(scope, request.query)
    return json_response(answer)


@routes.get(f"{API_PREFIX}/cases")
async def cases(request: web.Request) -> web.Response:
    scope = await _scope(request, await require_reader(request))
    with _timed(request):
        answer = await request.app[WORKLISTS].cases(scope, request.query, has_period=_has_period(request))
    return json_response(answer)


@routes.get(API_PREFIX + "/cases/{case_id}")
async def case_page(request: web.Request) -> web.Response:
    """One case: its fields (certificate masked), its whole history and its conflicts."""
    scope = await _scope(request, await require_reader(request))
    with _timed(request):
        answer = await request.app[CASE_PAGES].case(scope, request.match_info["case_id"])
    return json_response(answer)


class GrantRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=500)]


@routes.post(API_PREFIX + "/cases/{case_id}/grants")
async def grant(request: web.Request) -> web.Response:
    """A county admin allows the township's PCs to correct the figure fields of a closed or rated case."""
    account = await require_admin(request)
    if request.content_type != "application/json":
        raise ApiError("json_required", f"Content-Type: {request.content_type}")
    config = request.app[CONFIG]
    body = decode(await read_body(request, LOGIN_BODY_BYTES, config.body_timeout_s), GrantRequest)
    reader = await require_reader(request)
    scope = await _scope(request, reader)
    case_id = request.match_info["case_id"]
    audit = {"actor": account, "role": reader.role, "address": client_address(request), "target": case_id[:64]}
    try:
        answer = await request.app[CASE_PAGES].grant(scope, case_id, body.reason, account)
    except ApiError as exc:
        await request.app[AUDIT].record("correction_granted", outcome="refused", **audit,
                                        detail=details(code=exc.code, reason=body.reason[:200]))
        raise
    await request.app[AUDIT].record("correction_granted", **audit, detail=details(reason=body.reason[:200]))
    return json_response(answer, status=201)


@routes.get(f"{API_PREFIX}/search")
async def search(request: web.Request) -> web.Response:
    """Cases by number, applicant name, certificate number (or its last 4) or phone."""
    scope = await _scope(request, await require_reader(request))
    with _timed(request):
        answer = await request.app[CASE_PAGES].search(scope, request.query.get("q", ""))
    return json_response(answer)


@routes.get(f"{API_PREFIX}/agents")
async def agents(request: web.Request) -> web.Response:
    reader = await require_reader(request)
    with _timed(request):
        answer = await request.app[WORKLISTS].agents(request.app[CLOCK].utc(), township_code=reader.township)
    return json_response(answer)


@routes.get(f"{API_PREFIX}/conflicts")
async def conflicts(request: web.Request) -> web.Response:
    scope = await _scope(request, await require_reader(request))
    with _timed(request):
        answer = await request.app[WORKLISTS].conflicts(scope, request.query)
    return json_response(answer)


@routes.get(f"{API_PREFIX}/follow-ups")
async def follow_ups(request: web.Request) -> web.Response:
    scope = await _scope(request, await require_reader(request))
    with _timed(request):
        answer = await request.app[FOLLOW_UPS].list(scope, request.query)
    return json_response(answer)


@routes.get(f"{API_PREFIX}/items")
async def items(request: web.Request) -> web.Response:
    scope = await _scope(request, await require_reader(request))
    return json_response(items_report(request.app[REFERENCE], request.app[OVERVIEW].definitions, scope.as_of))


@routes.get(f"{API_PREFIX}/org-units")
async def org_units(request: web.Request) -> web.Response:
    reader = await require_reader(request)
    reference = request.app[REFERENCE]
    below: dict[str, list[OrgUnit]] = {}
    for u in sorted(reference.org_units.values(), key=lambda u: u.code):
        if u.parent is not None:
            below.setdefault(u.parent, []).append(u)

    def visible(u: OrgUnit) -> bool:
        # a township viewer sees the units above its township (for the path) and only its township below them
        return reader.sees_county or u.level not in (Level.TOWNSHIP, Level.VILLAGE) or reader.allows_org(u.code)

    def node(u: OrgUnit) -> dict[str, Any]:
        if u.level == Level.VILLAGE:
            return {"code": u.code, "name": u.name, "level": u.level, "kind": u.kind}
        return {"code": u.code, "name": u.name, "level": u.level, "kind": u.kind,
                "children": [node(c) for c in below.get(u.code, []) if visible(c)]}

    return json_response(node(reference.root))  # the server's top unit down to the villages


@routes.get(API_PREFIX + "/export/{table}")
async def export(request: web.Request) -> web.Response:
    reader = await require_reader(request)
    name, fmt = request.match_info["table"], request.query.get("format", "xlsx")
    if request.query.get("figure", "accepted") not in CASE_FIGURES:  # any table checks it, not only cases
        raise invalid_filter("figure", f"没有「{request.query['figure'][:40]}」这个指标的办件清单")
    if name not in TABLES or fmt not in ("xlsx", "csv"):
        raise ApiError("bad_request", f"export/{name}?format={fmt}: expected a table of {', '.join(TABLES)} and "
                                      "format xlsx or csv")
    audit = request.app[AUDIT]
    with _timed(request):
        table = await _table(request, reader, name)
    await audit.record("export", actor=reader.name, role=reader.role, address=client_address(request),
                       target=f"{name}.{fmt}", detail=details(query=request.query_string[:500], rows=len(table.rows)))
    return table_response(table, fmt)


def table_response(table: Table, fmt: str) -> web.Response:
    """A table as an XLSX or CSV download named for it."""
    if fmt == "xlsx":
        body, content_type = to_xlsx(table), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body, content_type = to_csv(table), "text/csv"
    filename = f"{table.name}.{fmt}"
    return web.Response(body=body, content_type=content_type, charset="utf-8" if fmt == "csv" else None, headers={
        "Content-Disposition": f"attachment; filename=\"export.{fmt}\"; filename*=UTF-8''{quote(filename)}"})


async def _table(request: web.Request, reader: Reader, name: str) -> Table:
    scope = await _scope(request, reader)
    o = request.app[OVERVIEW]
    if name == "units":
        if "level" in request.query:
            return units_table(await o.units(scope, _level(request)))
        return units_table(await o.overview(scope))
    if name in ("categories", "channels", "trend"):
        return breakdown_table(await o.overview(scope), name)
    if name == "summary":
        return summary_table(await o.summary(scope))
    if name == "report":
        return report_table(await request.app[REPORTS].report(scope, request.query))
    if name == "agents":
        return agents_table(await request.app[WORKLISTS].agents(request.app[CLOCK].utc(),
                                                                township_code=reader.township))
    query = dict(request.query)
    query.setdefault("limit", "500")
    if name == "conflicts":
        return conflicts_table(await request.app[WORKLISTS].conflicts(scope, query))
    if name == "items":
        return items_table(items_report(request.app[REFERENCE], o.definitions, scope.as_of))
    if name == "follow_ups":
        return follow_ups_table(await request.app[FOLLOW_UPS].list(scope, query))
    listed = await request.app[WORKLISTS].cases(scope, query, has_period=_has_period(request))
    label = f"{scope.unit.name}{FIGURE_LABELS.get(listed.figure, listed.figure)}办件清单"
    return cases_table(listed, label)


# ---- the page ------------------------------------------------------------------------------------------------

@routes.get("/")
async def root(request: web.Request) -> web.Response:
    raise web.HTTPFound("/dashboard/")


@routes.get("/dashboard/fonts/{name}")
async def font(request: web.Request) -> web.StreamResponse:
    """The fonts for Tibetan script and emoji, shared with the township page (ops/fonts); fetched only when shown."""
    response = font_response(request.match_info["name"])
    if response is None:
        raise ApiError("not_found", f"/dashboard/fonts/{request.match_info['name']}")
    return response


@routes.get("/dashboard/{path:.*}")
async def page(request: web.Request) -> web.StreamResponse:
    """The dashboard's HTML, scripts, styles and message catalogs: all local, nothing from the internet."""
    relative = request.match_info["path"] or "index.html"
    try:
        path = (WEB / relative).resolve()
        if not path.is_relative_to(WEB) or not path.is_file():
            raise ApiError("not_found", f"/dashboard/{relative[:200]}")
    except (OSError, ValueError):  # a name too long for the file system, a NUL
        raise ApiError("not_found", f"/dashboard/{relative[:200]}") from None
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix == ".js":
        content_type = "text/javascript"
    return web.Response(body=path.read_bytes(), content_type=content_type,
                        charset="utf-8" if content_type.startswith(("text/", "application/json")) else None,
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})
