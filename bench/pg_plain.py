"""The PostgreSQL half of bench/ingest_bench.py: a schema of its own per run, and the plain path the HTTP figure is
compared with: the rows the server wrote, read back per batch, written again into a fresh schema by asyncpg with
one transaction per batch, binary COPY into staging tables and INSERT ... SELECT ... ON CONFLICT (the same SQL
shape as the server's, without the fold, the checks, HTTP or the township lock). The rows are those of
bench/ingest_bench.py's SQLite plain path: events, cases, and the six rollup grains (by handling unit and by
residence) each batch touched."""

from __future__ import annotations

import asyncio
import secrets
import time
import urllib.parse

import asyncpg

from server.model.rollups import UNIT_LENGTHS
from server.storage.postgres.store import migrate
from server.storage.rollup_tables import ROLLUP_TABLES
from server.storage.sqlite.ingest import CASE_COLUMNS, EVENT_COLUMNS

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"

# daily, month, month by channel; then the same by residence
GRAINS = ROLLUP_TABLES
Rows = tuple[list, ...]  # events, cases, then one list per grain of GRAINS


def schema_dsn(dsn: str, schema: str) -> str:
    return f"{dsn}{'&' if '?' in dsn else '?'}search_path={urllib.parse.quote(schema)}"


async def create_schema(dsn: str, prefix: str) -> tuple[str, str]:
    schema = f"{prefix}_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    return schema, schema_dsn(dsn, schema)


async def drop_schema(dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def plain_rows(dsn: str, loads: list, batch: int) -> list[Rows]:
    """Per batch: its event rows, and the case and rollup rows it touched, as finally stored."""
    conn = await asyncpg.connect(dsn)
    try:
        events = {r[0]: tuple(r) for r in await conn.fetch(f"SELECT {', '.join(EVENT_COLUMNS)} FROM events")}
        cases = {r[0]: tuple(r) for r in await conn.fetch(f"SELECT {', '.join(CASE_COLUMNS)} FROM cases")}
        tables = []
        for t in GRAINS:
            n = len(t.key_columns)
            tables.append({tuple(r[:n]): tuple(r) for r in await conn.fetch(t.select_all_sql)})
    finally:
        await conn.close()
    rollups, months, month_channels, residence, residence_months, residence_channels = tables
    out = []
    for load in loads:
        for i in range(0, len(load.events), batch):
            chunk = load.events[i:i + batch]
            touched = dict.fromkeys(e["case_id"] for e in chunk)
            keys = dict.fromkeys((cases[e["case_id"]][3], e["at"][:10], cases[e["case_id"]][6],
                                  cases[e["case_id"]][7]) for e in chunk if e["case_id"] in cases)
            month_keys = dict.fromkeys((org[:n], day[:7], category, channel)
                                       for org, day, category, channel in keys for n in UNIT_LENGTHS)
            channel_keys = dict.fromkeys((unit, month, channel) for unit, month, _, channel in month_keys)
            # by where the applicant lives (the case's village, else its unit's county code)
            homes = dict.fromkeys((cases[e["case_id"]][4] or cases[e["case_id"]][3][:6] + "000000", e["at"][:10],
                                   cases[e["case_id"]][6], cases[e["case_id"]][7])
                                  for e in chunk if e["case_id"] in cases)
            home_months = dict.fromkeys((home[:n], day[:7], category, channel)
                                        for home, day, category, channel in homes for n in UNIT_LENGTHS)
            home_channels = dict.fromkeys((unit, month, channel) for unit, month, _, channel in home_months)
            out.append(([events[e["event_id"]] for e in chunk], [cases[c] for c in touched if c in cases],
                        sorted(rollups[k] for k in keys if k in rollups),
                        sorted(months[k] for k in month_keys if k in months),
                        sorted(month_channels[k] for k in channel_keys if k in month_channels),
                        sorted(residence[k] for k in homes if k in residence),
                        sorted(residence_months[k] for k in home_months if k in residence_months),
                        sorted(residence_channels[k] for k in home_channels if k in residence_channels)))
    return out


async def plain_write(dsn: str, batches: list[Rows]) -> float:
    """Seconds to write every batch into a fresh schema (migrated like the server's)."""
    schema, target = await create_schema(dsn, "bench_plain")
    conn = await asyncpg.connect(target)
    try:
        await migrate(conn)
        grains = GRAINS
        columns = {"cases": CASE_COLUMNS}
        for t in grains:
            columns[t.name] = tuple(a.name for a in (await conn.prepare(t.select_all_sql)).get_attributes())
        for table, cols in columns.items():
            await conn.execute(f"CREATE TEMP TABLE stage_{table} ON COMMIT DELETE ROWS AS "
                               f"SELECT {', '.join(cols)} FROM {table} WITH NO DATA")
        case_upsert = " ON CONFLICT (case_id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}"
                                                                          for c in CASE_COLUMNS[1:])
        tails = {"cases": case_upsert, **{t.name: t.upsert_tail for t in grains}}
        order = {"cases": "", **{t.name: " ORDER BY " + ", ".join(t.key_columns) for t in grains}}
        started = time.perf_counter()
        for ev_rows, case_rows, *rollup_rows in batches:
            async with conn.transaction():
                await conn.copy_records_to_table("events", records=ev_rows, columns=list(EVENT_COLUMNS))
                for table, rows in zip(("cases", *(t.name for t in grains)), (case_rows, *rollup_rows),
                                       strict=True):
                    if rows:
                        cols = ", ".join(columns[table])
                        await conn.copy_records_to_table(f"stage_{table}", records=rows, columns=list(columns[table]))
                        await conn.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM stage_{table}"
                                           f"{order[table]}{tails[table]}")
        return time.perf_counter() - started
    finally:
        await conn.close()
        await drop_schema(dsn, schema)


def run(coro):
    return asyncio.run(coro)
