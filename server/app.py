"""The composition root: builds the aiohttp application from a config and owns the store's lifetime."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from aiohttp import web

from server.auth import Authenticator
from server.calendar_source import build_calendar
from server.config import ServerConfig
from server.errors import ConfigError
from server.ingest import Ingestor
from server.reference import Reference, load_reference
from server.routes import admin, stats, sync
from server.routes.common import (
    AUTH,
    CALENDAR,
    CONFIG,
    INGESTOR,
    REFERENCE,
    REFERENCE_CACHE,
    STORE,
    error_middleware,
    stamp_server_time,
)
from server.storage.sqlite import SqliteStore

log = logging.getLogger(__name__)


async def build_app(config: ServerConfig) -> web.Application:
    """The server application. Reads the reference files and builds the calendar now (a bad file raises
    ConfigError before anything listens); opens and migrates the database when the app starts."""
    reference = load_reference(config.org_units, config.catalog)
    try:
        calendar = await asyncio.to_thread(county_calendar, config.regional_holidays, config.extra_workdays)
    except ValueError as exc:
        raise ConfigError(f"{config.source}: [calendar] regional_holidays / extra_workdays: {exc}") from None
    app = web.Application(client_max_size=config.max_body_bytes, middlewares=[error_middleware])
    app[CONFIG] = config
    app[REFERENCE] = reference
    app[CALENDAR] = calendar
    app[REFERENCE_CACHE] = {}
    app.on_response_prepare.append(stamp_server_time)
    app.cleanup_ctx.append(_storage)
    app.add_routes(sync.routes)
    app.add_routes(stats.routes)
    app.add_routes(admin.routes)
    return app


async def _storage(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    store = SqliteStore(config.database)
    await store.open()
    try:
        reference = app[REFERENCE]
        await store.upsert_reference(reference.org_units.values(), reference.items.values())
        app[STORE] = store
        app[AUTH] = Authenticator(store, config.admin_token)
        app[INGESTOR] = Ingestor(store, reference)
        log.info("server ready database=%s org_units=%d items=%d", config.database, len(reference.org_units),
                 len(reference.items))
        yield
    finally:
        await store.close()


async def open_store(config: ServerConfig) -> tuple[SqliteStore, Reference]:
    """A migrated store with the reference data loaded, for the CLI (the caller closes it)."""
    reference = load_reference(config.org_units, config.catalog)
    store = SqliteStore(config.database)
    await store.open()
    await store.upsert_reference(reference.org_units.values(), reference.items.values())
    return store, reference


@functools.lru_cache(maxsize=8)
def county_calendar(regional_holidays: tuple[date, ...], extra_workdays: tuple[date, ...]) -> dict[str, Any] | None:
    """The county's work calendar as JSON for agents (cached: building it walks ~20 years day by day).
    Raises ValueError for an override outside the years the calendar knows."""
    return build_calendar(regional_holidays, extra_workdays).to_json()
