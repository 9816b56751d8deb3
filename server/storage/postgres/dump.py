"""Backup and restore of the PostgreSQL backend with PostgreSQL's own tools: `pg_dump --format=custom` (a
consistent snapshot while the servers run) and `pg_restore --clean` (refused while any server or command of
the county is connected to its schema: each names its connections, `session_name`). The DSN's
server settings (asyncpg's extra query parameters, such as search_path) are not libpq's: the schema goes to
pg_dump as --schema, the rest is left out.

A dump is written under a temporary name and renamed when pg_dump has finished, so a dump that failed halfway never
carries the name (nor counts among the dated dumps that `county-server backup --to-dir` keeps). It is of the snapshot
in which the county's main tables were counted (`pg_dump --snapshot`): the counts it reports are what it holds.

The scanned materials' bytes are files, not rows (`server.storage.files`): a backup copies them beside the dump,
`<dump>.attachments/`, after the dump, so every file its rows name is there (a file is whole before its row is
written), hard-linking those the previous dated dump holds already; a restore puts them back beside the database,
as SQLite's backup and restore do (`ops.sqlite_backup`)."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Any

import asyncpg

from ops.sqlite_backup import BackupInfo, copy_files, files_of, fsync_dir
from server.storage.files import attachments_dir

# What libpq takes in a URI's query (https://www.postgresql.org/docs/current/libpq-connect.html); the rest are
# server settings for asyncpg.
_LIBPQ = {"host", "hostaddr", "port", "dbname", "user", "password", "passfile", "connect_timeout",
          "client_encoding", "options", "application_name", "sslmode", "sslcert", "sslkey", "sslrootcert",
          "sslcrl", "target_session_attrs", "gssencmode"}


_IN_USE_CHECKS = 4


class DumpError(Exception):
    pass


class InUse(DumpError):
    """A restore refused: servers or commands have the county's schema open."""


def session_name(dsn: str) -> str:
    """The application_name of every connection the county's stores open on `dsn` (`PostgresStore`): what a
    restore looks for in pg_stat_activity, from any host. Named by the schema, as one database may hold several."""
    return f"county-server {libpq_dsn(dsn)[1] or 'public'}"[:63]  # NAMEDATALEN - 1


def libpq_dsn(dsn: str) -> tuple[str, str | None]:
    """(the DSN with only libpq's parameters, the schema of its search_path or None)."""
    parts = urllib.parse.urlsplit(dsn)
    query = urllib.parse.parse_qsl(parts.query)
    schema = next((v.split(",")[0].strip() for k, v in query if k == "search_path"), None)
    kept = urllib.parse.urlencode([(k, v) for k, v in query if k in _LIBPQ])
    return urllib.parse.urlunsplit(parts._replace(query=kept)), schema


def _run(command: list[str]) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True)
    except FileNotFoundError:
        raise DumpError(f"{command[0]} not found: install PostgreSQL's client programs, of the server's major "
                        "version or newer (Debian: postgresql-client)") from None
    if done.returncode != 0:
        raise DumpError(done.stderr.strip() or f"{command[0]} exited {done.returncode}")


