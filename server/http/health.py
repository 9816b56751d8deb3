"""Operations endpoints of the server: `/readyz` (the database answers a writer, every migration is applied) and
`/metrics` (Prometheus text: the figures below, read at each scrape, and the latency histograms), plus the server's
instruments. `/healthz` is in `admin`."""

from __future__ import annotations

import hmac
import time
from datetime import datetime

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram

from ops import metrics
from ops.metrics import Metric, counter, gauge
from ops.readiness import check_ready
from server.accounts.agents import bearer_token
from server.errors import ApiError
from server.http.common import (
    CONFIG,
    DASHBOARD_STORE,
    INGEST,
    INGEST_STATS,
    QUOTA_REFUSALS,
    STORE,
    handler_args,
    json_response,
)
from server.ingest.pool import IngestPool
from server.storage.base import AgentRecord
from server.storage.sqlite.store import MIGRATIONS_DIR

routes = web.RouteTableDef()

# A push batch takes milliseconds when ingest keeps up, and up to a minute for 5000 events behind a busy worker.
PUSH_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Instruments:
    """The server's own latency histograms, in the app's registry beside the request histogram of `ops.metrics`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.push_seconds = Histogram(
            "county_server_push_batch_duration_seconds",
            "Time from a push batch received (agent authenticated, body read) to its answer: checks, the wait for "
            "the township's ingest worker, fold and commit. Pushes answered 200 only; others are in "
            "county_server_http_request_duration_seconds by status.", registry=registry, buckets=PUSH_BUCKETS)
        self.pulled_events = Counter(
            "county_server_pulled_events", "Events sent to PCs by the pull since start.", registry=registry)
        self.pulls = Counter(
            "county_server_pulls", "Pull answers sent since start, by whether the cursor was of another stream "
            "(restored database: the PC pulls from the beginning).", ["reset"], registry=registry)
        self.attachment_bytes = Counter(
            "county_server_attachment_bytes", "Bytes of attachment chunks received and kept since start (a cut "
            "chunk's bytes too: the upload continues after them).", registry=registry)
        self.attachments = Counter(
            "county_server_attachments", "Attachment uploads ended since start, by outcome: stored (the sha256 "
            "checked), hash_mismatch, wrong_type.", ["outcome"], registry=registry)
        self.dashboard_seconds = Histogram(
            "county_server_dashboard_query_duration_seconds",
            "Time a dashboard API route takes to compute its figures or list (reports and storage, not the login "
            "check or the encoding), by route.", ["route"], registry=registry, buckets=metrics.LATENCY_BUCKETS)


INSTRUMENTS = web.AppKey("instruments", Instruments)


def instrument(app: web.Application) -> None:
    """The app's registry, the request counter and histogram (outermost middleware: it sees the error answers too)
    and the server's own histograms."""
    registry = metrics.instrument(app, "county_server", count_requests=True).registry
    app[INSTRUMENTS] = Instruments(registry)


