"""The ingest's SQL on SQLite: reads of committed state, and one push's rows written in one transaction.

Both are shaped so that a thread running them rarely needs the GIL. The event loop's thread folds the next batch
while the writer thread (`writer.py`) runs this one's SQL; a thread that wants the GIL back after each SQLite
step (`executemany` does, once per row) waits up to a switch interval every time, and a batch took seconds that way
(bench/ingest_bench.py). So:
- writes are multi-row `INSERT ... VALUES (...), (...)` statements: one step per up to a thousand rows. Their SQL
  text depends on the row count, and preparing a long statement costs more than running it, so rows go in chunks
  of fixed sizes (`_CHUNKS`), each prepared once and then taken from the connection's statement cache;
- reads take their keys as one JSON array (`json_each(?)`) and answer one JSON document (`json_group_array`).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import chain, islice
from typing import NamedTuple

import aiosqlite
import msgspec
from msgspec.structs import astuple

from protocol.causal import CaseMeta, case_digest
from protocol.lifecycle import CHINA_TZ, Case
from protocol.messages import Conflict
from server.model.rollups import Contribution
from server.storage.base import BatchWrite, CaseRecord, StoredEvent
from server.storage.rollup_tables import ROLLUP_TABLES, delta_rows

CASE_COLUMNS = ("case_id", "case_no", "township_code", "org_code", "village_code", "item_code", "category",
                "channel", "state", "accepted_on", "due_on", "completed_on", "closed_on", "rating", "rated_on",
                "followed_up_on", "is_on_time", "last_key", "body", "updated_at", "meta", "digest", "cert_hash",
                "phone_hash", "tail_hash")
EVENT_COLUMNS = ("event_id", "agent_id", "seq", "case_id", "kind", "at", "offset_ms", "order_key", "data",
                 "parents", "replaces", "staff_id", "received_at")
CONFLICT_COLUMNS = ("event_id", "case_id", "township_code", "agent_id", "kind", "code", "lost_to", "is_open",
                    "detected_at", "settled_at", "body")
REFUSAL_COLUMNS = ("event_id", "agent_id", "seq", "code", "detail", "body", "received_at")
CONSULTATION_COLUMNS = ("consultation_id", "event_id", "org_code", "channel", "consulted_on", "body")


Statement = tuple[str, list[object]]  # SQL and its parameters


class Insert(NamedTuple):
    """A multi-row INSERT: `head`, then `row` once per row, then `tail`.

    JSON columns are passed as UTF-8 bytes and stored as text by `CAST(? AS TEXT)`: SQLite converts them on the
    writer thread without the GIL, where Python would decode them, then encode them again to bind them."""

    head: str
    row: str
    tail: str = ""

    @classmethod
    def of(cls, table: str, columns: Sequence[str], tail: str = "", json_columns: Sequence[str] = ()) -> Insert:
        marks = ("CAST(? AS TEXT)" if c in json_columns else "?" for c in columns)
        return cls(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ", f"({', '.join(marks)})", tail)

    @property
    def width(self) -> int:
        return self.row.count("?")

    def sql(self, rows: int) -> str:
        return _insert_sql(self, rows)

    def statements(self, rows: Sequence[Sequence[object]]) -> list[Statement]:
        """Statements that insert `rows`, chunked by `chunks`."""
        return [(self.sql(size), list(chain.from_iterable(rows[start:start + size])))
                for start, size in chunks(len(rows), self.width)]


@functools.lru_cache(maxsize=256)
def _insert_sql(insert: Insert, rows: int) -> str:
    return insert.head + ", ".join([insert.row] * rows) + insert.tail


EVENTS = Insert.of("events", EVENT_COLUMNS, json_columns=("data", "parents"))
CASES = Insert.of("cases", CASE_COLUMNS, " ON CONFLICT (case_id) DO UPDATE SET "
                  + ", ".join(f"{c} = excluded.{c}" for c in CASE_COLUMNS[1:]), json_columns=("body", "meta"))
# A conflict found again keeps when it was first found, and when it was settled.
CONFLICTS = Insert.of("conflicts", CONFLICT_COLUMNS, " ON CONFLICT (event_id) DO UPDATE SET "
                      + ", ".join(f"{c} = excluded.{c}" for c in CONFLICT_COLUMNS[1:8]) + ", body = excluded.body, "
                      "settled_at = CASE WHEN excluded.is_open THEN NULL "
                      "ELSE coalesce(conflicts.settled_at, excluded.settled_at) END", json_columns=("body",))
# The conflicts a case no longer has (`?1` the cases, `?2` the conflicts they have now).
STALE_CONFLICTS_SQL = ("DELETE FROM conflicts WHERE case_id IN (SELECT value FROM json_each(?1)) "
                       "AND event_id NOT IN (SELECT value FROM json_each(?2))")
# A refusal sent again keeps the first record.
REFUSALS = Insert.of("refused_events", REFUSAL_COLUMNS, " ON CONFLICT (event_id) DO NOTHING", json_columns=("body",))
CONSULTATIONS = Insert.of("consultations", CONSULTATION_COLUMNS, json_columns=("body",))
ORPHANS = Insert.of("orphan_events", ("event_id", "agent_id", "case_id"))
ADOPT_SQL = "DELETE FROM orphan_events WHERE case_id IN (SELECT value FROM json_each(?))"
USAGE_SQL = ("INSERT INTO agent_usage (agent_id, day, events, bytes) VALUES (?, ?, ?, ?) ON CONFLICT (agent_id, day) "
             "DO UPDATE SET events = events + excluded.events, bytes = bytes + excluded.bytes")
# One per table of ROLLUP_TABLES, in that order; `.sql(1)` is the single-row upsert, for executemany.
ROLLUP_UPSERTS = tuple(Insert(t.insert_head, f"({', '.join('?' * t.width)})", t.upsert_tail) for t in ROLLUP_TABLES)


def rollup_upserts(deltas: Contribution) -> list[tuple[str, list[tuple[object, ...]]]]:
    """(single-row upsert, its parameter rows) per rollup table, for executemany: rebuilds and bulk loads."""
    return [(upsert.sql(1), rows) for upsert, rows in zip(ROLLUP_UPSERTS, delta_rows(deltas), strict=True)]


# SQLite binds at most 32,766 parameters per statement (SQLITE_MAX_VARIABLE_NUMBER since 3.32).
MAX_PARAMS = 32_766
# Rows per statement: as many of the largest chunk as fit, then the rest from smaller ones (1000 rows = 512 + 256
# + 128 + 64 + 32 + 8: six statements, all cached after the first batches).
_CHUNKS = (512, 256, 128, 64, 32, 16, 8, 4, 2, 1)

# The acknowledgement: the highest seq N such that every seq up to N of the agent is stored or refused. In a run
# of consecutive seqs, seq - row_number() is constant; the run that starts right after the old ack has the old ack
# as that constant. At most `?5` seqs past the ack are read; a longer run moves on at the next push.
ACK_SQL = """
UPDATE agents SET last_push_at = ?2, software_version = ?3, pending = ?4, protocol_version = ?6,
    pull_cursor = coalesce(?7, pull_cursor), digest_agrees = coalesce(?8, digest_agrees), acked_seq = coalesce((
    SELECT max(seq) FROM (
        SELECT seq, seq - row_number() OVER (ORDER BY seq) AS run FROM (
            SELECT seq FROM events WHERE agent_id = ?1 AND seq > agents.acked_seq
            UNION SELECT seq FROM refused_events WHERE agent_id = ?1 AND seq > agents.acked_seq
            ORDER BY seq LIMIT ?5))
    WHERE run = agents.acked_seq), acked_seq)
