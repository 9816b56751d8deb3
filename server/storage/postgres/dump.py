"""Backup and restore of the PostgreSQL backend with PostgreSQL's own tools: `pg_dump --format=custom` (a
consistent snapshot while the servers run) and `pg_restore --clean` (refused while any server or command of
the county is connected to its schema: each names its connections, `session_name`). The DSN's
server settings (asyncpg's extra query parameters, such as search_path) are not libpq's: the schema goes to
pg_dump as --schema, the rest is left out.

The scanned materials' bytes are files, not rows (`server.storage.files`): a backup copies them beside the dump,
`<dump>.attachments/`, after the dump, so every file its rows name is there (a file is whole before its row is
written); a restore puts them back beside the database, as SQLite's backup and restore do (`ops.sqlite_backup`)."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

import asyncpg

from ops.sqlite_backup import copy_files, files_of
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
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise DumpError(done.stderr.strip() or f"{command[0]} exited {done.returncode}")


def backup(dsn: str, dest: Path, database: Path) -> tuple[int, int]:
    """`pg_dump` of the county's database (its schema, when the DSN names one) into `dest`, then the finished files
    of `database`'s attachments directory (the configured SQLite path's) into `dest`'s; (files, of them copied)."""
    url, schema = libpq_dsn(dsn)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _run(["pg_dump", "--format=custom", "--no-owner", f"--file={dest}", *([f"--schema={schema}"] if schema else []),
          f"--dbname={url}"])
    return copy_files(attachments_dir(database), files_of(dest))


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
    url, schema = libpq_dsn(dsn)
    conn = await asyncpg.connect(dsn)
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