def backup(dsn: str, dest: Path, database: Path, tables: tuple[str, ...], *,
           previous: Path | None = None) -> BackupInfo:
    """`pg_dump` of the county's database (its schema, when the DSN names one) into `dest` (replaced if present),
    then the finished files of `database`'s attachments directory (the configured SQLite path's) into `dest`'s,
    linked from those of `previous` (the last dated dump) where it holds them. `tables` must be in the schema; the
    info counts their rows in the dump's snapshot."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    started = time.monotonic()
    try:
        counts = asyncio.run(_dump(dsn, tmp, tables))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    finally:
        tmp.unlink(missing_ok=True)
    files, copied = copy_files(attachments_dir(database), files_of(dest),
                               link_from=files_of(previous) if previous is not None else None)
    return BackupInfo(dest, dest.stat().st_size, int((time.monotonic() - started) * 1000), counts, files, copied)


async def _dump(dsn: str, dest: Path, tables: tuple[str, ...]) -> dict[str, int]:
    """pg_dump into `dest` of the snapshot in which `tables` are counted; their counts."""
    url, schema = libpq_dsn(dsn)
    conn = await _connect(dsn)
    try:
        # The dump reads the snapshot of this transaction, which stays open until pg_dump has finished.
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            present = {r[0] for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
            missing = [t for t in tables if t not in present]
            if missing:
                raise DumpError(f"schema {schema or 'public'} holds no county's tables (missing: {', '.join(missing)})"
                                "; check [storage] dsn, or start the server once to create them")
            counts = {t: int(await conn.fetchval(f'SELECT count(*) FROM "{t}"')) for t in tables}
            await asyncio.to_thread(_run, ["pg_dump", "--format=custom", "--no-owner", f"--snapshot={snapshot}",
                                           f"--file={dest}", *([f"--schema={schema}"] if schema else []),
                                           f"--dbname={url}"])
            return counts
    except asyncpg.PostgresError as exc:
        raise DumpError(f"PostgreSQL: {exc}") from exc
    finally:
        await conn.close()


async def _connect(dsn: str) -> Any:
    try:
        return await asyncpg.connect(dsn)
    except (OSError, asyncpg.PostgresError) as exc:
        raise DumpError(f"cannot connect to [storage] dsn: {exc}") from exc


async def settle_tables(conn: Any) -> None:
    """VACUUM (ANALYZE) every table of the schema, after it was filled in bulk (`storage copy`, `storage restore`):
    the planner gets statistics at once instead of at autovacuum's next round, and the visibility map lets the
    dashboard's counts over the open cases be index-only scans."""
    for (table,) in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                                     "ORDER BY tablename"):
        await conn.execute(f'VACUUM (ANALYZE) "{table}"')


async def restore(dsn: str, source: Path, database: Path) -> tuple[str, int, int]:
    """Unless a county-server connection has the schema open (`session_name`; raises `InUse`), replace the county's
    tables by those of the dump (`pg_restore --clean --if-exists`), then give the restored database a new stream
    name (its PCs pull their township again from the beginning) and vacuum and analyze it, then put the dump's files
    beside `database` (those there already are kept: a name is its bytes); (the stream, files, of them copied)."""
    _refuse_if_not_a_dump(source)
    url, schema = libpq_dsn(dsn)
    conn = await _connect(dsn)
    try:
        for _ in range(_IN_USE_CHECKS):  # a server just stopped: its sessions end a moment after it
            sessions = await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                           " AND application_name = $1", session_name(dsn))
            if not sessions:
                break
            await asyncio.sleep(0.5)
        else:
            raise InUse(f"schema {schema or 'public'} is in use by {sessions} connection(s) of county-server (a "
                        "running server, its ingest workers or a command, on any host): stop every server first "
                        "(systemctl stop county-server)")
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", f"--dbname={url}",
              str(source)])
        stream = secrets.token_hex(8)
        await conn.execute("UPDATE server_meta SET value = $1 WHERE key = 'stream'", stream)
        await settle_tables(conn)  # pg_restore brings no planner statistics
    finally:
        await conn.close()
    files, copied = copy_files(files_of(source), attachments_dir(database))
    return stream, files, copied


def _refuse_if_not_a_dump(source: Path) -> None:
    with open(source, "rb") as f:
        head = f.read(16)
    if head.startswith(b"PGDMP"):  # pg_dump's custom format
        return
    if head == b"SQLite format 3\x00":
        raise DumpError(f"{source} is a backup of a SQLite database, not a pg_dump: restore it with [storage] backend "
                        '= "sqlite", then move it over with `county-server storage copy --to postgres`')
    raise DumpError(f"{source} is not a pg_dump archive (custom format) written by `county-server backup` or "
                    "`storage backup`")
