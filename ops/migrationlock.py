"""The lock migrations run under: `<database>.migrate.lock`, locked with flock(2) for the whole run.

Two commands started at once on a new database (two `county-server agents add`, a CLI beside the server's first
start) would both read "no migration applied yet" and the second would fail with "table already exists". Under this
lock the second waits for the first, then reads what the first applied and has nothing left to do. The kernel drops
the lock when its holder dies, even by kill -9.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def migration_lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".migrate.lock")


def acquire(database: Path) -> int:
    """Take the database's migration lock, waiting for another holder; returns the descriptor `release` closes."""
    path = migration_lock_path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


def release(fd: int) -> None:
    os.close(fd)  # closing the descriptor releases the lock


@contextmanager
def migration_lock(database: Path) -> Iterator[None]:
    """Hold the database's migration lock (waiting for another holder) for the body of the `with`."""
    fd = acquire(database)
    try:
        yield
    finally:
        release(fd)
