"""PostgreSQL implementation of `dashboard.DashboardStore`, on the pool of the `PostgresStore` beside it.

The reads are SQLite's (`server.storage.sqlite.dashboard`), said in PostgreSQL's dialect by `dialect.PoolReader`:
one definition of every figure's SQL for both backends. The writes (accounts, sessions, grants) are this module's;
the login throttle's statements are SQLite's too, in a transaction of this module's (row locks, see
`count_login_failure`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import asyncpg

from server.model.login_throttle import ADDRESS, NAME, Limits
from server.storage.postgres.dialect import PoolReader, translate
from server.storage.postgres.ingest import Connection
from server.storage.postgres.store import PostgresStore
from server.storage.sqlite.dashboard import (
    PURGE_TALLIES,
    SET_TALLY,
    TAKE_TALLY,
    TRIM_TALLIES,
    SqliteDashboardStore,
    counted,
)

_TAKE_TALLY, _SET_TALLY = translate(TAKE_TALLY), translate(SET_TALLY)
_PURGE_TALLIES = translate(PURGE_TALLIES.format(skip_locked=" FOR UPDATE SKIP LOCKED"))
_TRIM_TALLIES = translate(TRIM_TALLIES.format(skip_locked=" FOR UPDATE SKIP LOCKED"))


def _status_count(status: str) -> int:
    """The row count of a command status such as 'UPDATE 1'."""
    return int(status.rsplit(" ", 1)[-1])


class PostgresDashboardStore(SqliteDashboardStore):
    def __init__(self, store: PostgresStore) -> None:
        self._pg = store
        self._reader: PoolReader | None = None

    async def open(self) -> None:
        self._reader = PoolReader(self._pg.pool)  # raises when the store is not open

    async def close(self) -> None:
        self._reader = None  # the pool is the store's

    @property
    def _read(self) -> Any:
        if self._reader is None:
            raise RuntimeError("dashboard store is not open")
        return self._reader

    async def _write(self, sql: str, params: Sequence[Any]) -> int:
        try:
            return _status_count(await self._pg.pool.execute(translate(sql), *params))
        except asyncpg.UniqueViolationError as exc:  # as SQLite says it, for the callers' one except clause
            raise sqlite3.IntegrityError(str(exc)) from exc

    async def set_password(self, name: str, password_hash: str) -> bool:
        async def change(conn: Connection) -> bool:
            status = await conn.execute("UPDATE accounts SET password_hash = $1 WHERE name = $2", password_hash, name)
            await conn.execute("DELETE FROM sessions WHERE account = $1", name)  # every session of the old password
            return _status_count(status) == 1

        return await self._pg.transaction(change)

    async def set_disabled(self, name: str, is_disabled: bool) -> bool:
        async def change(conn: Connection) -> bool:
            status = await conn.execute("UPDATE accounts SET is_disabled = $1 WHERE name = $2", int(is_disabled), name)
            if is_disabled:
                await conn.execute("DELETE FROM sessions WHERE account = $1", name)
            return _status_count(status) == 1

        return await self._pg.transaction(change)

    async def count_login_failure(self, name: str, address: str, limits: Limits, now: float) -> list[str]:
        now = float(now)

        async def count(conn: Connection) -> list[str]:
            # The name's row, then the address's, each locked by TAKE_TALLY until the commit: a count in another
            # process waits for it and reads what it wrote, so no failure is lost. Always in this order, so two
            # counts never wait for each other in a cycle.
            locked = []
            for kind, value in ((NAME, name), (ADDRESS, address)):
                params, is_locked = counted(await conn.fetchrow(_TAKE_TALLY, kind, value), kind, value, limits, now)
                await conn.execute(_SET_TALLY, *params)
                if is_locked:
                    locked.append(kind)
            return locked

        locked = await self._pg.transaction(count)
        # Then the expired tallies and those past the cap, each statement a transaction of its own that skips the
        # rows a count holds: it never waits, so it never holds a count back or deadlocks with one.
        pool = self._pg.pool
        await pool.execute(_PURGE_TALLIES, now)
        excess = await pool.fetchval("SELECT count(*) FROM login_throttle") - limits.max_tallies
        if excess > 0:
            await pool.execute(_TRIM_TALLIES, excess)
        return locked
