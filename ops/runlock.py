"""A lock file held for the whole life of a running program: `<database>.lock`, locked with flock(2).

The kernel drops the lock when the process dies, even by kill -9, so it is never stale. `restore` takes the same
lock, so a program cannot start while its database is being replaced, and a database in use is never replaced.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class DatabaseInUse(Exception):
    """Another process holds the database: a running program, or a restore in progress. Carries a hint."""


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


class RunLock:
    def __init__(self, database: Path) -> None:
        self.path = lock_path(database)
        self._fd: int | None = None

    def acquire(self, purpose: str) -> RunLock:
        """Take the lock without waiting; raise `DatabaseInUse` naming the holder when someone has it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise DatabaseInUse(
                f"{self.path.with_suffix('')} is in use by {holder}; stop it first (systemctl stop <unit>)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{purpose} pid={os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def is_locked(database: Path) -> bool:
    """True while a program holds `database`'s run lock."""
    try:
        RunLock(database).acquire("probe").release()
    except DatabaseInUse:
        return True
    return False
