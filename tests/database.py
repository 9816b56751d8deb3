"""A test's look under a server's storage, whichever backend its config names: `connect(config)` answers
`execute(sql, params)` like `sqlite3` (`?` placeholders, `fetchone`, `fetchall`, `rowcount`; committed and closed on
leaving the `with` block), on the SQLite file or in the PostgreSQL schema of the config (or of the config file at a
path, as an end-to-end test has it). `readonly`: beside a running server, a look that never writes."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

from server.config import ServerConfig, load_config
from tests.postgres import _run


def connect(config: ServerConfig | Path, *, readonly: bool = False) -> Any:
    if isinstance(config, Path):
        config = load_config(config)
    if config.storage_backend == "sqlite":
        if readonly:
            return sqlite3.connect(f"file:{config.database}?mode=ro", uri=True, factory=_SqliteLook)
        return sqlite3.connect(config.database, factory=_SqliteLook)
    return PostgresLook(config.postgres_dsn, readonly=readonly)


def of_store(store: Any) -> Any:
    """The look under a store a test opened itself: a `SqliteStore`'s file or a `PostgresStore`'s schema."""
    if hasattr(store, "dsn"):
        return PostgresLook(store.dsn)
    return sqlite3.connect(store.path, factory=_SqliteLook)


class _SqliteLook(sqlite3.Connection):
    """sqlite3's connection, closed when it leaves the `with` block (after its commit), so that no look keeps the
    file open under a later `restore`, which refuses an open database."""

    def __exit__(self, *exc: Any) -> Any:
        try:
            return super().__exit__(*exc)
        finally:
            self.close()


class _Result:
    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        return list(self._rows)

    def __iter__(self) -> Any:
        return iter(self._rows)


def _plain(value: Any) -> Any:
    """A value as SQLite gives it: PostgreSQL's SUM of integers is numeric, SQLite's an integer."""
    return int(value) if isinstance(value, Decimal) and value == value.to_integral_value() else value


class _Row(dict[str, Any]):
    """A row as `sqlite3.Row` is: by name, and its keys in column order as a list."""

    def keys(self) -> list[str]:  # type: ignore[override]
        return list(super().keys())


def _numbered(sql: str) -> str:
    n = iter(range(1, 1000))
    return re.sub(r"\?", lambda _: f"${next(n)}", sql)


class PostgresLook:
    """One statement per call, each on a connection of its own (autocommit): enough for a test's look."""

    row_factory: Any = None  # sqlite3.Row: rows as mappings

    def __init__(self, dsn: str, *, readonly: bool = False) -> None:
        self._dsn = dsn
        self._settings = {"default_transaction_read_only": "on"} if readonly else {}

    def __enter__(self) -> PostgresLook:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Result:
        async def run() -> _Result:
            conn = await asyncpg.connect(self._dsn, server_settings=self._settings)
            try:
                statement = await conn.prepare(_numbered(sql))
                if statement.get_attributes():
                    rows = await statement.fetch(*params)
                    made = [_Row(zip(r.keys(), map(_plain, r.values()), strict=True))
                            if self.row_factory is not None else tuple(map(_plain, r)) for r in rows]
                    return _Result(made, len(made))
                status = await conn.execute(_numbered(sql), *params)
                return _Result([], int(status.rsplit(" ", 1)[-1]))
            finally:
                await conn.close()

        return _run(run())


def stored_bytes(config: ServerConfig | Path) -> bytes:
    """The storage's bytes as a thief copying its files would have them: the SQLite file and its WAL; on PostgreSQL
    the files of the schema's tables, their TOAST tables and indexes, once a CHECKPOINT has written every changed
    page into them (PostgreSQL's WAL is the whole cluster's, not the schema's: it is not among them). On PostgreSQL
    this takes a superuser (CHECKPOINT, pg_read_binary_file), as the tests' is."""
    if isinstance(config, Path):
        config = load_config(config)
    if config.storage_backend == "sqlite":
        path = config.database
        return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())

    async def read(dsn: str) -> bytes:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("CHECKPOINT")
            relations = await conn.fetch(
                "SELECT c.oid, c.reltoastrelid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i', 'm')")
            oids = [r["oid"] for r in relations] + [r["reltoastrelid"] for r in relations if r["reltoastrelid"]]
            assert oids, "no relations in the schema"
            return b"".join([await conn.fetchval("SELECT pg_read_binary_file(pg_relation_filepath($1::oid))", oid)
                             for oid in oids])
        finally:
            await conn.close()

    return _run(read(config.postgres_dsn))


def backup_bytes(config: ServerConfig, backup: Path) -> bytes:
    """What a backup of the storage of `config` holds, readable: the SQLite file itself, or the SQL that
    `pg_restore` makes of a dump (its custom format is compressed: its bytes would hide anything)."""
    if config.storage_backend == "sqlite":
        return backup.read_bytes()
    return subprocess.run(["pg_restore", "--file=-", str(backup)], capture_output=True, check=True).stdout
