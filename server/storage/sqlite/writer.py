"""The SQLite store's one write connection, owned by one thread: a write transaction is a function run there whole.

The store reads through aiosqlite; it writes here instead. aiosqlite runs one statement per await, and the coroutine
that sends the next statement needs the event loop, which meanwhile folds the next push batch in stretches of tens
of milliseconds without an await: the ten statements of a batch waited for the loop one by one, and writing never
overlapped folding (bench/ingest_bench.py: 22,000 events/s, the same as with no overlap at all). Run whole on this
thread, a transaction needs the loop once, and SQLite's own work runs beside the fold on the other core.

Jobs run one at a time in the order they were submitted, so writers queue here and never meet SQLITE_BUSY in this
process. The server's ingest workers write the same file from processes of their own: with `queue_with_others`,
every write transaction first takes an exclusive `flock` on a lock file next to the database, so those writers queue
in the kernel and take turns as soon as the lock is free, where SQLite's busy handler would poll with sleeps of 1 to
100 ms. The CLI does not queue there: a long `rollups rebuild` makes the server's writes wait at most SQLite's
`busy_timeout`, not for the whole rebuild.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class SqliteWriter:
    def __init__(self, path: Path, pragmas: Sequence[str], *, queue_with_others: bool = False) -> None:
        self._path = path
        self._pragmas = tuple(pragmas)
        self._queue_with_others = queue_with_others
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._lock_fd: int | None = None

    async def open(self) -> None:
        if self._queue_with_others:
            self._lock_fd = os.open(writer_lock_path(self._path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
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
        return await self.call(lambda conn: self.in_transaction(conn, fn))

    def in_transaction(self, conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`transaction` from inside a job on the writer thread."""
        if self._lock_fd is None:
            return in_transaction(conn, fn)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            return in_transaction(conn, fn)
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    async def close(self) -> None:
        """After the jobs already submitted: close the connection and stop the thread."""
        if self._executor is None:
            return
        if self._conn is not None:
            await self.call(lambda conn: conn.close())
            self._conn = None
        self._executor.shutdown(wait=True)
        self._executor = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def writer_lock_path(database: Path) -> Path:
    return database.with_name(database.name + "-writer.lock")


def in_transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result
