"""`GET /api/v1/audit` and `GET /api/v1/audit/export`: the audit log, for the auditor only (403 auditor_only to
anyone else, the county admin and the admin token included, and that refusal is itself recorded). Reading and
exporting are recorded too."""

from __future__ import annotations

from aiohttp import web

from protocol import API_PREFIX
from server.accounts.audit import ACTIONS, OUTCOMES, details
from server.accounts.roles import Reader
from server.errors import ApiError
from server.http.common import AUDIT, CONFIG, STORE, client_address, json_response, require_reader
from server.http.dashboard import table_response
from server.reports.audit import EXPORT_ROWS, AuditResponse, audit_items, audit_table, parse_audit_query

routes = web.RouteTableDef()


async def _auditor(request: web.Request) -> Reader:
    reader = await require_reader(request)
    if not reader.reads_audit:
        await request.app[AUDIT].record("access_refused", actor=reader.name, role=reader.role,
                                        address=client_address(request), outcome="refused", target=request.path)
        raise ApiError("auditor_only", f"{reader.name} is a {reader.role}")
    return reader


@routes.get(f"{API_PREFIX}/audit")
async def audit_log(request: web.Request) -> web.Response:
    reader = await _auditor(request)
    query = parse_audit_query(request.query, ACTIONS, OUTCOMES)
    total, entries = await request.app[STORE].audit_entries(query)
    await request.app[AUDIT].record("audit_viewed", actor=reader.name, role=reader.role,
                                    address=client_address(request), detail=details(query=request.query_string[:500]))
    return json_response(AuditResponse(total=total, offset=query.offset, limit=query.limit,
                                       retention_days=request.app[CONFIG].audit_retention_days,
                                       rows=audit_items(entries, ACTIONS, OUTCOMES)))


@routes.get(f"{API_PREFIX}/audit/export")
async def audit_export(request: web.Request) -> web.Response:
    reader = await _auditor(request)
    fmt = request.query.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        raise ApiError("bad_request", f"audit/export?format={fmt[:20]}: expected xlsx or csv")
    params = {k: v for k, v in request.query.items() if k not in ("format", "limit", "offset")}
    query = parse_audit_query(params | {"limit": str(EXPORT_ROWS)}, ACTIONS, OUTCOMES, max_page=EXPORT_ROWS)
    total, entries = await request.app[STORE].audit_entries(query)
    table = audit_table(audit_items(entries, ACTIONS, OUTCOMES), total, request.app[CONFIG].audit_retention_days)
    await request.app[AUDIT].record("audit_exported", actor=reader.name, role=reader.role,
                                    address=client_address(request), target=f"audit.{fmt}",
                                    detail=details(query=request.query_string[:500], rows=len(entries)))
    return table_response(table, fmt)
