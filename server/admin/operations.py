"""The county server's side of `backup`, `restore` and `doctor` (the commands are `ops.commands`).

After a restore nothing is asked of the township PCs: an agent whose events the restored database lacks sees an
acknowledgement lower than before and sends them again (agent/sync/syncer.py).
"""

from __future__ import annotations

import secrets
import sqlite3
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ops import doctor
from ops.doctor import Check
from ops.runlock import is_locked
from server.config import ServerConfig
from server.errors import ConfigError
from server.model.reference import load_reference
from server.storage.sqlite.store import MIGRATIONS_DIR

REQUIRED_TABLES = ("schema_migrations", "agents", "events", "cases")


def new_stream_on_restore(config: ServerConfig, backup_file: Path) -> Callable[[sqlite3.Connection], None]:
    """What a restore changes in the restored copy: a new name for its event positions (`server.model.cursor`), so
    that PCs pull from the beginning instead of skipping the positions the copy hands out again. (A backup from before
    migration 0010 has no stream yet; it gets one when the server migrates it.)"""

    def rename(db: sqlite3.Connection) -> None:
        if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'server_meta'").fetchone():
            db.execute("UPDATE server_meta SET value = ? WHERE key = 'stream'", (secrets.token_hex(8),))

    return rename
MIN_ADMIN_TOKEN = 16


def shipped_migrations() -> list[int]:
    return sorted(int(p.name[:4]) for p in MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def run_checks(config: ServerConfig) -> list[Check]:
    checks = [doctor.ok("config", f"{config.source} is valid")]
    if len(config.admin_token) < MIN_ADMIN_TOKEN or config.admin_token.startswith("change-me"):
        checks.append(doctor.fail("admin", "server.admin_token is the example's or too short",
                                  "set a long random one: python3 -c 'import secrets; "
                                  "print(secrets.token_urlsafe(32))'"))
    try:
        reference = load_reference(config.org_units, config.catalog)
        checks.append(doctor.ok("reference", f"{len(reference.org_units)} org units, {len(reference.items)} "
                                "catalog items"))
    except ConfigError as e:
        checks.append(doctor.fail("reference", str(e), "fix the CSV file named above"))
    if config.storage_backend == "postgres":
        checks.append(check_postgres(config))
    else:
        checks.append(doctor.check_database(config.database, shipped_migrations(), column="version"))
    checks.append(doctor.check_disk(config.database))
    checks.append(_check_running(config))
    return checks


def check_postgres(config: ServerConfig) -> Check:
    """The PostgreSQL backend: it answers, and which of this version's migrations are applied."""
    import asyncio

    from server.storage.postgres.store import migration_files, read_migrations

    shipped = [v for v, _ in migration_files()]
    try:
        applied = asyncio.run(read_migrations(config.postgres_dsn))
    except Exception as e:
        return doctor.fail("database", f"PostgreSQL does not answer or cannot be read: {e}",
                           "check [storage] dsn, that PostgreSQL runs, and its pg_hba.conf for this host and user")
    if applied is None:
        return doctor.warn("database", "PostgreSQL answers; the schema is not made yet",
                           "it is made at the first start of the server (or `county-server storage copy`)")
    missing = [n for n in shipped if n not in applied]
    unknown = sorted(applied - set(shipped))
    if unknown:
        return doctor.fail("database", f"PostgreSQL has migrations {unknown} this version does not know",
                           "the database is from a newer version: install that version again, do not downgrade")
    if missing:
        return doctor.warn("database", f"PostgreSQL ok; migrations {missing} will be applied at the next start",
                           "restart the server to apply them")
    return doctor.ok("database", f"PostgreSQL ok, schema {max(applied, default=0)}")


_START_IT = "start it: systemctl start county-server (township PCs keep working offline meanwhile)"


def _check_running(config: ServerConfig) -> Check:
    """On SQLite the run lock tells whether the server runs; on PostgreSQL no lock does (several servers share the
    database), so nothing listening at this server's own port is the server not running."""
    sqlite = config.storage_backend == "sqlite"
    if sqlite and not is_locked(config.database):
        return doctor.warn("running", "county-server is not running", _START_IT)
    host = "127.0.0.1" if config.host in ("0.0.0.0", "::", "") else config.host
    url = f"{'https' if config.tls_cert_file else 'http'}://{host}:{config.port}/readyz"
    context = None
    if config.tls_cert_file:
        # Its own /readyz on this box, nothing secret sent: the certificate is the server's own and may not name
        # the address asked here.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as resp:
            resp.read()
        return doctor.ok("running", f"county-server is running and ready at {url}")
    except urllib.error.HTTPError as e:
        return doctor.fail("running", f"county-server runs but is not ready ({url}: HTTP {e.code})",
                           "read journalctl -u county-server -n 50")
    except (urllib.error.URLError, OSError) as e:
        if not sqlite and isinstance(getattr(e, "reason", e), ConnectionRefusedError):
            return doctor.warn("running", f"county-server is not running (nothing listens at {url})", _START_IT)
        held = "holds the database but " if sqlite else ""
        return doctor.fail("running", f"county-server {held}does not answer at {url} ({e})",
                           "check server.host/server.port; read journalctl -u county-server -n 50")
