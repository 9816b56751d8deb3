"""The ingest's SQL on PostgreSQL: reads bound to a connection (inside the batch's transaction, under the township's
lock), and one push's rows written in that transaction.

Writes go by binary COPY (asyncpg's `copy_records_to_table`): straight into the append-only tables (events,
consultations, orphans: a duplicate there is a bug upstream and must raise), and into temporary staging tables for
the tables that upsert (cases, conflicts, refusals, the three rollup grains), then one `INSERT ... SELECT ... ON
CONFLICT` each. The rollup upserts read their staging rows in key order: two townships' batches that share a
county's month rows lock them in the same order and never deadlock. Staging tables are made once per connection
(`prepare_connection`) and empty themselves at every commit or rollback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from protocol.causal import CaseMeta
from protocol.lifecycle import Case
from protocol.messages import Conflict
from server.model.rollups import METRICS
from server.storage.base import BatchWrite, CaseRecord, StoredEvent
from server.storage.rollup_tables import ROLLUP_TABLES, RollupTable, delta_rows
from server.storage.rows import (
    CASE_COLUMNS,
    CONFLICT_COLUMNS,
    CONSULTATION_COLUMNS,
    EVENT_COLUMNS,
    REFUSAL_COLUMNS,
    case_row,
    china_day,
    conflict_row,
)

Connection = Any  # asyncpg.Connection (asyncpg ships no type information)

_case = msgspec.json.Decoder(Case)
_meta = msgspec.json.Decoder(CaseMeta)
_conflict = msgspec.json.Decoder(Conflict)

def _rollup_columns(t: RollupTable) -> tuple[str, ...]:
    return (*t.key_columns, *METRICS)


# table -> the columns its staging table `stage_<table>` has (those the batch writes)
STAGED_COLUMNS: dict[str, tuple[str, ...]] = {
    "cases": CASE_COLUMNS, "conflicts": CONFLICT_COLUMNS, "refused_events": REFUSAL_COLUMNS,
    **{t.name: _rollup_columns(t) for t in ROLLUP_TABLES}}

_CASE_UPSERT = " ON CONFLICT (case_id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in CASE_COLUMNS[1:])
# A conflict found again keeps when it was first found, and when it was settled.
_CONFLICT_UPSERT = (" ON CONFLICT (event_id) DO UPDATE SET "
                    + ", ".join(f"{c} = excluded.{c}" for c in CONFLICT_COLUMNS[1:8]) + ", body = excluded.body, "
                    "settled_at = CASE WHEN excluded.is_open = 1 THEN NULL "
                    "ELSE coalesce(conflicts.settled_at, excluded.settled_at) END")
STALE_CONFLICTS_SQL = "DELETE FROM conflicts WHERE case_id = ANY($1::text[]) AND NOT (event_id = ANY($2::text[]))"
ADOPT_SQL = "DELETE FROM orphan_events WHERE case_id = ANY($1::text[])"
USAGE_SQL = ("INSERT INTO agent_usage (agent_id, day, events, bytes) VALUES ($1, $2, $3, $4) "
             "ON CONFLICT (agent_id, day) DO UPDATE SET events = agent_usage.events + excluded.events, "
             "bytes = agent_usage.bytes + excluded.bytes")
# The acknowledgement, as on SQLite (`server.storage.sqlite.ingest.ACK_SQL`): the highest seq N such that every seq
# up to N of the agent is stored or refused; at most $5 seqs past the old one are read.
ACK_SQL = """
UPDATE agents SET last_push_at = $2, software_version = $3, pending = $4, protocol_version = $6,
    pull_cursor = coalesce($7, pull_cursor), digest_agrees = coalesce($8, digest_agrees), acked_seq = coalesce((
    SELECT max(seq) FROM (
        SELECT seq, seq - row_number() OVER (ORDER BY seq) AS run FROM (
            (SELECT seq FROM events WHERE agent_id = $1 AND seq > agents.acked_seq
             UNION SELECT seq FROM refused_events WHERE agent_id = $1 AND seq > agents.acked_seq)
            ORDER BY seq LIMIT $5) AS s) AS r
    WHERE run = agents.acked_seq), acked_seq)
