"""Operations endpoints of the agent: `/readyz` (the database answers a writer and every shipped migration is applied)
and `/metrics` (Prometheus text: the figures below, read at each scrape, and the request latencies of `ops.metrics`).
`/healthz` (liveness) is in `api`. All on the agent's loopback address."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from aiohttp import web

from agent import __version__
from agent.http.api import STORE, SYNCER, error_response
from agent.store import migrations
from ops import metrics
from ops.metrics import Metric, counter, gauge
from ops.readiness import check_ready
from protocol import PROTOCOL_VERSION

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
    return metrics.response(request.app[metrics.METRICS].registry, await families(request.app))


async def families(app: web.Application) -> list[Metric]:
    """The agent's figures as of now, read from the store and the syncer at each scrape."""
    store, syncer = app[STORE], app[SYNCER]
    meta = await store.get_meta()
    last_sync = _timestamp(meta.get("last_sync_at"))
    offset = meta.get("clock_offset_ms")
    info = gauge("township_agent_info", "Version and identity of this agent.", labels=["version", "agent_id"])
    info.add_metric([__version__, syncer.agent_id], 1)
    return [
        info,
        gauge("township_agent_pending_events", "Events stored here and not yet acknowledged by the county.",
              await store.count_pending()),
        gauge("township_agent_quarantined_events", "Events the county refused; staff must correct or dismiss them.",
              len(await store.quarantined())),
        gauge("township_agent_last_sync_timestamp_seconds", "Unix time of the last successful sync round; 0 = never.",
              last_sync or 0),
        gauge("township_agent_last_sync_age_seconds", "Seconds since the last successful sync round; +Inf = never.",
              time.time() - last_sync if last_sync else float("inf")),
        counter("township_agent_sync_rounds_total", "Sync rounds since the agent started.", syncer.rounds),
        counter("township_agent_sync_failures_total", "Sync rounds that ended with an error since the agent started.",
                syncer.failures),
        gauge("township_agent_clock_offset_seconds", "This PC's clock minus the county's, as last measured.",
              int(offset) / 1000 if offset else 0),
        gauge("township_agent_identity_retired", "1 when this database may not push under the configured agent id "
              "(restored or reset): register the PC again.",
              int(syncer.identity is not None and syncer.identity.is_retired)),
        gauge("township_agent_protocol_version", "The sync protocol this agent speaks.", PROTOCOL_VERSION),
        gauge("township_agent_open_conflicts", "This PC's events the county could not apply (县级未采纳), not yet "
              "settled by staff.", await store.count_open_conflicts(syncer.agent_id)),
        gauge("township_agent_digest_mismatch", "1 when the last agreement check found this PC's township digest "
              "different from the county's (after a full re-pull); 0 when it agreed or was not checked yet.",
              int(meta.get("digest_agrees") == "0")),
        gauge("township_agent_digest_checked_timestamp_seconds", "Unix time of the last agreement check; 0 = never.",
              _timestamp(meta.get("digest_checked_at")) or 0),
        counter("township_agent_pulled_events_total", "Events of other PCs pulled since the agent started.",
                syncer.pulled_total),
        counter("township_agent_repulls_total", "Full re-pulls after a disagreeing digest since the agent started.",
                syncer.repulls),
        gauge("township_agent_push_batch_events", "Events per push now (halved after a transient failure, grown "
              "back after successes).", syncer.push_batch.size),
        gauge("township_agent_attachments_pending", "Scanned materials (申请材料) attached here and not yet held "
              "whole by the county.", await store.count_attachments_pending()),
        gauge("township_agent_attachment_bytes", "Bytes of the attachment files this PC keeps (each file once), "
              "against [attachments] max_total_bytes.", await store.attachment_bytes()),
        counter("township_agent_attachments_uploaded_total", "Attachments the county confirmed whole since the agent "
                "started.", syncer.attachments.uploaded_total if syncer.attachments else 0),
    ]


def _timestamp(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None
