"""Operations endpoints of the agent: `/readyz` (the database answers a writer and every shipped migration is applied)
and `/metrics` (Prometheus text). `/healthz` (liveness) is in `api`. All on the agent's loopback address."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from aiohttp import web

from agent import __version__
from agent.http.api import STORE, SYNCER, error_response
from agent.store import migrations
from ops import metrics
from ops.readiness import check_ready

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    problem, schema = await check_ready(request.app[STORE], (n for n, _, _ in migrations()))
    if problem is not None:
        return error_response(503, "not_ready", problem)
    return web.json_response({"status": "ready", "schema": schema})


@routes.get("/metrics")
async def metrics_page(request: web.Request) -> web.Response:
    return web.Response(text=metrics.render(await families(request.app)), headers={"Content-Type":
                                                                                  metrics.CONTENT_TYPE})


async def families(app: web.Application) -> list[metrics.Family]:
    store, syncer = app[STORE], app[SYNCER]
    meta = await store.get_meta()
    last_sync = _timestamp(meta.get("last_sync_at"))
    offset = meta.get("clock_offset_ms")
    F = metrics.Family
    return [
        F("township_agent_info", "Version and identity of this agent.").add(
            1, version=__version__, agent_id=syncer.agent_id),
        F("township_agent_pending_events", "Events stored here and not yet acknowledged by the county.").add(
            await store.count_pending()),
        F("township_agent_quarantined_events", "Events the county refused; staff must correct or dismiss them.").add(
            len(await store.quarantined())),
        F("township_agent_last_sync_timestamp_seconds", "Unix time of the last successful sync round; 0 = never.")
        .add(last_sync or 0),
        F("township_agent_last_sync_age_seconds", "Seconds since the last successful sync round; +Inf = never.")
        .add(time.time() - last_sync if last_sync else float("inf")),
        F("township_agent_sync_rounds_total", "Sync rounds since the agent started.", "counter").add(syncer.rounds),
        F("township_agent_sync_failures_total", "Sync rounds that ended with an error since the agent started.",
          "counter").add(syncer.failures),
        F("township_agent_clock_offset_seconds", "This PC's clock minus the county's, as last measured.").add(
            int(offset) / 1000 if offset else 0),
        F("township_agent_identity_retired", "1 when this database may not push under the configured agent id "
          "(restored or reset): register the PC again.").add(
            int(syncer.identity is not None and syncer.identity.is_retired)),
    ]


def _timestamp(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None
