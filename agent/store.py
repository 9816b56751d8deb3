"""The agent's only SQL: one write connection, one transaction per staff action, the outbox and its marks.

SQLite in WAL mode with `synchronous=FULL`: a staff action is on disk before the page says "saved".
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from contextlib import closing
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite
import msgspec

from agent.records import Consultation, OutboxEvent, Quarantined, StoredEvent
from agent.search import case_query
from protocol.lifecycle import Case
from protocol.messages import Event, Refusal

log = logging.getLogger(__name__)

_case_json = msgspec.json.Encoder()
# A case's phone as the search compares it, hyphens and +86 aside: the expression of index cases_by_phone (0040).
PHONE_KEY = "replace(replace(json_extract(body, '$.phone'), '-', ''), '+86', '')"
_case_decode = msgspec.json.Decoder(Case)


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) of every migration shipped with the agent, in order."""
    found = []
    for entry in resources.files("agent.migrations").iterdir():
        if entry.name.endswith(".sql"):
            number = int(entry.name.split("_", 1)[0])
            found.append((number, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


# SQLite checkpoints by itself when the WAL reaches 1000 pages, inside the commit that crosses the mark. A staff
# action writes about 10 pages (case row, outbox row, their indexes), so about 1 commit in 100 would also copy the WAL
# into the database and fsync it: that was the agent's p99 (bench/agent_commit_bench.py). The store turns that off
# and runs a PASSIVE checkpoint beside the writer, on a connection of its own, every this many commits.
CHECKPOINT_EVERY_COMMITS = 100


def _checkpoint(path: Path) -> None:
    """PASSIVE: copies what it can without waiting for the writer or blocking it."""
    try:
        with closing(sqlite3.connect(path, timeout=5)) as db:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error as e:  # the next one tries again; the WAL only grows meanwhile
        log.warning("checkpoint failed error=%s", e)


class AgentStore:
    """Owns the SQLite file. Writes are serialised by one lock on one connection."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        self._lock = asyncio.Lock()
        self._case_counters: dict[str, int] = {}
        self._commits = 0  # since the last checkpoint
        self._checkpointing: asyncio.Future[None] | None = None
        self._probe: asyncio.Future[None] | None = None  # the liveness probe in flight (see `ping`)

    @classmethod
    async def open(cls, path: Path) -> AgentStore:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=FULL")
        await db.execute("PRAGMA busy_timeout=5000")
        await db.execute("PRAGMA wal_autocheckpoint=0")  # see CHECKPOINT_EVERY_COMMITS
        store = cls(db, path)
        await store._migrate()
        return store

    async def close(self) -> None:
        if self._checkpointing is not None:
            await self._checkpointing
        await self._db.close()  # the last connection to close checkpoints the whole WAL

    def _committed(self) -> None:
        self._commits += 1
        if self._commits >= CHECKPOINT_EVERY_COMMITS and (self._checkpointing is None or self._checkpointing.done()):
            self._commits = 0
            self._checkpointing = asyncio.ensure_future(asyncio.to_thread(_checkpoint, self.path))

    async def _migrate(self) -> None:
        await self._db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )
        async with self._db.execute("SELECT number FROM schema_migrations") as cur:
            done = {row[0] for row in await cur.fetchall()}
        for number, name, sql in migrations():
            if number in done:
                continue
            # executescript commits first; the migration and its record then go in one transaction.
            await self._db.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\nINSERT INTO schema_migrations (number, name) VALUES ({number}, '{name}');"
                "\nCOMMIT;"
            )
            log.info("migration applied number=%d name=%s", number, name)

    # ---- staff actions -----------------------------------------------------------------------------------

    async def next_case_number(self, prefix: str) -> int:
        """The next daily sequence after `prefix` (township, PC number and date: `protocol.ids.case_number` without
        its last 4 digits). Call under `write()`.

        Only a stored case takes its number (`_in_transaction` counts it on commit): an entry refused for a bad
        field asks again and gets the same number, so refused submissions leave no gaps in the day's numbers."""
        if prefix not in self._case_counters:
            async with self._db.execute(  # a range on the unique index of case_no; other PCs' cases do not count
                "SELECT max(case_no) FROM cases WHERE case_no BETWEEN ? AND ?", (prefix + "0000", prefix + "9999")
            ) as cur:
                row = await cur.fetchone()
            self._case_counters[prefix] = int(row[0][-4:]) if row and row[0] else 0
        return self._case_counters[prefix] + 1

    def _count_case_number(self, case_no: str) -> None:
        prefix, n = case_no[:-4], case_no[-4:]
        if prefix in self._case_counters and n.isdigit():
            self._case_counters[prefix] = max(self._case_counters[prefix], int(n))

    def write(self) -> asyncio.Lock:
        """The write lock: hold it across reading state and `save_action`, so two actions never interleave."""
        return self._lock

    async def save_action(self, case: Case | None, event: OutboxEvent) -> int:
        """Store the new case row (if any) and append the event, in one transaction. Returns the event's seq."""
        return await self._in_transaction(case, event)

    async def _in_transaction(self, case: Case | None, event: OutboxEvent, *extra: tuple[str, tuple[Any, ...]]) -> int:
        """Upsert the case row (if any), append the event and run `extra` statements, in one transaction."""
        db = self._db
        await db.execute("BEGIN IMMEDIATE")
        try:
            if case is not None:
                await db.execute(
                    "INSERT INTO cases (case_id, case_no, state, accepted_on, due_on, applicant_name, cert_no, body)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (case_id) DO UPDATE SET state = excluded.state,"
                    " due_on = excluded.due_on, applicant_name = excluded.applicant_name,"
                    " cert_no = excluded.cert_no, body = excluded.body",
                    (case.case_id, case.case_no, case.state, case.accepted_on, case.due_on, case.applicant_name,
                     case.cert_no, _case_json.encode(case)),
                )
            cur = await db.execute(
                "INSERT INTO outbox (event_id, case_id, kind, at, offset_ms, data) VALUES (?, ?, ?, ?, ?, ?)",
                (event.event_id, event.case_id, event.kind, event.at, event.offset_ms, event.data),
            )
            seq = cur.lastrowid
            for sql, args in extra:
                await db.execute(sql, args)
            await db.execute("COMMIT")
            self._committed()
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        if case is not None and event.kind == "accepted":
            self._count_case_number(case.case_no)
        assert seq is not None
        return seq

    async def save_consultation(self, consultation: Consultation, event: OutboxEvent) -> int:
        """Store a consultation and its `consulted` event in one transaction. Call under `write()`."""
        c = consultation
        return await self._in_transaction(None, event, (
            "INSERT INTO consultations (consultation_id, day, at, topic, channel, org_code) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (consultation_id) DO UPDATE SET topic = excluded.topic, channel = excluded.channel,"
            " org_code = excluded.org_code",
            (c.consultation_id, c.day, c.at, c.topic, c.channel, c.org_code),
        ))

    async def resend_event(self, old_event_id: str, event: OutboxEvent, case: Case | None = None,
                           consultation: Consultation | None = None) -> int:
        """Append `event`, the corrected copy of quarantined `old_event_id`, mark the old one resent and store the
        rebuilt case or consultation, in one transaction. Returns the new seq. Call under `write()`.

        Raises LookupError (nothing written) when `old_event_id` is not quarantined.
        """
        async with self._db.execute(
            "SELECT 1 FROM outbox WHERE event_id = ? AND status = 'quarantined'", (old_event_id,)
        ) as cur:
            if await cur.fetchone() is None:
                raise LookupError(f"event {old_event_id} is not quarantined")
        extra: list[tuple[str, tuple[Any, ...]]] = [(
            "UPDATE outbox SET status = 'resent', staff_outcome = 'resent', resent_as = ? WHERE event_id = ?",
            (event.event_id, old_event_id))]
        if consultation is not None:
            c = consultation
            extra.append(("UPDATE consultations SET topic = ?, channel = ?, org_code = ? WHERE consultation_id = ?",
                          (c.topic, c.channel, c.org_code, c.consultation_id)))
        return await self._in_transaction(case, event, *extra)

    # ---- reads -------------------------------------------------------------------------------------------

    async def get_case(self, case_id: str) -> Case | None:
        async with self._db.execute("SELECT body FROM cases WHERE case_id = ?", (case_id,)) as cur:
            row = await cur.fetchone()
        return _case_decode.decode(row[0]) if row else None

    async def list_cases(self, *, open_only: bool = False, query: str | None = None, limit: int = 200) -> list[Case]:
        sql = "SELECT body FROM cases"
        args: list[Any] = []
        where = []
        if open_only:
            where.append("state IN ('in_progress', 'suspended')")
        found = case_query(query or "")
        if found is not None:
            # One indexed lookup per meaning of what was typed; only the part of a name needs to read every row.
            branches = ["applicant_name LIKE ?", "case_no = ?", "cert_no = ?"]
            args += [f"%{found.text}%", found.text, found.cert]
            if found.last4:
                branches.append("substr(cert_no, -4) = ?")
                args.append(found.last4)
            if found.phone:
                branches.append(f"{PHONE_KEY} = ?")
                args.append(found.phone)
            lookups = " UNION ".join(f"SELECT case_id FROM cases WHERE {b}" for b in branches)
            where.append(f"case_id IN ({lookups})")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY due_on IS NULL, due_on, accepted_on DESC" if open_only else " ORDER BY case_no DESC"
        sql += " LIMIT ?"
        args.append(limit)
        async with self._db.execute(sql, args) as cur:
            return [_case_decode.decode(row[0]) for row in await cur.fetchall()]

    async def cases_without_due_date(self) -> list[Case]:
        """Cases whose due date is not known yet: the calendar did not reach it, or a supplement is outstanding."""
        async with self._db.execute("SELECT body FROM cases WHERE due_on IS NULL ORDER BY accepted_on") as cur:
            return [_case_decode.decode(row[0]) for row in await cur.fetchall()]

    async def cases_to_follow_up(self, limit: int = 200) -> list[Case]:
        """Completed cases with a bad rating (差评) not yet followed up, oldest rating first."""
        async with self._db.execute(
            "SELECT body FROM cases WHERE json_extract(body, '$.rating') IN (1, 2)"
            " AND json_extract(body, '$.followed_up_on') IS NULL ORDER BY json_extract(body, '$.rated_on') LIMIT ?",
            (limit,),
        ) as cur:
            return [_case_decode.decode(row[0]) for row in await cur.fetchall()]

    async def consultations_on(self, day: str) -> list[Consultation]:
        async with self._db.execute(
            "SELECT consultation_id, day, at, topic, channel, org_code FROM consultations WHERE day = ? ORDER BY at",
            (day,),
        ) as cur:
            return [Consultation(*row) for row in await cur.fetchall()]

    async def case_events(self, case_id: str) -> list[StoredEvent]:
        """Every outbox event of one case (or consultation), in seq order."""
        return await self._stored_events("case_id = ? ORDER BY seq", case_id)

    async def get_event(self, event_id: str) -> StoredEvent | None:
        found = await self._stored_events("event_id = ?", event_id)
        return found[0] if found else None

    async def _stored_events(self, where: str, *args: Any) -> list[StoredEvent]:
        async with self._db.execute(
            f"SELECT seq, event_id, case_id, kind, at, offset_ms, data, status FROM outbox WHERE {where}", args
        ) as cur:
            rows = await cur.fetchall()
        return [StoredEvent(seq, event_id, case_id, kind, at, offset_ms, msgspec.json.decode(data), status)
                for seq, event_id, case_id, kind, at, offset_ms, data, status in rows]

    # ---- outbox ------------------------------------------------------------------------------------------

    async def pending_events(self, limit: int) -> list[Event]:
        """The oldest events not yet acknowledged, in seq order."""
        async with self._db.execute(
            "SELECT seq, event_id, case_id, kind, at, offset_ms, data FROM outbox WHERE status = 'pending'"
            " ORDER BY seq LIMIT ?",
            (limit,),
        ) as cur:
            rows = await cur.fetchall()
        return [
            Event(event_id=r[1], seq=r[0], case_id=r[2], kind=r[3], at=r[4], offset_ms=r[5],
                  data=msgspec.json.decode(r[6]))
            for r in rows
        ]

    async def mark_pushed(self, acked_seq: int, refused: list[Refusal]) -> int:
        """Quarantine the refused events and mark everything else up to `acked_seq` synced. Returns rows marked.

        Idempotent: marking the same acknowledgement twice changes nothing.
        """
        async with self._lock:
            db = self._db
            await db.execute("BEGIN IMMEDIATE")
            try:
                if refused:
                    await db.executemany(
                        # Refused again after staff resent or dismissed it: their decision stands.
                        "UPDATE outbox SET status = coalesce(staff_outcome, 'quarantined'), refusal_code = ?,"
                        " refusal_message = ? WHERE event_id = ? AND status = 'pending'",
                        [(r.code, r.message + (f" ({r.detail})" if r.detail else ""), r.event_id) for r in refused],
                    )
                cur = await db.execute(
                    "UPDATE outbox SET status = 'synced' WHERE status = 'pending' AND seq <= ?", (acked_seq,)
                )
                marked = cur.rowcount
                await db.execute("COMMIT")
                self._committed()
            except BaseException:
                await db.execute("ROLLBACK")
                raise
        return marked

    async def count_pending(self) -> int:
        async with self._db.execute("SELECT count(*) FROM outbox WHERE status = 'pending'") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def quarantined(self) -> list[Quarantined]:
        async with self._db.execute(
            "SELECT seq, event_id, case_id, kind, refusal_code, refusal_message, data FROM outbox"
            " WHERE status = 'quarantined' ORDER BY seq"
        ) as cur:
            rows = await cur.fetchall()
        return [Quarantined(r[0], r[1], r[2], r[3], r[4] or "", r[5] or "", msgspec.json.decode(r[6])) for r in rows]

    async def dismiss_quarantined(self, event_id: str) -> bool:
        """Mark a quarantined event as handled by staff (after they entered a corrected action)."""
        async with self._lock:
            cur = await self._db.execute(
                "UPDATE outbox SET status = 'dismissed', staff_outcome = 'dismissed' WHERE event_id = ?"
                " AND status = 'quarantined'", (event_id,)
            )
            await self._db.commit()
        return cur.rowcount == 1

    # ---- meta and reference ------------------------------------------------------------------------------

    async def get_meta(self) -> dict[str, str]:
        async with self._db.execute("SELECT key, value FROM meta") as cur:
            return {k: v for k, v in await cur.fetchall()}

    async def set_meta(self, **values: str | int | float | None) -> None:
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            await self._db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [(k, "" if v is None else str(v)) for k, v in values.items()],
            )
            await self._db.execute("COMMIT")

    async def get_reference(self) -> tuple[str, bytes] | None:
        async with self._db.execute("SELECT version, body FROM reference WHERE name = 'county'") as cur:
            row = await cur.fetchone()
        return (row[0], row[1]) if row else None

    async def save_reference(self, version: str, body: bytes) -> None:
        async with self._lock:
            await self._db.execute(
                "INSERT INTO reference (name, version, body) VALUES ('county', ?, ?) ON CONFLICT (name)"
                " DO UPDATE SET version = excluded.version, body = excluded.body",
                (version, body),
            )
            await self._db.commit()

    # ---- operations: probe, migrations, identity (see agent/sync/identity.py) ---------------------------------

    async def ping(self, timeout_s: float = 5.0) -> None:
        """Prove the database answers a writer: take the write lock, BEGIN IMMEDIATE, read, roll back. Raises
        TimeoutError when that takes longer than `timeout_s`; the watchdog and /readyz call it.

        The probe itself is shielded and never overlaps another: a timed-out probe goes on in the background until
        the database answers, then rolls back, so the connection is never left inside a transaction.
        """
        if self._probe is None or self._probe.done():
            self._probe = asyncio.ensure_future(self._probe_once())
        await asyncio.wait_for(asyncio.shield(self._probe), timeout_s)

    async def _probe_once(self) -> None:
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                async with self._db.execute("SELECT count(*) FROM schema_migrations") as cur:
                    await cur.fetchone()
            finally:
                await self._db.execute("ROLLBACK")

    async def resend_after(self, seq: int) -> int:
        """The county acknowledged less than it had (it was restored from a backup): every event after `seq` goes
        back to pending, to be sent again. Returns how many. Idempotent."""
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                count = await self._repend_from(seq + 1)
                await self._db.execute("COMMIT")
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
        return count

    async def _repend_from(self, seq: int) -> int:
        # Every status, so the seqs sent again have no gap; what the county refused it refuses again.
        cur = await self._db.execute(
            "UPDATE outbox SET status = 'pending', refusal_code = NULL, refusal_message = NULL"
            " WHERE seq >= ? AND status != 'pending'",
            (seq,),
        )
        return cur.rowcount

    async def applied_migrations(self) -> set[int]:
        async with self._db.execute("SELECT number FROM schema_migrations") as cur:
            return {row[0] for row in await cur.fetchall()}

    async def begin_incarnation(self, agent_id: str) -> tuple[int, int]:
        """Start numbering events anew for `agent_id`: wire seq = local seq - base. Events still to send (pending,
        or refused as `seq_reused`) and every event after the first of them go (back) to pending, so the new
        identity's seqs start at 1 without a gap: the county stores again only what it lacks (event_id is the
        idempotency key), and refuses again what it refused. Returns (base, events to send)."""
        async with self._lock:
            db = self._db
            await db.execute("BEGIN IMMEDIATE")
            try:
                async with db.execute(
                    "SELECT min(seq) FROM outbox WHERE status = 'pending'"
                    " OR (status = 'quarantined' AND refusal_code = 'seq_reused')"
                ) as cur:
                    first = _value(await cur.fetchone())
                if first is None:
                    async with db.execute("SELECT coalesce(max(seq), 0) + 1 FROM outbox") as cur:
                        first = _value(await cur.fetchone())
                await self._repend_from(first)
                await db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [("identity_agent_id", agent_id), ("identity_seq_base", str(first - 1))],
                )
                async with db.execute("SELECT count(*) FROM outbox WHERE status = 'pending'") as count:
                    to_send = _value(await count.fetchone())
                await db.execute("COMMIT")
            except BaseException:
                await db.execute("ROLLBACK")
                raise
        return first - 1, to_send


def _value(row: aiosqlite.Row | None) -> Any:
    """The one value of an aggregate's row (an aggregate always answers a row)."""
    assert row is not None
    return row[0]


def retire_identity(db: sqlite3.Connection, agent_id: str, reason: str) -> None:
    """Record (in an open transaction of a plain sqlite3 connection, e.g. a restored copy) that `agent_id` may not
    push from this database any more: its seqs may clash with what the county already holds."""
    row = db.execute("SELECT value FROM meta WHERE key = 'identity_retired'").fetchone()
    retired = {a for a in (row[0] if row else "").split(",") if a}
    retired.add(agent_id)
    db.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [("identity_retired", ",".join(sorted(retired))), ("identity_retired_reason", reason)],
    )
