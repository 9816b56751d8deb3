"""`GET /api/v1/stats`: figures per level for the county (admin token)."""

from __future__ import annotations

from aiohttp import web

from protocol import API_PREFIX
from server.http.common import CONFIG, REFERENCE, STORE, json_response, require_admin
from server.model.figures import Definitions
from server.reports.stats import compute_stats, parse_stats_query

routes = web.RouteTableDef()


@routes.get(f"{API_PREFIX}/stats")
async def stats(request: web.Request) -> web.Response:
    await require_admin(request)
    reference = request.app[REFERENCE]
    query = parse_stats_query(request.query, reference)
    # The good rating levels as the dashboard counts them (one definition, server config [figures]).
    config = request.app[CONFIG]
    good = Definitions(config.active_evaluation_rate, config.good_includes_basic).good_ratings
    return json_response(await compute_stats(request.app[STORE], reference, query, good))
