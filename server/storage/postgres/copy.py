"""`county-server storage copy --to postgres`: a county's SQLite database into an empty PostgreSQL database.

The SQLite file is read in one snapshot (a read transaction: the server may keep running and ingesting; what it
stores after the snapshot its PCs send again to the new server, since their acknowledgements come from the copy).
The PostgreSQL side is migrated first, then every table both schemas have is copied by binary COPY, column by
column of the same name, in one transaction: a failure leaves the target empty. Positions (`events.pos`) and audit
entry numbers are kept, and so is the stream name, so a PC's pull cursor stays valid; the identity sequences move
past the copied numbers. Last, every table is vacuumed and analyzed, so the copy starts with the planner's
statistics and a visibility map (without them the dashboard's open-case counts read the heap: 10x slower).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from server.storage.postgres.dump import settle_tables
from server.storage.postgres.store import PostgresStore

CHUNK = 20_000
# Made by the PostgreSQL migrations themselves, or only there.
_SKIP = {"schema_migrations", "townships"}
_IDENTITIES = {"events": "pos", "audit_log": "entry_id"}


class CopyRefused(Exception):
    """The target already holds a county's data."""


async def copy_sqlite_to_postgres(source: Path, target: PostgresStore) -> dict[str, int]:
    """Rows copied per table. `target` is open (migrated); raises CopyRefused when it holds events or cases."""
    pool = target.pool
    if await pool.fetchval("SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM cases)"):
        raise CopyRefused("the PostgreSQL database holds events or cases already: copy into an empty one")
    pg_columns: dict[str, list[str]] = {}
    for table, column in await pool.fetch(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "ORDER BY table_name, ordinal_position"):
        pg_columns.setdefault(table, []).append(column)
    copied: dict[str, int] = {}
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as db:
        db.execute("BEGIN")  # one snapshot of every table
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                           "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        async with pool.acquire() as conn, conn.transaction():
            # A trigger keeps the audit log append-only; a copy appends, so it passes.
            for table in tables:
                if table in _SKIP or table not in pg_columns:
                    continue
                have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
                columns = [c for c in pg_columns[table] if c in have]
                await conn.execute(f"DELETE FROM {table}")  # what the migrations put there (server_meta's rows)
                cursor = db.execute(f"SELECT {', '.join(columns)} FROM {table}")
                n = 0
                while rows := cursor.fetchmany(CHUNK):
                    await conn.copy_records_to_table(table, records=[_values(r) for r in rows], columns=columns)
                    n += len(rows)
                copied[table] = n
            for table, column in _IDENTITIES.items():
                await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                                   f"coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)")
            await conn.execute("INSERT INTO townships (code) SELECT DISTINCT township_code FROM agents "
                               "UNION SELECT substr(code, 1, 9) FROM org_units WHERE level = 'township' "
                               "ON CONFLICT DO NOTHING")
        db.execute("ROLLBACK")
    async with pool.acquire() as conn:
        await settle_tables(conn)
    return copied


def _values(row: Any) -> tuple[Any, ...]:
    return tuple(v.decode() if isinstance(v, bytes) else v for v in row)
