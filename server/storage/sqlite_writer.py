"""The SQLite store's one write connection, owned by one thread: a write transaction is a function run there whole.

The store reads through aiosqlite; it writes here instead. aiosqlite runs one statement per await, and the coroutine
that sends the next statement needs the event loop, which meanwhile folds the next push batch in stretches of tens
of milliseconds without an await: the ten statements of a batch waited for the loop one by one, and writing never
overlapped folding (bench/ingest_bench.py: 22,000 events/s, the same as with no overlap at all). Run whole on this
thread, a transaction needs the loop once, and SQLite's own work runs beside the fold on the other core.

Jobs run one at a time in the order they were submitted, so writers queue here and never meet SQLITE_BUSY in this
process (the CLI's writes wait on `busy_timeout`).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class SqliteWriter:
    def __init__(self, path: Path, pragmas: Sequence[str]) -> None:
        self._path = path
        self._pragmas = tuple(pragmas)
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._conn = await self.call(lambda _: self._connect())

    def _connect(self) -> sqlite3.Connection:
        # Autocommit mode (isolation_level=None): transactions are the explicit BEGIN IMMEDIATE of `transaction`.
        # Used only from this thread; created here, so sqlite3's same-thread check holds.
        conn = sqlite3.connect(self._path, isolation_level=None, cached_statements=256)
        for pragma in self._pragmas:
            conn.execute(pragma)
        return conn

    def submit(self, fn: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """Queue `fn(connection)` on the writer thread now; the future gives its result. Queued jobs run one after
        the other, without waiting for the event loop in between."""
        if self._executor is None:
            raise RuntimeError("store is not open")
        return asyncio.get_running_loop().run_in_executor(self._executor, fn, self._conn)  # type: ignore[arg-type]

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn(connection)` on the writer thread, outside any transaction (pragmas, checkpoints, scripts)."""
        return await self.submit(fn)

    async def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn(connection)` inside BEGIN IMMEDIATE ... COMMIT on the writer thread; rolled back whole if it raises.
        A job that has started runs to its end even when the awaiting task is cancelled; one still queued is
        dropped."""
        return await self.call(lambda conn: in_transaction(conn, fn))

    async def close(self) -> None:
        """After the jobs already submitted: close the connection and stop the thread."""
        if self._executor is None:
            return
        if self._conn is not None:
            await self.call(lambda conn: conn.close())
            self._conn = None
        self._executor.shutdown(wait=True)
        self._executor = None


def in_transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result
