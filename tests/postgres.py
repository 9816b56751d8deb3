"""This machine's PostgreSQL for the tests: its address (`TEST_POSTGRES_DSN`, default the local server's `test`
database, trust auth) and a schema of its own per test, so tests never see each other's rows.

When the server does not answer, a test that needs it is skipped; under CI=true it fails instead (a missing
PostgreSQL must never pass as green).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import urllib.parse

import asyncpg
import pytest

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
_reachable: bool | None = None


def base_dsn() -> str:
    return os.environ.get("TEST_POSTGRES_DSN") or DEFAULT_DSN


def schema_dsn(schema: str) -> str:
    """The DSN with `search_path` set to `schema` (asyncpg passes unknown query parameters as server settings)."""
    dsn = base_dsn()
    return f"{dsn}{'&' if '?' in dsn else '?'}search_path={urllib.parse.quote(schema)}"


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


async def drop_schemas(schemas: list[str]) -> None:
    if not schemas:
        return
    conn = await asyncpg.connect(base_dsn())
    try:
        for schema in schemas:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()
