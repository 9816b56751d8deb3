"""The stores of the backend a config names (`[storage] backend`): the one place the server, its ingest workers and
the CLI make them. PostgreSQL's driver is imported only when it is the backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server.storage.base import Store
from server.storage.dashboard import DashboardStore


def make_store(backend: str, database: Path, dsn: str = "", pool_size: int = 8, *, serving: bool = False) -> Any:
    """A `Store` (not yet open). `serving`: the server's or an ingest worker's (SQLite queues their writes)."""
    if backend == "postgres":
        from server.storage.postgres.store import PostgresStore
        return PostgresStore(dsn, pool_size, files=database)
    if backend != "sqlite":
        raise ValueError(f"unknown storage backend {backend!r}")
    from server.storage.sqlite.store import SqliteStore
    return SqliteStore(database, serving=serving)


def make_dashboard_store(store: Store) -> DashboardStore:
    """The dashboard store beside `store` (it reads the same database and writes through it)."""
    from server.storage.sqlite.store import SqliteStore
    if isinstance(store, SqliteStore):
        from server.storage.sqlite.dashboard import SqliteDashboardStore
        return SqliteDashboardStore(store)
    from server.storage.postgres.dashboard import PostgresDashboardStore
    from server.storage.postgres.store import PostgresStore
    assert isinstance(store, PostgresStore), type(store)
    return PostgresDashboardStore(store)
