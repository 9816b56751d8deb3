"""Backup and restore of the PostgreSQL backend with PostgreSQL's own tools: `pg_dump --format=custom` (a
consistent snapshot while the servers run) and `pg_restore --clean` (every server stopped first). The DSN's
server settings (asyncpg's extra query parameters, such as search_path) are not libpq's: the schema goes to
pg_dump as --schema, the rest is left out."""

from __future__ import annotations

import secrets
import subprocess
import urllib.parse
from pathlib import Path

import asyncpg

from server.storage.postgres.store import settle_tables

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


def backup(dsn: str, dest: Path) -> None:
    """`pg_dump` of the county's database (its schema, when the DSN names one) into `dest`."""
    url, schema = libpq_dsn(dsn)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _run(["pg_dump", "--format=custom", "--no-owner", f"--file={dest}", *([f"--schema={schema}"] if schema else []),
          f"--dbname={url}"])


async def restore(dsn: str, source: Path) -> str:
    """Replace the county's tables by those of the dump (`pg_restore --clean --if-exists`), then give the restored
    database a new stream name (its PCs pull their township again from the beginning), and vacuum and analyze it;
    returns the stream name."""
    url, _ = libpq_dsn(dsn)
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", f"--dbname={url}",
          str(source)])
    stream = secrets.token_hex(8)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("UPDATE server_meta SET value = $1 WHERE key = 'stream'", stream)
        await settle_tables(conn)  # pg_restore brings no planner statistics
    finally:
        await conn.close()
    return stream
