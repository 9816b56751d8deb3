"""The pull's SQL on SQLite, and the case histories that `rollups verify` and the upgrade refold read.

The pull is ONE statement that answers one JSON document (the events, the digest, the asking agent's conflicts, the
township's agents, the stream): one statement is one snapshot, so the digest is exactly that of the events up to the
last one sent, and it takes one await.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import TypeVar

import msgspec

from protocol.causal import CaseMeta
from protocol.lifecycle import Case
from protocol.messages import Conflict, CorrectionGrant
from server.storage.base import CaseHistory, CaseRecord, PullBatch, Refold, StoredEvent, refold_keeps
from server.storage.sqlite.ingest import (
    CASES,
    CONFLICTS,
    STALE_CONFLICTS_SQL,
    STORED_EVENT_JSON,
    case_row,
    conflict_row,
    stored_events,
)

T = TypeVar("T")

MAX_CONFLICTS = 500  # in a pull answer
MAX_GRANTS = 500  # in a pull answer: a county grants a handful a month
HISTORY_CHUNK = 2000  # cases read at a time by `check_cases` and `refold_cases`

# ?1 township, ?2 the asking agent, ?3 after this position, ?4 the most events to send (one more is read: has_more).
PULL_SQL = f"""
SELECT json_object(
    'events', (SELECT json_group_array(json_array(pos, {STORED_EVENT_JSON})) FROM (
        SELECT * FROM events WHERE substr(agent_id, 1, 9) = ?1 AND pos > ?3 AND kind <> 'consulted'
        AND agent_id <> ?2 ORDER BY pos LIMIT ?4 + 1)),
    'digest', (SELECT json_array(count(*), coalesce(sum(digest), 0)) FROM cases WHERE township_code = ?1),
    'conflicts', (SELECT json_group_array(json(body)) FROM (
        SELECT body FROM conflicts WHERE agent_id = ?2 AND is_open = 1 ORDER BY event_id LIMIT {MAX_CONFLICTS})),
    'agents', (SELECT json_group_array(json_array(agent_id, name)) FROM agents WHERE township_code = ?1),
    'grants', (SELECT json_group_array(json_object('grant_id', grant_id, 'case_id', case_id, 'reason', reason,
        'granted_by', granted_by, 'granted_at', granted_at)) FROM (SELECT * FROM correction_grants
        WHERE township_code = ?1 ORDER BY granted_at DESC LIMIT {MAX_GRANTS})),
    'stream', (SELECT value FROM server_meta WHERE key = 'stream'))
"""

PulledRow = tuple[int, str, str, int, str, str, str, int, str, msgspec.Raw, str | None, str | None, str | None]


class _PullDoc(msgspec.Struct):
    events: list[PulledRow]
    digest: tuple[int, int]
    conflicts: list[Conflict]
    agents: list[tuple[str, str]]
    stream: str
    grants: list[CorrectionGrant] = []


_pull_doc = msgspec.json.Decoder(_PullDoc)
_records = msgspec.json.Decoder(list[tuple[Case, str, str, CaseMeta]])
_conflicts = msgspec.json.Decoder(list[Conflict])
_encode = msgspec.json.encode


def pull_batch(doc: bytes, after: int, limit: int) -> PullBatch:
    """`PULL_SQL`'s answer as a `PullBatch`."""
    got = _pull_doc.decode(doc)
    rows = sorted(got.events, key=lambda r: r[0])  # json_group_array keeps the subquery's order; sure is sure
    has_more = len(rows) > limit
    rows = rows[:limit]
    events = [StoredEvent(*r[1:9], data=bytes(r[9]), parents=None if r[10] is None else r[10].encode(),
                          replaces=r[11], staff_id=r[12]) for r in rows]
    return PullBatch(events=events, last_pos=rows[-1][0] if rows else after, has_more=has_more, stream=got.stream,
                     digest=None if has_more else got.digest, conflicts=got.conflicts, agents=got.agents,
                     grants=got.grants)


# ---- case histories ----------------------------------------------------------------------------------------------

def histories(conn: sqlite3.Connection) -> Iterator[list[CaseHistory]]:
    """Every case's history (every case id with events; a consultation's too, which has no row), HISTORY_CHUNK at a
    time, by case id, on `conn` (inside the caller's transaction or snapshot)."""
    last = ""
    while True:
        ids = [r[0] for r in conn.execute(
            "SELECT DISTINCT case_id FROM events WHERE case_id > ? ORDER BY case_id LIMIT ?", (last, HISTORY_CHUNK))]
        if not ids:
            return
        last = ids[-1]
        keys = _encode(ids)
        events: dict[str, list[StoredEvent]] = {i: [] for i in ids}
        for e in stored_events(_one(conn, f"SELECT json_group_array(json_array({STORED_EVENT_JSON})) FROM events "
                                          "WHERE case_id IN (SELECT value FROM json_each(?))", keys)):
            events[e.case_id].append(e)
        records = {case.case_id: CaseRecord(case, category, last_key, meta)
                   for case, category, last_key, meta in _records.decode(_one(
                       conn, "SELECT json_group_array(json_array(json(body), category, last_key, json(meta)))"
                             " FROM cases WHERE case_id IN (SELECT value FROM json_each(?))", keys))}
        conflicts: dict[str, list[Conflict]] = {}
        for c in _conflicts.decode(_one(conn, "SELECT json_group_array(json(body)) FROM conflicts "
                                              "WHERE case_id IN (SELECT value FROM json_each(?))", keys)):
            conflicts.setdefault(c.case_id, []).append(c)
        yield [CaseHistory(i, records.get(i), events[i], sorted(conflicts.get(i, []), key=lambda c: c.event_id))
               for i in ids]


def check_cases(conn: sqlite3.Connection, check: Callable[[CaseHistory], T | None]) -> list[T]:
    return [found for chunk in histories(conn) for h in chunk if (found := check(h)) is not None]


def refold_cases(conn: sqlite3.Connection, refold: Refold, updated_at: str) -> int:
    """Inside the caller's write transaction: each case's row and conflicts as `refold` makes them; returns the rows
    that changed."""
    changed = 0
    for chunk in histories(conn):
        saves, gone, conflicts, townships = [], [], {}, {}
        for h in chunk:
            if all(e.kind == "consulted" for e in h.events):
                continue
            record, now = refold(h)
            if refold_keeps(h, record, now):
                continue
            changed += 1
            if record is None:
                gone.append(h.case_id)
                continue
            saves.append(case_row(record, updated_at, now))
            conflicts[h.case_id] = now
            townships[h.case_id] = record.case.org_code[:9]
        for sql, params in CASES.statements(saves):
            conn.execute(sql, params)
        if gone:
            conn.execute("DELETE FROM cases WHERE case_id IN (SELECT value FROM json_each(?))", (_encode(gone),))
        every = [c for cs in conflicts.values() for c in cs]
        conn.execute(STALE_CONFLICTS_SQL, (_encode([*conflicts, *gone]), _encode([c.event_id for c in every])))
        for sql, params in CONFLICTS.statements([conflict_row(c, townships[c.case_id], updated_at) for c in every]):
            conn.execute(sql, params)
    return changed


def _one(conn: sqlite3.Connection, sql: str, *params: object) -> bytes:
    (doc,) = conn.execute(sql, params).fetchone()
    return (doc or "[]").encode()
