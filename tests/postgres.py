"""This machine's PostgreSQL for the tests: its address (`TEST_POSTGRES_DSN`, default the local server's `test`
database, trust auth) and a schema of its own per test, so tests never see each other's rows.

When the server does not answer, a test that needs it is skipped; under CI=true it fails instead (a missing
PostgreSQL must never pass as green).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import os
import urllib.parse
from pathlib import Path
from typing import Any

import asyncpg
import pytest

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
_reachable: bool | None = None


def base_dsn() -> str:
    return os.environ.get("TEST_POSTGRES_DSN") or DEFAULT_DSN


def schema_dsn(schema: str) -> str:
    """The DSN with `search_path` set to `schema` (asyncpg passes unknown query parameters as server settings).
    Commits do not wait for the WAL flush (synchronous_commit=off): only a crash of PostgreSQL itself could lose
    the last ones, which no test does, and the migrations of a schema per test commit many times."""
    dsn = base_dsn()
    return f"{dsn}{'&' if '?' in dsn else '?'}search_path={urllib.parse.quote(schema)}&synchronous_commit=off"


def schema_name(*parts: str) -> str:
    """A schema name (a PostgreSQL identifier) unique to `parts`, e.g. a test's tmp_path and a database name."""
    return "t_" + hashlib.sha1("\0".join(parts).encode()).hexdigest()[:16]


async def require() -> None:
    """Skip (or, under CI=true, fail) the calling test when the server does not answer."""
    global _reachable
    if _reachable is None:
        try:
            conn = await asyncio.wait_for(asyncpg.connect(base_dsn()), 10)
            await conn.close()
            _reachable = True
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            _reachable = False
            reason = f"PostgreSQL at {base_dsn()} does not answer: {exc}"
            if os.environ.get("CI") == "true":
                pytest.fail(reason)
            pytest.skip(reason)
    if not _reachable:
        reason = f"PostgreSQL at {base_dsn()} does not answer"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


async def create_schema(schema: str) -> str:
    """A new, empty schema (dropped first when a test before left one); returns its DSN."""
    await require()
    conn = await asyncpg.connect(base_dsn())
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    return schema_dsn(schema)


async def _drop(statement: str, names: list[str]) -> None:
    """`statement` (with `{}` for a quoted name) for each of `names`, on one connection."""
    if not names:
        return
    conn = await asyncpg.connect(base_dsn())
    try:
        for name in names:
            await conn.execute(statement.format(name))
    finally:
        await conn.close()


async def drop_schemas(schemas: list[str]) -> None:
    await _drop('DROP SCHEMA IF EXISTS "{}" CASCADE', schemas)


# ---- the server tests on PostgreSQL (TEST_SERVER_BACKEND=postgres) ------------------------------------------------

SERVER_BACKEND = os.environ.get("TEST_SERVER_BACKEND", "sqlite")
_server_schemas: list[str] = []
_databases: list[str] = []


def _run(coro: Any) -> Any:
    """A coroutine to its end from synchronous code, whether or not an event loop runs in this thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def server_dsn(where: Path, *, always: bool = False) -> str | None:
    """Under TEST_SERVER_BACKEND=postgres (or `always`), the DSN of a new schema of its own for the server under
    `where`; None on SQLite, the default."""
    if SERVER_BACKEND != "postgres" and not always:
        return None
    schema = schema_name(str(where.resolve()), "server")
    dsn: str = _run(create_schema(schema))
    if schema not in _server_schemas:
        _server_schemas.append(schema)
    return dsn


def storage_section(where: Path, *, always: bool = False) -> str:
    """The `[storage]` section of a test server's config: nothing (SQLite, the default) or, under
    TEST_SERVER_BACKEND=postgres (or `always`), a new schema of its own for the server under `where`."""
    dsn = server_dsn(where, always=always)
    if dsn is None:
        return ""
    return f'[storage]\nbackend = "postgres"\ndsn = "{dsn}"\npool_size = 4\n'


def in_new_database(dsn: str, where: Path) -> str:
    """`dsn` (a test server's, its search_path kept) in a new, empty database of its own for `where`: where a dump of
    that schema is restored as on a new machine (a dump restores into the schema it was taken from)."""
    name = schema_name(str(where.resolve()), "database")

    async def create() -> None:
        await require()
        conn = await asyncpg.connect(base_dsn())
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    _run(create())
    if name not in _databases:
        _databases.append(name)
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(dsn)._replace(path=f"/{name}"))


async def _drop_databases(names: list[str]) -> None:
    await _drop('DROP DATABASE IF EXISTS "{}" WITH (FORCE)', names)


def drop_server_schemas() -> None:
    """At the end of the session: every schema `storage_section` made, every database `in_new_database` made."""
    if _server_schemas:
        _run(drop_schemas(_server_schemas))
        _server_schemas.clear()
    if _databases:
        _run(_drop_databases(_databases))
        _databases.clear()


def sqlite_only(reason: str) -> Any:
    """A mark for a server test that reads or writes the SQLite file itself (`reason` says what): it runs when the
    server is on SQLite, the default."""
    return pytest.mark.skipif(SERVER_BACKEND != "sqlite", reason=f"SQLite only: {reason}")
