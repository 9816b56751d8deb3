"""Operations endpoints of the server: `/readyz` (the database answers a writer, every migration is applied) and
`/metrics` (Prometheus text), plus the middleware that counts requests. `/healthz` is in `admin`."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from typing import Any

from aiohttp import web

from ops import metrics
from ops.readiness import check_ready
from server.http.common import CONFIG, INGEST, INGEST_STATS, STORE, json_response
from server.ingest.pool import IngestPool
from server.storage.base import AgentRecord
from server.storage.sqlite.store import MIGRATIONS_DIR

routes = web.RouteTableDef()
REQUESTS = web.AppKey("requests", Counter)  # (route, status) -> answered requests since start



def shipped_migrations() -> set[int]:
    return {int(p.name[:4]) for p in MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")}


@web.middleware
async def count_requests(request: web.Request, handler: Any) -> web.StreamResponse:
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "unmatched"
        request.app[REQUESTS][(name, str(status))] += 1


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    problem, schema = await check_ready(request.app[STORE], shipped_migrations())
    if problem is not None:
        return _not_ready(problem)
    return json_response({"status": "ready", "schema": schema})


def _not_ready(detail: str) -> web.Response:
    return json_response({"code": "not_ready", "message": "The server is not ready.", "detail": detail}, 503)


@routes.get("/metrics")
async def metrics_page(request: web.Request) -> web.Response:
    agents = await request.app[STORE].list_agents()
    text = metrics.render(families(request.app, agents, time.time()))
    return web.Response(text=text, headers={"Content-Type": metrics.CONTENT_TYPE})


def families(app: web.Application, agents: list[AgentRecord], now: float) -> list[metrics.Family]:
    F = metrics.Family
    ingest = app[INGEST_STATS]
    requests = F("county_server_requests_total", "HTTP requests answered since start, by route and status.",
                 "counter")
    for (route, status), n in sorted(app[REQUESTS].items()):
        requests.add(n, route=route, status=status)
    events = F("county_server_ingest_events_total", "Pushed events since start, by result.", "counter")
    for result in ("stored", "duplicate", "refused"):
        events.add(ingest.events[result], result=result)
    refused = F("county_server_refused_events_total", "Refused events since start, by refusal code.", "counter")
    for code, n in sorted(ingest.refusals.items()):
        refused.add(n, code=code)
    ages = F("county_server_agent_last_push_age_seconds", "Seconds since each agent's last push; +Inf = never.")
    # Silent: not pushed for [dashboard] agent_silent_hours, the same threshold as the dashboard's agent list.
    silent_after_s = app[CONFIG].agent_silent_hours * 3600
    silent = 0
    for a in agents:
        age = now - _timestamp(a.last_push_at) if a.last_push_at else float("inf")
        ages.add(age, agent_id=a.agent_id, township=a.township_code)
        silent += age > silent_after_s
    return [
        requests,
        F("county_server_ingest_batches_total", "Push batches committed since start.", "counter").add(ingest.batches),
        events,
        refused,
        F("county_server_last_ingest_timestamp_seconds", "Unix time of the last committed batch; 0 = none since "
          "start.").add(ingest.last_ingest_at or 0),
        F("county_server_rollup_lag_seconds", "Age of the oldest event not yet counted in the figures. Rollups "
          "change in the same transaction as the events they count, so this stays 0; anything else is a bug "
          "(run `county-server rollups verify`).").add(0),
        F("county_server_ingest_workers", "Ingest worker processes configured ([server] ingest_workers; 0 = ingest "
          "in the server process).").add(app[CONFIG].ingest_workers),
        F("county_server_ingest_workers_alive", "Ingest worker processes running; one that died starts again at the "
          "next push of its townships.").add(pool.alive if isinstance(pool := app[INGEST], IngestPool) else 0),
        F("county_server_agents", "Registered township PCs.").add(len(agents)),
        F("county_server_agents_silent", "Registered PCs that have not pushed for longer than threshold_s.").add(
            silent, threshold_s=str(silent_after_s)),
        ages,
        F("county_server_agent_pending_events", "Events the PCs reported still waiting at their last push (sum).")
        .add(sum(a.pending or 0 for a in agents)),
    ]


def _timestamp(value: str) -> float:
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return 0.0