def shipped_migrations() -> set[int]:
    return {int(p.name[:4]) for p in MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")}


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    return await _readyz(request.app)


async def _readyz(app: web.Application) -> web.Response:
    problem, schema = await check_ready(app[STORE], shipped_migrations())
    if problem is not None:
        return _not_ready(problem)
    return json_response({"status": "ready", "schema": schema})


def _not_ready(detail: str) -> web.Response:
    return json_response({"code": "not_ready", "message": "The server is not ready.", "detail": detail}, 503)


@routes.get("/metrics")
async def metrics_page(request: web.Request) -> web.Response:
    """Every agent id and township is in there: only with `[metrics] token`, or on the metrics listener."""
    token = request.app[CONFIG].metrics_token
    sent = bearer_token(request.headers.get("Authorization"))
    if not token or sent is None or not hmac.compare_digest(sent.encode(), token.encode()):
        raise ApiError("metrics_token_required", None if token else "no [metrics] token is set: /metrics is served "
                                                                    "on the metrics listener only ([metrics] port)")
    return await _metrics_response(request.app)


async def _metrics_response(app: web.Application) -> web.Response:
    store = app[STORE]
    agents = await store.list_agents()
    conflicts = await app[DASHBOARD_STORE].conflict_counts()
    return metrics.response(app[metrics.METRICS].registry,
                            families(app, agents, time.time(), await store.orphan_event_count(), conflicts))


def metrics_app(main: web.Application) -> web.Application:
    """The metrics listener (`[metrics] host` and `port`): /metrics without a token, /healthz and /readyz, on an
    address of its own that a reverse proxy in front of the main one does not reach."""

    async def metrics_route(request: web.Request) -> web.Response:
        return await _metrics_response(main)

    async def readyz_route(request: web.Request) -> web.Response:
        return await _readyz(main)

    async def healthz_route(request: web.Request) -> web.Response:
        return json_response({"status": "ok"})

    app = web.Application(handler_args=handler_args(main[CONFIG]))
    app.router.add_get("/metrics", metrics_route)
    app.router.add_get("/readyz", readyz_route)
    app.router.add_get("/healthz", healthz_route)
    return app


def families(app: web.Application, agents: list[AgentRecord], now: float, orphans: int,
             conflicts: dict[tuple[str, bool], int] | None = None) -> list[Metric]:
    """The server's figures as of now, from the ingest counts, the agents and conflicts tables, read at each
    scrape."""
    ingest = app[INGEST_STATS]
    events = counter("county_server_ingest_events_total", "Pushed events since start, by result.", labels=["result"])
    for result in ("stored", "duplicate", "refused"):
        events.add_metric([result], ingest.events[result])
    refused = counter("county_server_refused_events_total", "Refused events since start, by refusal code.",
                      labels=["code"])
    for code, n in sorted(ingest.refusals.items()):
        refused.add_metric([code], n)
    ages = gauge("county_server_agent_last_push_age_seconds", "Seconds since each agent's last push; +Inf = never.",
                 labels=["agent_id", "township"])
    # Silent: not pushed for [dashboard] agent_silent_hours, the same threshold as the dashboard's agent list.
    silent_after_s = app[CONFIG].agent_silent_hours * 3600
    silent = 0
    for a in agents:
        age = now - _timestamp(a.last_push_at) if a.last_push_at else float("inf")
        ages.add_metric([a.agent_id, a.township_code], age)
        silent += age > silent_after_s and a.revoked_at is None
    silent_agents = gauge("county_server_agents_silent", "Registered PCs that have not pushed for longer than "
                          "threshold_s (revoked ones left out).", labels=["threshold_s"])
    silent_agents.add_metric([str(silent_after_s)], silent)
    quota_refusals = counter("county_server_quota_refusals_total", "Pushes refused since start because the PC "
                             "reached a quota ([quotas]): events or bytes per day, or orphan events.", labels=["quota"])
    for quota in ("events", "bytes", "orphans"):
        quota_refusals.add_metric([quota], app[QUOTA_REFUSALS][quota])
    protocols = gauge("county_server_agents_by_protocol", "Registered PCs by the sync protocol they spoke at their "
                      "last push (1: no pull, events in seq order; 2: causal order, pull, conflicts).",
                      labels=["protocol"])
    for version in sorted({1, 2, *(a.protocol_version for a in agents)}):
        protocols.add_metric([str(version)], sum(a.protocol_version == version for a in agents))
    conflict_family = gauge("county_server_conflicts", "Events the county could not apply at their place in the "
                            "causal order (县级未采纳), by township and state (open: not settled by staff yet).",
                            labels=["township", "state"])
    for (township, is_open), n in sorted((conflicts or {}).items()):
        conflict_family.add_metric([township, "open" if is_open else "settled"], n)
    pool = app[INGEST]
    return [
        counter("county_server_ingest_batches_total", "Push batches committed since start.", ingest.batches),
        events,
        refused,
        gauge("county_server_last_ingest_timestamp_seconds", "Unix time of the last committed batch; 0 = none since "
              "start.", ingest.last_ingest_at or 0),
        gauge("county_server_rollup_lag_seconds", "Age of the oldest event not yet counted in the figures. Rollups "
              "change in the same transaction as the events they count, so this stays 0; anything else is a bug "
              "(run `county-server rollups verify`).", 0),
        gauge("county_server_ingest_workers", "Ingest worker processes configured ([server] ingest_workers; 0 = "
              "ingest in the server process).", app[CONFIG].ingest_workers),
        gauge("county_server_ingest_workers_alive", "Ingest worker processes running; one that died starts again at "
              "the next push of its townships.", pool.alive if isinstance(pool, IngestPool) else 0),
        gauge("county_server_agents", "Registered township PCs.", len(agents)),
        gauge("county_server_agents_revoked", "Registered PCs revoked by `county-server agents revoke`.",
              sum(a.revoked_at is not None for a in agents)),
        silent_agents,
        ages,
        gauge("county_server_agent_pending_events", "Events the PCs reported still waiting at their last push (sum).",
              sum(a.pending or 0 for a in agents)),
        quota_refusals,
        gauge("county_server_orphan_events", "Stored events waiting for the acceptance (受理) of their case, all PCs.",
              orphans),
        protocols,
        gauge("county_server_agents_digest_differs", "PCs whose last agreement check found their township digest "
              "different from the county's even after a full re-pull (their 终端状态 row says which).",
              sum(a.digest_agrees is False for a in agents)),
        conflict_family,
    ]


def _timestamp(value: str) -> float:
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return 0.0
