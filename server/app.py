"""The composition root: builds the aiohttp application from a config and owns the store's lifetime."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any

from aiohttp import web

from ops.runlock import RunLock
from ops.serve import PROBE
from protocol.workdays import WorkCalendar
from server import keys
from server.accounts.agents import Authenticator
from server.accounts.audit import AuditTrail
from server.accounts.throttle import LoginThrottle
from server.accounts.users import Accounts
from server.admin.audit import purge_audit
from server.admin.cases import refold_all
from server.clock import Clock
from server.config import ServerConfig
from server.errors import ConfigError
from server.http import admin, attachments, audit, dashboard, health, stats, sync
from server.http.common import (
    AUDIT,
    AUTH,
    CALENDAR,
    CLOCK,
    CONFIG,
    DASHBOARD_STORE,
    INGEST,
    INGEST_STATS,
    KEYS,
    OVERVIEW,
    QUOTA_REFUSALS,
    REFERENCE,
    REFERENCE_CACHE,
    STORE,
    error_middleware,
    forwarded_middleware,
    handler_args,
    stamp_server_time,
)
from server.ingest.ingestor import Ingestor, IngestStats
from server.ingest.pool import IngestPool
from server.model.calendar import build_calendar
from server.model.figures import Definitions
from server.model.login_throttle import Limits
from server.model.reference import Reference, load_reference
from server.model.sealing import Keyring
from server.reports.casepage import CasePages
from server.reports.followups import FollowUps
from server.reports.overview import Overview
from server.reports.report import Reports
from server.reports.worklists import Worklists
from server.storage.base import Store
from server.storage.choose import make_dashboard_store, make_store

log = logging.getLogger(__name__)

# The watchdog's database probe (BEGIN IMMEDIATE on the write connection) must answer within this; an ingest batch
# holds the write lock for well under a second even at 5000 events.
PROBE_TIMEOUT_S = 10.0


async def build_app(config: ServerConfig, clock: Clock | None = None) -> web.Application:
    """The server application. Reads the reference files and builds the calendar now (a bad file raises
    ConfigError before anything listens); opens and migrates the database when the app starts. `clock`: the real
    one in `[server] time_zone` unless given (tests give one stopped at a chosen instant)."""
    reference = load_reference(config.org_units, config.catalog)
    try:
        calendar = await asyncio.to_thread(county_calendar, config.regional_holidays, config.extra_workdays)
    except ValueError as exc:
        raise ConfigError(f"{config.source}: [calendar] regional_holidays / extra_workdays: {exc}") from None
    # The catalog as PCs get it, with pinyin initials: pypinyin loads its dictionaries once, here (about 0.3 s),
    # before anything listens, rather than stalling the event loop in the first PC's reference pull.
    await asyncio.to_thread(lambda: reference.items_for_agents)
    app = web.Application(client_max_size=config.max_body_bytes, middlewares=[forwarded_middleware, error_middleware],
                          handler_args=handler_args(config))
    app[CONFIG] = config
    app[REFERENCE] = reference
    app[CALENDAR] = calendar
    app[CLOCK] = clock or Clock(config.time_zone)
    app[REFERENCE_CACHE] = {}
    app[KEYS] = await asyncio.to_thread(keys.load_or_create, config.key_file)
    app[QUOTA_REFUSALS] = Counter()
    app.on_response_prepare.append(stamp_server_time)
    app.cleanup_ctx.append(_storage)
    app.cleanup_ctx.append(_dashboard)
    app.cleanup_ctx.append(_audit_retention)
    app.cleanup_ctx.append(_metrics_listener)
    app.add_routes(sync.routes)
    app.add_routes(stats.routes)
    app.add_routes(admin.routes)
    app.add_routes(health.routes)
    app.add_routes(audit.routes)
    app.add_routes(attachments.routes)
    app.add_routes(dashboard.routes)
    health.instrument(app)  # the app's metrics registry; times every request, error answers too
    return app


async def _storage(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    # One server per SQLite database, and `restore` cannot replace it under us (ops/runlock.py). PostgreSQL takes
    # several server processes at once (each batch locks its township's row).
    sqlite = config.storage_backend == "sqlite"
    run_lock = RunLock(config.database).acquire("county-server serve") if sqlite else None
    store = store_of(config, serving=True)
    dashboard_store = make_dashboard_store(store)  # reads beside the store; writes through its transactions
    try:
        await store.open()
        await dashboard_store.open()
        app[DASHBOARD_STORE] = dashboard_store
        probe: Callable[[], Awaitable[object]] = functools.partial(store.ping, PROBE_TIMEOUT_S)
        app[PROBE] = probe
        reference = app[REFERENCE]
        await store.upsert_reference(reference.org_units.values(), reference.items.values())
        await refold_if_needed(store, reference, app[KEYS])  # before any ingest: the first start after the upgrade
        app[STORE] = store
        app[AUTH] = Authenticator(store, config.admin_token)
        app[AUDIT] = AuditTrail(store)
        app[INGEST_STATS] = IngestStats()
        pool = IngestPool(config, reference) if config.ingest_workers else None
        app[INGEST] = pool or Ingestor(store, reference, app[KEYS])
        if pool is not None:
            await pool.start()
        log.info("server ready storage=%s database=%s org_units=%d items=%d ingest_workers=%d",
                 config.storage_backend, config.database if sqlite else "postgres",
                 len(reference.org_units), len(reference.items), config.ingest_workers)
        try:
            yield
        finally:
            if pool is not None:
                await pool.close()  # the workers answer what they were given, then close their databases
    finally:
        await dashboard_store.close()
        await store.close()  # waits for the batch in flight: it commits or rolls back whole
        if run_lock is not None:
            run_lock.release()
        log.info("server stopped")


async def refold_if_needed(store: Store, reference: Reference, keyring: Keyring | None = None) -> None:
    """After the upgrade to causal order (migration 0010): every case refolded from its events, and the rollups
    rebuilt, once; the log says how many cases changed (`county-server cases refold` does the same by hand)."""
    if not await store.flag("refold_needed"):
        return
    report = await refold_all(store, reference.items, keyring)
    await store.clear_flag("refold_needed")  # only once done: a start that dies midway refolds again
    log.info("cases refolded in causal order changed=%d rollup_rows=%d fields=%s", report.cases_changed,
             report.rollup_rows, ",".join(f"{f}:{n}" for f, n in sorted(report.fields.items())) or "-")


async def _dashboard(app: web.Application) -> AsyncIterator[None]:
    """The figures, work lists, accounts and sessions, on the dashboard store `_storage` opened."""
    config, reference, store = app[CONFIG], app[REFERENCE], app[DASHBOARD_STORE]
    definitions = Definitions(config.active_evaluation_rate, config.good_includes_basic, config.online_share_base,
                              config.promise_speedup)
    calendar_json = app[CALENDAR]
    calendar = WorkCalendar.from_json(calendar_json) if calendar_json else None
    app[OVERVIEW] = Overview(store, reference, definitions)
    app[dashboard.REPORTS] = Reports(app[OVERVIEW], store, reference, definitions)
    app[dashboard.WORKLISTS] = Worklists(store, reference, definitions, calendar, config.due_soon_workdays,
                                         config.agent_silent_hours, keys=app[KEYS])
    app[dashboard.CASE_PAGES] = CasePages(store, reference, app[dashboard.WORKLISTS], keys=app[KEYS])
    app[dashboard.FOLLOW_UPS] = FollowUps(store, reference, calendar, config.follow_up_workdays, keys=app[KEYS])
    throttle = LoginThrottle(store, Limits(config.login_failures_per_account, config.login_failures_per_address,
                                           config.login_window_minutes * 60.0, config.login_lock_minutes * 60.0))
    app[dashboard.ACCOUNTS] = Accounts(store, config.session_idle_minutes, config.session_max_hours, throttle,
                                       app[AUDIT])
    yield


async def _audit_retention(app: web.Application) -> AsyncIterator[None]:
    """Purge the audit entries older than `[audit] retention_days` at start and then once a day."""
    config, store = app[CONFIG], app[STORE]

    async def purge_daily() -> None:
        while True:
            try:
                await purge_audit(store, config.audit_retention_days)
            except Exception:  # a failed purge keeps the entries: retried tomorrow, never lost
                log.exception("audit purge failed")
            await asyncio.sleep(24 * 3600)

    task = asyncio.create_task(purge_daily())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _metrics_listener(app: web.Application) -> AsyncIterator[None]:
    """`[metrics] port`: /metrics without a token on an address of its own (loopback by default)."""
    config = app[CONFIG]
    if not config.metrics_port:
        yield
        return
    runner = web.AppRunner(health.metrics_app(app), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, config.metrics_host, config.metrics_port).start()
        log.info("metrics listening listen=%s:%d", config.metrics_host, config.metrics_port)
        yield
    finally:
        await runner.cleanup()


def store_of(config: ServerConfig, *, serving: bool = False) -> Any:
    """The `Store` of `[storage]` (not yet open)."""
    return make_store(config.storage_backend, config.database, config.postgres_dsn, config.postgres_pool_size,
                      serving=serving)


async def open_store(config: ServerConfig) -> tuple[Any, Reference]:
    """A migrated store with the reference data loaded, for the CLI (the caller closes it)."""
    reference = load_reference(config.org_units, config.catalog)
    store = store_of(config)
    await store.open()
    await store.upsert_reference(reference.org_units.values(), reference.items.values())
    return store, reference


@functools.lru_cache(maxsize=8)
def county_calendar(regional_holidays: tuple[date, ...], extra_workdays: tuple[date, ...]) -> dict[str, Any] | None:
    """The county's work calendar as JSON for agents (cached: building it walks ~20 years day by day).
    Raises ValueError for an override outside the years the calendar knows."""
    return build_calendar(regional_holidays, extra_workdays).to_json()