WHERE agent_id = ?1
RETURNING acked_seq
"""
ACK_WINDOW = 20_000

_encode = msgspec.json.encode
_json_ids = msgspec.json.Encoder()
_owners = msgspec.json.Decoder(list[tuple[str, str, int]])
_seq_owners = msgspec.json.Decoder(list[tuple[int, str]])
_names = msgspec.json.Decoder(list[str])
_stored_events = msgspec.json.Decoder(
    list[tuple[str, str, int, str, str, str, int, str, msgspec.Raw, str | None, str | None, str | None]])
_cases = msgspec.json.Decoder(list[tuple[Case, str, str, CaseMeta]])


def chunks(n: int, width: int) -> list[tuple[int, int]]:
    """(start, size) of the statements for n rows of `width` columns: sizes from `_CHUNKS` only."""
    out = []
    start = 0
    for size in _CHUNKS:
        if size * width > MAX_PARAMS:
            continue
        while n - start >= size:
            out.append((start, size))
            start += size
    return out


def case_row(record: CaseRecord, updated_at: str, conflicts: Sequence[Conflict] = ()) -> tuple[object, ...]:
    """The row of a case and, for its `digest`, its conflicts (the digest hashes the body made here)."""
    c = record.case
    completed_on, due_on = c.completed_on, c.due_on
    on_time = None if completed_on is None or due_on is None else int(completed_on <= due_on)  # Case.is_on_time
    body = _encode(c)
    digest = record.digest if record.digest is not None else case_digest(c, conflicts, encoded=body)
    search = record.search
    return (c.case_id, c.case_no, c.org_code[:9], c.org_code, c.village_code, c.item_code, record.category,
            c.channel, c.state, c.accepted_on, due_on, completed_on, c.closed_on, c.rating, c.rated_on,
            c.followed_up_on, on_time, record.last_key, body, updated_at, _encode(record.meta), digest,
            search and search.cert, search and search.phone, search and search.tail)


class CaseCache:
    """Recently committed cases, so that the next event of a case does not read and decode its row again.

    Valid because the process that ingests a township is the only writer of its cases (`server.ingest.pool` deals
    each township to one worker; the CLI writes agents and rollups, never cases); a backend that lets several
    processes write the same cases must not keep one. Filled after each commit, oldest entries dropped first.
    """

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: dict[str, CaseRecord] = {}

    def get(self, case_id: str) -> CaseRecord | None:
        return self._entries.get(case_id)

    def clear(self) -> None:
        """After cases were written outside ingest (the refold)."""
        self._entries.clear()

    def put_all(self, records: Iterable[CaseRecord]) -> None:
        entries = self._entries
        for record in records:
            case_id = record.case.case_id
            entries.pop(case_id, None)  # re-inserted: now the newest
            entries[case_id] = record
        excess = len(entries) - self.max_entries
        if excess > 0:  # drop a tenth more than needed, so this runs once per many batches
            for case_id in list(islice(entries, excess + self.max_entries // 10)):
                del entries[case_id]


class CommittedReads:
    """What the fold needs of the committed state, on a connection of its own (a stats query never delays it)."""

    def __init__(self, db: aiosqlite.Connection, cache: CaseCache) -> None:
        self._db = db
        self._cache = cache

    async def _json(self, sql: str, keys: Sequence[object], *params: object) -> bytes:
        [(doc,)] = await self._db.execute_fetchall(sql, (_json_ids.encode(keys), *params))  # always one row
        return (doc or "[]").encode()

    async def stored_events(self, event_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        if not event_ids:
            return {}
        doc = await self._json(
            "SELECT json_group_array(json_array(event_id, agent_id, seq)) FROM events "
            "WHERE event_id IN (SELECT value FROM json_each(?))", event_ids)
        return {e: (a, s) for e, a, s in _owners.decode(doc)}

    async def seq_owners(self, agent_id: str, seqs: Sequence[int]) -> dict[int, str]:
        if not seqs:
            return {}
        doc = await self._json(
            "SELECT json_group_array(json_array(seq, event_id)) FROM ("
            "SELECT seq, event_id FROM events WHERE agent_id = ?2 AND seq IN (SELECT value FROM json_each(?1)) "
            "UNION ALL SELECT seq, event_id FROM refused_events WHERE agent_id = ?2 "
            "AND seq IN (SELECT value FROM json_each(?1)) AND code <> 'seq_reused')", seqs, agent_id)
        return dict(_seq_owners.decode(doc))

    async def load_cases(self, case_ids: Iterable[str]) -> dict[str, CaseRecord]:
        out: dict[str, CaseRecord] = {}
        missing = []
        cache = self._cache
        for case_id in case_ids:
            record = cache.get(case_id)
            if record is None:
                missing.append(case_id)
            else:
                out[case_id] = record
        if missing:
            doc = await self._json(
                "SELECT json_group_array(json_array(json(body), category, last_key, json(meta))) FROM cases "
                "WHERE case_id IN (SELECT value FROM json_each(?))", missing)
            for case, category, last_key, meta in _cases.decode(doc):
                out[case.case_id] = CaseRecord(case, category, last_key, meta)
        return out

    async def events_of_cases(self, case_ids: Sequence[str]) -> list[StoredEvent]:
        if not case_ids:
            return []
        doc = await self._json(
            f"SELECT json_group_array(json_array({STORED_EVENT_JSON})) FROM events "
            "WHERE case_id IN (SELECT value FROM json_each(?))", case_ids)
        return stored_events(doc)

    async def grant_cases(self, grant_ids: Sequence[str]) -> dict[str, str]:
        if not grant_ids:
            return {}
        rows = await self._db.execute_fetchall(
            "SELECT grant_id, case_id FROM correction_grants WHERE grant_id IN (SELECT value FROM json_each(?))",
            (_json_ids.encode(grant_ids),))
        return {grant_id: case_id for grant_id, case_id in rows}

    async def stored_consultations(self, consultation_ids: Sequence[str]) -> set[str]:
        if not consultation_ids:
            return set()
        doc = await self._json(
            "SELECT json_group_array(consultation_id) FROM consultations "
            "WHERE consultation_id IN (SELECT value FROM json_each(?))", consultation_ids)
        return set(_names.decode(doc))


# A StoredEvent as a JSON array, in `stored_events`' shape: `data` as JSON, `parents` as its JSON text (a string:
# msgspec.Raw cannot stand in a union with null).
STORED_EVENT_JSON = ("event_id, agent_id, seq, case_id, kind, at, offset_ms, order_key, json(data), parents, replaces,"
                     " staff_id")


def stored_events(doc: bytes) -> list[StoredEvent]:
    return [StoredEvent(*r[:8], data=bytes(r[8]), parents=None if r[9] is None else r[9].encode(), replaces=r[10],
                        staff_id=r[11]) for r in _stored_events.decode(doc)]


def conflict_row(c: Conflict, township_code: str, found_at: str) -> tuple[object, ...]:
    """`township_code`: the case's (the losing event may be another township's)."""
    return (c.event_id, c.case_id, township_code, c.agent_id, c.kind, c.code, c.lost_to, int(c.is_open), found_at,
            None if c.is_open else found_at, _encode(c))


def batch_statements(batch: BatchWrite) -> list[Statement]:
    """Every statement of `batch` with its parameters, the acknowledgement last. Built on the event loop's thread,
    so that the writer thread's only Python is binding parameters."""
    at = batch.received_at
    out = EVENTS.statements([(*astuple(e), at) for e in batch.events])
    if batch.refusals:
        out += REFUSALS.statements([(*astuple(r), at) for r in batch.refusals])
    if batch.consultations:
        out += CONSULTATIONS.statements([astuple(c) for c in batch.consultations])
    conflicts = batch.conflicts
    out += CASES.statements([case_row(r, at, conflicts.get(r.case.case_id, ())) for r in batch.cases])
    if batch.conflicts:
        townships = {r.case.case_id: r.case.org_code[:9] for r in batch.cases}
        now = [c for cs in batch.conflicts.values() for c in cs]
        out.append((STALE_CONFLICTS_SQL, [_encode(list(batch.conflicts)), _encode([c.event_id for c in now])]))
        out += CONFLICTS.statements([conflict_row(c, townships[c.case_id], at) for c in now])
    # Events of a case that has no row yet wait for its `accepted` (the orphan quota counts them); a new case's
    # waiting events are adopted. Most batches have neither.
    saved = {r.case.case_id for r in batch.cases}
    orphans = [(e.event_id, e.agent_id, e.case_id) for e in batch.events if e.case_id not in saved
               and e.kind != "consulted"]
    if orphans:
        out += ORPHANS.statements(orphans)
    if batch.adopted_case_ids:
        out.append((ADOPT_SQL, [_json_ids.encode(batch.adopted_case_ids).decode()]))
    out.append((USAGE_SQL, [batch.agent_id, china_day(at), batch.received_events, batch.received_bytes]))
    for insert, rows in zip(ROLLUP_UPSERTS, delta_rows(batch.deltas), strict=True):
        out += insert.statements(rows)
    out.append((ACK_SQL, [batch.agent_id, at, batch.software_version, batch.pending, ACK_WINDOW,
                          batch.protocol_version, batch.pull_cursor,
                          None if batch.digest_agrees is None else int(batch.digest_agrees)]))
    return out


def china_day(utc_iso: str) -> str:
    """The day in China time of an instant such as `received_at`: the day a quota counts on."""
    return datetime.fromisoformat(utc_iso).astimezone(CHINA_TZ).date().isoformat()


def run_statements(conn: sqlite3.Connection, statements: Sequence[Statement]) -> int:
    """`batch_statements` inside the caller's open transaction; returns the agent's new acknowledged seq."""
    for sql, params in statements[:-1]:
        conn.execute(sql, params)
    (acked,) = conn.execute(*statements[-1]).fetchone()
    return acked
