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
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ops.runlock import DatabaseInUse, RunLock

log = logging.getLogger(__name__)

SIDE_FILES = ("-wal", "-shm", "-journal")
# A database's files (scanned materials: both programs keep them content-addressed in `<database>.attachments/`).
# A backup holds them in `<backup file>.attachments/`; files under these names never change, so a copy that exists
# is the same file, and only new ones are copied. Unfinished files (`tmp/`, `uploads/`) are not part of a backup.
FILES_SUFFIX = ".attachments"
UNFINISHED_DIRS = ("tmp", "uploads")


class BackupError(Exception):
    """The backup could not be made or the file is not a usable backup; the message says what to do."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size_bytes: int
    took_ms: int
    tables: dict[str, int]
    files: int = 0  # files of the database's files directory in the backup
    files_copied: int = 0  # of those, copied this time (the rest were there already or linked to the last backup)


def files_of(database: Path) -> Path:
    return database.with_name(database.name + FILES_SUFFIX)


def copy_files(source: Path, dest: Path, *, link_from: Path | None = None) -> tuple[int, int]:
    """Every finished file under `source` into `dest` unless there: hard-linked from `link_from` (the previous
    backup's files) when it holds it, else copied (to a temporary name, fsynced, renamed). (files, copied)."""
    if not source.is_dir():
        return 0, 0
    files = copied = 0
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if not path.is_file() or rel.parts[0] in UNFINISHED_DIRS:
            continue
        files += 1
        target = dest / rel
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        previous = link_from / rel if link_from is not None else None
        if previous is not None and previous.is_file():
            os.link(previous, target)
            continue
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        shutil.copyfile(path, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
        copied += 1
    if copied:
        for directory in {p.parent for p in dest.rglob("*") if p.is_file()} | {dest}:
            fsync_dir(directory)
    return files, copied


def _check(db: sqlite3.Connection, path: Path, required_tables: tuple[str, ...]) -> dict[str, int]:
    result = db.execute("PRAGMA quick_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"{path}: SQLite quick_check failed: {result}")
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = [t for t in required_tables if t not in names]
    if missing:
        raise BackupError(f"{path}: not a backup of this program (tables missing: {', '.join(missing)})")
    return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in required_tables}


def backup(source: Path, dest: Path, *, required_tables: tuple[str, ...] = ("schema_migrations",),
           previous: Path | None = None) -> BackupInfo:
    """Copy the live database `source` to `dest` (replaced if present), then its files (`files_of`) beside it;
    `previous`: the last backup, whose files are linked rather than copied again. Safe while the program runs: the
    database is copied first, so every file its rows name is already there when the files are copied."""
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
    files, copied = copy_files(files_of(source), files_of(dest),
                               link_from=files_of(previous) if previous is not None else None)
    info = BackupInfo(dest, dest.stat().st_size, int((time.monotonic() - started) * 1000), tables, files, copied)
    log.info("backup written size_bytes=%d files=%d files_copied=%d took_ms=%d", info.size_bytes, files, copied,
             info.took_ms)
    return info


def prune(directory: Path, pattern: str, keep: int) -> list[Path]:
    """Delete all but the newest `keep` files matching `pattern` (names sort by time). Returns what it deleted."""
    found = sorted(directory.glob(pattern))
    doomed = found[:-keep] if keep > 0 else found
    for path in doomed:
        path.unlink()
        shutil.rmtree(files_of(path), ignore_errors=True)
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
    # The backup's files join the live ones (names are contents: nothing there is replaced).
    files, copied = copy_files(files_of(backup_file), files_of(database))
    log.info("restore done kept_old=%s files=%d files_copied=%d", kept is not None, files, copied)
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