WHERE agent_id = $1
RETURNING acked_seq
"""
ACK_WINDOW = 20_000
STORED_EVENT_COLUMNS = ("event_id, agent_id, seq, case_id, kind, at, offset_ms, order_key, data, parents, replaces, "
                        "staff_id")


async def prepare_connection(conn: Connection) -> None:
    """Each new connection of the pool: its staging tables (temporary: its own, emptied at each transaction's end)."""
    for table, columns in STAGED_COLUMNS.items():
        await conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS stage_{table} ON COMMIT DELETE ROWS AS "
                           f"SELECT {', '.join(columns)} FROM {table} WITH NO DATA")


def stored_event(r: Any) -> StoredEvent:
    """A row of STORED_EVENT_COLUMNS."""
    parents = r[9]
    return StoredEvent(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8].encode(),
                       None if parents is None else parents.encode(), r[10], r[11])


def case_record(r: Any) -> CaseRecord:
    """A row of (body, category, last_key, meta)."""
    return CaseRecord(_case.decode(r[0]), r[1], r[2], _meta.decode(r[3]))


class ConnectionReads:
    """`IngestReads` on one connection: inside the batch's transaction (after the township's lock, so they see every
    batch of the township committed before), or outside any, on the committed state."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def stored_events(self, event_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        if not event_ids:
            return {}
        rows = await self._conn.fetch("SELECT event_id, agent_id, seq FROM events WHERE event_id = ANY($1::text[])",
                                      list(event_ids))
        return {r[0]: (r[1], r[2]) for r in rows}

    async def seq_owners(self, agent_id: str, seqs: Sequence[int]) -> dict[int, str]:
        if not seqs:
            return {}
        rows = await self._conn.fetch(
            "SELECT seq, event_id FROM events WHERE agent_id = $1 AND seq = ANY($2::bigint[]) "
            "UNION ALL SELECT seq, event_id FROM refused_events WHERE agent_id = $1 AND seq = ANY($2::bigint[]) "
            "AND code <> 'seq_reused'", agent_id, list(seqs))
        return {r[0]: r[1] for r in rows}

    async def load_cases(self, case_ids: Iterable[str]) -> dict[str, CaseRecord]:
        ids = list(case_ids)
        if not ids:
            return {}
        rows = await self._conn.fetch(
            "SELECT body, category, last_key, meta FROM cases WHERE case_id = ANY($1::text[])", ids)
        return {(record := case_record(r)).case.case_id: record for r in rows}

    async def events_of_cases(self, case_ids: Sequence[str]) -> list[StoredEvent]:
        if not case_ids:
            return []
        rows = await self._conn.fetch(
            f"SELECT {STORED_EVENT_COLUMNS} FROM events WHERE case_id = ANY($1::text[])", list(case_ids))
        return [stored_event(r) for r in rows]

    async def grant_cases(self, grant_ids: Sequence[str]) -> dict[str, str]:
        if not grant_ids:
            return {}
        rows = await self._conn.fetch(
            "SELECT grant_id, case_id FROM correction_grants WHERE grant_id = ANY($1::text[])", list(grant_ids))
        return {r[0]: r[1] for r in rows}

    async def stored_consultations(self, consultation_ids: Sequence[str]) -> set[str]:
        if not consultation_ids:
            return set()
        rows = await self._conn.fetch(
            "SELECT consultation_id FROM consultations WHERE consultation_id = ANY($1::text[])",
            list(consultation_ids))
        return {r[0] for r in rows}


def _text(value: object) -> object:
    """JSON columns are made as UTF-8 bytes (`server.storage.rows`); PostgreSQL's text codec takes str."""
    return value.decode() if isinstance(value, bytes) else value


def _texts(rows: Iterable[Sequence[object]]) -> list[tuple[object, ...]]:
    return [tuple(_text(v) for v in row) for row in rows]


_CASE_JSON = (CASE_COLUMNS.index("body"), CASE_COLUMNS.index("meta"))


def _case_texts(rows: Iterable[Sequence[object]]) -> list[list[object]]:
    """`_texts` of case rows, which hold bytes in their two JSON columns only (a batch's cases are most of its
    cells: looking at just those two halves the conversion's cost)."""
    out = []
    for row in rows:
        values = list(row)
        for i in _CASE_JSON:
            value = values[i]
            if isinstance(value, bytes):
                values[i] = value.decode()
        out.append(values)
    return out


async def copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    if rows:
        await conn.copy_records_to_table(table, records=rows, columns=list(columns))


