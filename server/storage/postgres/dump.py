"""Backup and restore of the PostgreSQL backend with PostgreSQL's own tools: `pg_dump --format=custom` (a
consistent snapshot while the servers run) and `pg_restore --clean` (every server stopped first). The DSN's
server settings (asyncpg's extra query parameters, such as search_path) are not libpq's: the schema goes to
pg_dump as --schema, the rest is left out.

The scanned materials' bytes are files, not rows (`server.storage.files`): a backup copies them beside the dump,
`<dump>.attachments/`, after the dump, so every file its rows name is there (a file is whole before its row is
written); a restore puts them back beside the database, as SQLite's backup and restore do (`ops.sqlite_backup`)."""

from __future__ import annotations

import secrets
import subprocess
import urllib.parse
from pathlib import Path

import asyncpg

from ops.sqlite_backup import copy_files, files_of
from server.storage.files import attachments_dir

# What libpq takes in a URI's query (https://www.postgresql.org/docs/current/libpq-connect.html); the rest are
# server settings for asyncpg.
_LIBPQ = {"host", "hostaddr", "port", "dbname", "user", "password", "passfile", "connect_timeout",
          "client_encoding", "options", "application_name", "sslmode", "sslcert", "sslkey", "sslrootcert",
          "sslcrl", "target_session_attrs", "gssencmode"}


class DumpError(Exception):
    pass


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


async def restore(dsn: str, source: Path, database: Path) -> tuple[str, int, int]:
    """Replace the county's tables by those of the dump (`pg_restore --clean --if-exists`), then give the restored
    database a new stream name (its PCs pull their township again from the beginning), then put the dump's files
    beside `database` (those there already are kept: a name is its bytes); (the stream, files, of them copied)."""
    url, _ = libpq_dsn(dsn)
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", f"--dbname={url}",
          str(source)])
    stream = secrets.token_hex(8)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("UPDATE server_meta SET value = $1 WHERE key = 'stream'", stream)
    finally:
        await conn.close()
    files, copied = copy_files(files_of(source), attachments_dir(database))
    return stream, files, copied
