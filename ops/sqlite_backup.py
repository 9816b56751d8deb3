"""Online backup and offline restore of a program's SQLite database.

`backup()` uses SQLite's backup API in one step: one read transaction, so the copy is the consistent state of one
moment even while the program keeps writing (WAL lets the writer go on meanwhile). It writes a temporary file,
checks it, fsyncs it and renames it into place, so a half-written backup never carries the final name.

`restore()` replaces the database with a backup only when nothing has it open. Two independent checks, because each
alone can be fooled:
1. the run lock (`ops.runlock`): held by our own programs for their whole life, kill -9 included;
2. SQLite itself: leaving WAL mode needs the database to itself, so `PRAGMA journal_mode=DELETE` fails while any
   process (a program, a sqlite3 shell, a doctor run) has the database open. `BEGIN EXCLUSIVE` would not do: in WAL
   mode it does not see idle readers.
The replaced database and its `-wal` are kept beside it (`<name>.before-restore-<time>`), never deleted: a stale
`-wal` next to a restored database would corrupt it, so it is moved away with the file it belongs to.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ops.runlock import DatabaseInUse, RunLock

log = logging.getLogger(__name__)

SIDE_FILES = ("-wal", "-shm", "-journal")


class BackupError(Exception):
    """The backup could not be made or the file is not a usable backup; the message says what to do."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size_bytes: int
    took_ms: int
    tables: dict[str, int]


def _check(db: sqlite3.Connection, path: Path, required_tables: tuple[str, ...]) -> dict[str, int]:
    result = db.execute("PRAGMA quick_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"{path}: SQLite quick_check failed: {result}")
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = [t for t in required_tables if t not in names]
    if missing:
        raise BackupError(f"{path}: not a backup of this program (tables missing: {', '.join(missing)})")
    return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in required_tables}


def backup(source: Path, dest: Path, *, required_tables: tuple[str, ...] = ("schema_migrations",)) -> BackupInfo:
    """Copy the live database `source` to `dest` (replaced if present). Safe while the program runs."""
    if not source.exists():
        raise BackupError(f"{source}: no such database; check `database` in the config")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    started = time.monotonic()
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        out = sqlite3.connect(tmp)
        try:
            src.backup(out)  # pages=-1: all at once, in one read transaction
            out.execute("PRAGMA journal_mode=DELETE")  # a backup is one self-contained file
            tables = _check(out, source, required_tables)
        finally:
            out.close()
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    except sqlite3.Error as e:
        raise BackupError(f"backup of {source} failed: {e}") from e
    finally:
        src.close()
        tmp.unlink(missing_ok=True)
    info = BackupInfo(dest, dest.stat().st_size, int((time.monotonic() - started) * 1000), tables)
    log.info("backup written size_bytes=%d took_ms=%d", info.size_bytes, info.took_ms)
    return info


def prune(directory: Path, pattern: str, keep: int) -> list[Path]:
    """Delete all but the newest `keep` files matching `pattern` (names sort by time). Returns what it deleted."""
    found = sorted(directory.glob(pattern))
    doomed = found[:-keep] if keep > 0 else found
    for path in doomed:
        path.unlink()
    return doomed


def restore(backup_file: Path, database: Path, *, required_tables: tuple[str, ...] = ("schema_migrations",),
            prepare: Callable[[sqlite3.Connection], None] | None = None) -> Path | None:
    """Replace `database` with a copy of `backup_file`. Raises `DatabaseInUse` if anything has the database open.

    `prepare(connection)` may change the copy (in one transaction) before it takes the database's place.
    Returns where the replaced database was kept, or None when there was none.
    """
    if not backup_file.exists():
        raise BackupError(f"{backup_file}: no such backup file")
    with RunLock(database).acquire("restore"):
        _refuse_if_open(database)
        tmp = database.with_name(f".{database.name}.restore-{os.getpid()}")
        try:
            src = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
            out = sqlite3.connect(tmp, isolation_level=None)
            try:
                _check(src, backup_file, required_tables)
                src.backup(out)
                out.execute("PRAGMA journal_mode=WAL")
                if prepare is not None:
                    out.execute("BEGIN IMMEDIATE")
                    prepare(out)
                    out.execute("COMMIT")
                out.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                src.close()
                out.close()
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            kept = _move_aside(database)
            os.replace(tmp, database)
            fsync_dir(database.parent)
        except sqlite3.Error as e:
            raise BackupError(f"restore from {backup_file} failed: {e}; the database was not changed") from e
        finally:
            for suffix in ("", *SIDE_FILES):
                Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    log.info("restore done kept_old=%s", kept is not None)
    return kept


def _refuse_if_open(database: Path) -> None:
    if not database.exists():
        return
    db = sqlite3.connect(database, isolation_level=None, timeout=0)
    try:
        db.execute("PRAGMA journal_mode=DELETE")  # needs the database to itself: fails while anyone has it open
    except sqlite3.OperationalError as e:
        raise DatabaseInUse(f"{database} is open in another process ({e}); stop the program and any sqlite3 "
                            "session using it, then restore again") from None
    finally:
        db.close()


def _move_aside(database: Path) -> Path | None:
    if not database.exists():
        return None
    stamp = time.strftime("%Y%m%dT%H%M%S")
    kept = database.with_name(f"{database.name}.before-restore-{stamp}")
    for suffix in ("", *SIDE_FILES):
        side = Path(f"{database}{suffix}")
        if side.exists():
            os.replace(side, f"{kept}{suffix}")
    return kept


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