async def upsert_staged(conn: Connection, table: str, rows: Sequence[Sequence[object]], tail: str,
                        order_by: Sequence[str] = ()) -> None:
    """COPY `rows` into `stage_<table>`, then move them (in `order_by` order) with `tail`: one statement that empties
    the staging table too, for the refold, which stages again in the same transaction."""
    if not rows:
        return
    columns = STAGED_COLUMNS[table]
    await copy_rows(conn, f"stage_{table}", columns, rows)
    cols = ", ".join(columns)
    order = f" ORDER BY {', '.join(order_by)}" if order_by else ""
    await conn.execute(f"WITH staged AS (DELETE FROM stage_{table} RETURNING *) "
                       f"INSERT INTO {table} ({cols}) SELECT {cols} FROM staged{order}{tail}")


async def save_cases(conn: Connection, rows: Sequence[Sequence[object]]) -> None:
    await upsert_staged(conn, "cases", _case_texts(rows), _CASE_UPSERT)


async def replace_conflicts(conn: Connection, case_ids: Sequence[str], conflicts: Sequence[Conflict],
                            townships: dict[str, str], found_at: str) -> None:
    """The conflicts of `case_ids` become `conflicts` (each case's township in `townships`)."""
    await conn.execute(STALE_CONFLICTS_SQL, list(case_ids), [c.event_id for c in conflicts])
    await upsert_staged(conn, "conflicts", _texts(conflict_row(c, townships[c.case_id], found_at) for c in conflicts),
                        _CONFLICT_UPSERT)


async def add_rollup_deltas(conn: Connection, rows_per_table: Sequence[Sequence[tuple[object, ...]]]) -> None:
    """Add delta rows (`rollup_tables.delta_rows`) to each grain, in key order."""
    for table, rows in zip(ROLLUP_TABLES, rows_per_table, strict=True):
        await upsert_staged(conn, table.name, rows, table.upsert_tail, table.key_columns)


async def write_batch(conn: Connection, batch: BatchWrite) -> int:
    """Every row of `batch` inside the caller's transaction; returns the agent's new acknowledged seq."""
    at = batch.received_at
    await copy_rows(conn, "events", EVENT_COLUMNS,
                    [(e.event_id, e.agent_id, e.seq, e.case_id, e.kind, e.at, e.offset_ms, e.order_key,
                      e.data.decode(), None if e.parents is None else e.parents.decode(), e.replaces, e.staff_id, at)
                     for e in batch.events])
    if batch.refusals:
        await upsert_staged(conn, "refused_events", [(r.event_id, r.agent_id, r.seq, r.code, r.detail,
                                                      r.body.decode(), at) for r in batch.refusals],
                            " ON CONFLICT (event_id) DO NOTHING")
    await copy_rows(conn, "consultations", CONSULTATION_COLUMNS,
                    [(c.consultation_id, c.event_id, c.org_code, c.channel, c.consulted_on, c.body.decode())
                     for c in batch.consultations])
    conflicts = batch.conflicts
    await save_cases(conn, [case_row(r, at, conflicts.get(r.case.case_id, ())) for r in batch.cases])
    if conflicts:
        townships = {r.case.case_id: r.case.org_code[:9] for r in batch.cases}
        await replace_conflicts(conn, list(conflicts), [c for cs in conflicts.values() for c in cs], townships, at)
    saved = {r.case.case_id for r in batch.cases}
    await copy_rows(conn, "orphan_events", ("event_id", "agent_id", "case_id"),
                    [(e.event_id, e.agent_id, e.case_id) for e in batch.events
                     if e.case_id not in saved and e.kind != "consulted"])
    if batch.adopted_case_ids:
        await conn.execute(ADOPT_SQL, list(batch.adopted_case_ids))
    await conn.execute(USAGE_SQL, batch.agent_id, china_day(at), batch.received_events, batch.received_bytes)
    await add_rollup_deltas(conn, delta_rows(batch.deltas))
    acked = await conn.fetchval(ACK_SQL, batch.agent_id, at, batch.software_version, batch.pending, ACK_WINDOW,
                                batch.protocol_version, batch.pull_cursor,
                                None if batch.digest_agrees is None else int(batch.digest_agrees))
    if acked is None:
        raise LookupError(f"no agent {batch.agent_id}")
    return int(acked)


def conflicts_of(bodies: Iterable[str]) -> list[Conflict]:
    return [_conflict.decode(b) for b in bodies]

