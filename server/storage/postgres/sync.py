"""The pull's SQL on PostgreSQL, and the case histories that `rollups verify`, `cases refold` and the upgrade read.

The pull reads in one REPEATABLE READ transaction: one snapshot, so the digest is exactly that of the events up to
the last one sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from protocol.messages import Conflict, CorrectionGrant
from server.storage.base import CaseHistory, PullBatch, Refold, StoredEvent, refold_keeps
from server.storage.postgres.ingest import (
    STORED_EVENT_COLUMNS,
    Connection,
    case_record,
    conflicts_of,
    replace_conflicts,
    save_cases,
    stored_event,
)
from server.storage.rows import case_row

T = TypeVar("T")

MAX_CONFLICTS = 500  # in a pull answer
MAX_GRANTS = 500
HISTORY_CHUNK = 2000  # cases read at a time by `check_cases` and `refold_cases`


async def pull_batch(conn: Connection, township_code: str, agent_id: str, after: int, limit: int) -> PullBatch:
    """Inside the caller's REPEATABLE READ transaction."""
    rows = await conn.fetch(
        f"SELECT pos, {STORED_EVENT_COLUMNS} FROM events WHERE substr(agent_id, 1, 9) = $1 AND pos > $3 "
        "AND kind <> 'consulted' AND agent_id <> $2 ORDER BY pos LIMIT $4", township_code, agent_id, after, limit + 1)
    has_more = len(rows) > limit
    rows = rows[:limit]
    digest = None
    if not has_more:
        n, total = await conn.fetchrow("SELECT count(*), coalesce(sum(digest), 0)::bigint FROM cases "
                                       "WHERE township_code = $1", township_code)
        digest = (int(n), int(total))
    conflicts = conflicts_of(r[0] for r in await conn.fetch(
        f"SELECT body FROM conflicts WHERE agent_id = $1 AND is_open = 1 ORDER BY event_id LIMIT {MAX_CONFLICTS}",
        agent_id))
    agents = [(r[0], r[1]) for r in await conn.fetch(
        "SELECT agent_id, name FROM agents WHERE township_code = $1 ORDER BY agent_id", township_code)]
    stream = await conn.fetchval("SELECT value FROM server_meta WHERE key = 'stream'")
    grants = [CorrectionGrant(*r) for r in await conn.fetch(
        "SELECT grant_id, case_id, reason, granted_by, granted_at FROM correction_grants WHERE township_code = $1 "
        f"ORDER BY granted_at DESC LIMIT {MAX_GRANTS}", township_code)]
    return PullBatch(events=[stored_event(r[1:]) for r in rows], last_pos=rows[-1][0] if rows else after,
                     has_more=has_more, stream=stream, digest=digest, conflicts=conflicts, agents=agents,
                     grants=grants)


async def histories(conn: Connection) -> AsyncIterator[list[CaseHistory]]:
    """Every case's history (every case id with events), HISTORY_CHUNK at a time, by case id, inside the caller's
    transaction."""
    last = ""
    while True:
        ids = [r[0] for r in await conn.fetch(
            "SELECT DISTINCT case_id FROM events WHERE case_id > $1 ORDER BY case_id LIMIT $2", last, HISTORY_CHUNK)]
        if not ids:
            return
        last = ids[-1]
        events: dict[str, list[StoredEvent]] = {i: [] for i in ids}
        for r in await conn.fetch(f"SELECT {STORED_EVENT_COLUMNS} FROM events WHERE case_id = ANY($1::text[])", ids):
            events[r[3]].append(stored_event(r))
        records = {(rec := case_record(r)).case.case_id: rec for r in await conn.fetch(
            "SELECT body, category, last_key, meta FROM cases WHERE case_id = ANY($1::text[])", ids)}
        conflicts: dict[str, list[Conflict]] = {}
        for c in conflicts_of(r[0] for r in await conn.fetch(
                "SELECT body FROM conflicts WHERE case_id = ANY($1::text[])", ids)):
            conflicts.setdefault(c.case_id, []).append(c)
        yield [CaseHistory(i, records.get(i), events[i], sorted(conflicts.get(i, []), key=lambda c: c.event_id))
               for i in ids]


async def check_cases(conn: Connection, check: Callable[[CaseHistory], T | None]) -> list[T]:
    return [found async for chunk in histories(conn) for h in chunk if (found := check(h)) is not None]


async def refold_cases(conn: Connection, refold: Refold, updated_at: str) -> int:
    """Inside the caller's write transaction (which holds every township's lock): each case's row and conflicts as
    `refold` makes them; returns the rows that changed. The same rule as `server.storage.sqlite.sync.refold_cases`."""
    changed = 0
    async for chunk in histories(conn):
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
        await save_cases(conn, saves)
        if gone:
            await conn.execute("DELETE FROM cases WHERE case_id = ANY($1::text[])", gone)
        await replace_conflicts(conn, [*conflicts, *gone], [c for cs in conflicts.values() for c in cs], townships,
                                updated_at)
    return changed
