"""`GET /api/v1/stats`: figures per level for the county (admin token)."""

from __future__ import annotations

from aiohttp import web

from protocol import API_PREFIX
from server.http.common import OVERVIEW, REFERENCE, json_response, require_admin
from server.reports.stats import compute_stats, parse_stats_query

routes = web.RouteTableDef()


@routes.get(f"{API_PREFIX}/stats")
async def stats(request: web.Request) -> web.Response:
    await require_admin(request)
    reference = request.app[REFERENCE]
    query = parse_stats_query(request.query, reference)
    return json_response(await compute_stats(request.app[OVERVIEW], reference, query))
