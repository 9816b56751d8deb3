"""The agent's only SQL: one write connection, one transaction per staff action, the outbox and its marks.

SQLite in WAL mode with `synchronous=FULL`: a staff action is on disk before the page says "saved".
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager, closing
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite
import msgspec

from agent.records import Attachment, Consultation, KnownEvent, OutboxEvent, Quarantined, StoredEvent
from agent.search import case_query
from ops import migrationlock
from protocol.causal import CaseMeta, FoldResult, case_digest
from protocol.lifecycle import Case
from protocol.messages import Conflict, Event, PulledEvent, Refusal, StaffMember
from protocol.staff import newer

log = logging.getLogger(__name__)

_case_json = msgspec.json.Encoder()
# A case's phone as the search compares it, hyphens and +86 aside: the expression of index cases_by_phone (0040).
PHONE_KEY = "replace(replace(json_extract(body, '$.phone'), '-', ''), '+86', '')"
_case_decode = msgspec.json.Decoder(Case)
_meta_decode = msgspec.json.Decoder(CaseMeta)
_conflict_decode = msgspec.json.Decoder(Conflict)
_ids = msgspec.json.Decoder(list[str])
# Own events that count: not refused (quarantined), and not taken back by staff (resent as a correction, dismissed)
# even when a county restored from a backup made them pending again.
ATTACHMENT_COLUMNS = ("attachment_id, case_id, sha256, name, media_type, size_bytes, added_at, upload_state, "
                      "uploaded_at, upload_error")
OWN_FOLDED = "status IN ('pending', 'synced') AND staff_outcome IS NULL"


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
        await db.execute("PRAGMA busy_timeout=5000")  # first: another process may be switching a new file to WAL
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=FULL")
        await db.execute("PRAGMA wal_autocheckpoint=0")  # see CHECKPOINT_EVERY_COMMITS
        store = cls(db, path)
        # Under the migration lock: a CLI command and the agent starting at once take turns (ops/migrationlock.py).
        lock = await asyncio.to_thread(migrationlock.acquire, path)
        try:
            await store._migrate()
        finally:
            migrationlock.release(lock)
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

    # ---- transactions ------------------------------------------------------------------------------------

    def write(self) -> asyncio.Lock:
        """The write lock: hold it across reading state and writing, so two writes never interleave."""
        return self._lock

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT on the write connection, ROLLBACK when the block raises. Call under `write()`."""
        db = self._db
        await db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")
        self._committed()

    # ---- staff actions -----------------------------------------------------------------------------------

    async def next_case_number(self, prefix: str) -> int:
        """The next daily sequence after `prefix` (township, PC number and date: `protocol.ids.case_number` without
        its last 4 digits). Call under `write()`.

        Only a stored case takes its number (`save_action` counts it on commit): an entry refused for a bad field
        asks again and gets the same number, so refused submissions leave no gaps in the day's numbers."""
        if prefix not in self._case_counters:
            async with self._db.execute(  # a range on the index of case_no; other PCs' cases do not count
                "SELECT max(case_no) FROM cases WHERE case_no BETWEEN ? AND ?", (prefix + "0000", prefix + "9999")
            ) as cur:
                row = await cur.fetchone()
            self._case_counters[prefix] = int(row[0][-4:]) if row and row[0] else 0
        return self._case_counters[prefix] + 1

    def _count_case_number(self, case_no: str) -> None:
        prefix, n = case_no[:-4], case_no[-4:]
        if prefix in self._case_counters and n.isdigit():
            self._case_counters[prefix] = max(self._case_counters[prefix], int(n))

    async def next_seq(self) -> int:
        """The seq the next outbox row gets (rowids grow by one from the greatest). Call under `write()`."""
        async with self._db.execute("SELECT coalesce(max(seq), 0) + 1 FROM outbox") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 1

    async def save_action(self, folded: FoldResult, *events: OutboxEvent,
                          extra: Sequence[tuple[str, tuple[Any, ...]]] = ()) -> int:
        """Store the case's new fold and append the events (and run `extra` statements), in one transaction.
        Returns the last event's seq. Call under `write()`."""
        async with self.transaction():
            if folded.case is not None:
                await self.save_folds({folded.case.case_id: folded})
            seq = await self._append(events, *extra)
        if folded.case is not None and any(e.kind == "accepted" for e in events):
            self._count_case_number(folded.case.case_no)  # committed: the number is taken
        return seq

    async def _append(self, events: Sequence[OutboxEvent], *extra: tuple[str, tuple[Any, ...]]) -> int:
        seq = None
        for event in events:
            cur = await self._db.execute(
                "INSERT INTO outbox (event_id, case_id, kind, at, offset_ms, data, parents, replaces, staff_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (event.event_id, event.case_id, event.kind, event.at, event.offset_ms, event.data,
                 None if event.parents is None else _case_json.encode(list(event.parents)), event.replaces,
                 event.staff_id),
            )
            seq = cur.lastrowid
        for sql, args in extra:
            await self._db.execute(sql, args)
        assert seq is not None
        return seq

    async def save_consultation(self, consultation: Consultation, event: OutboxEvent) -> int:
        """Store a consultation and its `consulted` event in one transaction. Call under `write()`."""
        c = consultation
        async with self.transaction():
            return await self._append([event], (
                "INSERT INTO consultations (consultation_id, day, at, topic, channel, org_code)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (consultation_id) DO UPDATE SET topic = excluded.topic,"
                " channel = excluded.channel, org_code = excluded.org_code",
                (c.consultation_id, c.day, c.at, c.topic, c.channel, c.org_code),
            ))

    async def is_quarantined(self, event_id: str) -> bool:
        async with self._db.execute(
            "SELECT 1 FROM outbox WHERE event_id = ? AND status = 'quarantined'", (event_id,)
        ) as cur:
            return await cur.fetchone() is not None

    async def resend_event(self, old_event_id: str, event: OutboxEvent, consultation: Consultation | None = None
                           ) -> int:
        """Append `event`, the corrected copy of quarantined `old_event_id`, mark the old one resent and store the
        rebuilt consultation, in the caller's transaction. Returns the new seq.

        Raises LookupError (nothing written) when `old_event_id` is not quarantined.
        """
        if not await self.is_quarantined(old_event_id):
            raise LookupError(f"event {old_event_id} is not quarantined")
        extra: list[tuple[str, tuple[Any, ...]]] = [(
            "UPDATE outbox SET status = 'resent', staff_outcome = 'resent', resent_as = ? WHERE event_id = ?",
            (event.event_id, old_event_id))]
        if consultation is not None:
            c = consultation
            extra.append(("UPDATE consultations SET topic = ?, channel = ?, org_code = ? WHERE consultation_id = ?",
                          (c.topic, c.channel, c.org_code, c.consultation_id)))
        return await self._append([event], *extra)

    # ---- folds: every event of a case this PC knows, and the case rows made of them ---------------------------

    async def known_events(self, case_ids: Iterable[str], agent_id: str) -> list[KnownEvent]:
        """Every event of these cases this PC knows, any order: pulled ones, and its own that count (`OWN_FOLDED`)
        and were not pulled back. Its own carry `agent_id` and their local seq."""
        ids = _case_json.encode(sorted(set(case_ids)))
        async with self._db.execute(
            "SELECT event_id, agent_id, seq, case_id, kind, at, offset_ms, parents, replaces, data, 0, staff_id"
            " FROM pulled"
            " WHERE case_id IN (SELECT value FROM json_each(?1))"
            " UNION ALL SELECT event_id, ?2, seq, case_id, kind, at, offset_ms, parents, replaces, data, 1, staff_id"
            f" FROM outbox WHERE case_id IN (SELECT value FROM json_each(?1)) AND {OWN_FOLDED}"
            " AND event_id NOT IN (SELECT event_id FROM pulled WHERE case_id IN (SELECT value FROM json_each(?1)))",
            (ids, agent_id),
        ) as cur:
            rows = await cur.fetchall()
        return [_known(r) for r in rows]

    async def case_state(self, case_id: str) -> FoldResult | None:
        """The case's last fold as stored: state, conflicts and meta (`applied` is not stored: empty)."""
        async with self._db.execute("SELECT body, meta FROM cases WHERE case_id = ?", (case_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        meta = _meta_decode.decode(row[1])
        conflicts = await self.conflicts_of(case_id) if meta.conflicts else []
        return FoldResult(_case_decode.decode(row[0]), [], conflicts, meta)

    async def save_folds(self, folds: Mapping[str, FoldResult]) -> None:
        """Write each case's fold (case_id -> fold) and its conflicts, in the caller's transaction; a fold without a
        case (no `accepted` among its events any more) deletes the case's row."""
        rows, gone, conflicts = [], [], []
        for case_id, f in folds.items():
            if f.case is None:
                gone.append(case_id)
                continue
            c = f.case
            body = _case_json.encode(c)
            rows.append((c.case_id, c.case_no, c.state, c.accepted_on, c.due_on, c.applicant_name, c.cert_no, body,
                         _case_json.encode(f.meta), case_digest(c, f.conflicts, encoded=body)))
            conflicts += [(x.event_id, x.case_id, x.agent_id, int(x.is_open), _case_json.encode(x))
                          for x in f.conflicts]
        db = self._db
        await db.execute("DELETE FROM conflicts WHERE case_id IN (SELECT value FROM json_each(?))",
                         (_case_json.encode(list(folds)),))
        if gone:
            await db.execute("DELETE FROM cases WHERE case_id IN (SELECT value FROM json_each(?))",
                             (_case_json.encode(gone),))
        await db.executemany(
            "INSERT INTO cases (case_id, case_no, state, accepted_on, due_on, applicant_name, cert_no, body, meta,"
            " digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (case_id) DO UPDATE SET"
            " case_no = excluded.case_no, state = excluded.state, accepted_on = excluded.accepted_on,"
            " due_on = excluded.due_on, applicant_name = excluded.applicant_name, cert_no = excluded.cert_no,"
            " body = excluded.body, meta = excluded.meta, digest = excluded.digest", rows)
        if conflicts:
            await db.executemany(
                "INSERT INTO conflicts (event_id, case_id, agent_id, is_open, body) VALUES (?, ?, ?, ?, ?)",
                conflicts)

    async def insert_pulled(self, events: Sequence[PulledEvent[msgspec.Raw]]) -> None:
        """Store pulled events in the caller's transaction; one already here takes the county's agent id and seq
        (an event of this PC's earlier identity)."""
        await self._db.executemany(
            "INSERT INTO pulled (event_id, agent_id, seq, case_id, kind, at, offset_ms, parents, replaces, data,"
            " staff_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS TEXT), ?) ON CONFLICT (event_id) DO UPDATE SET"
            " agent_id = excluded.agent_id, seq = excluded.seq",
            [(e.event_id, e.agent_id, e.seq, e.case_id, e.kind, e.at, e.offset_ms,
              None if e.parents is None else _case_json.encode(e.parents), e.replaces, bytes(e.data), e.staff_id)
             for e in events])

    async def folded_case_ids(self) -> list[str]:
        """Every case id this PC holds an event of (consultations are no cases)."""
        async with self._db.execute(
            "SELECT case_id FROM pulled UNION SELECT case_id FROM outbox WHERE kind <> 'consulted'"
            " UNION SELECT case_id FROM cases"
        ) as cur:
            return [r[0] for r in await cur.fetchall()]

    async def digest(self) -> tuple[int, int]:
        """(cases, sum of their digests): the township digest (`protocol.causal.township_digest`)."""
        async with self._db.execute("SELECT count(*), coalesce(sum(digest), 0) FROM cases") as cur:
            row = await cur.fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def conflicts_of(self, case_id: str) -> list[Conflict]:
        async with self._db.execute("SELECT body FROM conflicts WHERE case_id = ? ORDER BY event_id",
                                    (case_id,)) as cur:
            return [_conflict_decode.decode(r[0]) for r in await cur.fetchall()]

    async def open_conflicts(self, agent_id: str | None = None, limit: int = 500) -> list[Conflict]:
        """Open conflicts, of one agent's events or of all, oldest event first."""
        where, args = ("is_open = 1 AND agent_id = ?", (agent_id, limit)) if agent_id else ("is_open = 1", (limit,))
        async with self._db.execute(f"SELECT body FROM conflicts WHERE {where} ORDER BY event_id LIMIT ?",
                                    args) as cur:
            return [_conflict_decode.decode(r[0]) for r in await cur.fetchall()]

    async def count_open_conflicts(self, agent_id: str) -> int:
        async with self._db.execute("SELECT count(*) FROM conflicts WHERE is_open = 1 AND agent_id = ?",
                                    (agent_id,)) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def get_conflict(self, event_id: str) -> Conflict | None:
        async with self._db.execute("SELECT body FROM conflicts WHERE event_id = ?", (event_id,)) as cur:
            row = await cur.fetchone()
        return _conflict_decode.decode(row[0]) if row else None

    async def known_event(self, event_id: str, agent_id: str) -> KnownEvent | None:
        """One event this PC knows (its own that counts, or pulled), by id."""
        async with self._db.execute(
            "SELECT event_id, agent_id, seq, case_id, kind, at, offset_ms, parents, replaces, data, 0, staff_id"
            " FROM pulled"
            " WHERE event_id = ?1 UNION ALL SELECT event_id, ?2, seq, case_id, kind, at, offset_ms, parents,"
            f" replaces, data, 1, staff_id FROM outbox WHERE event_id = ?1 AND {OWN_FOLDED} LIMIT 1",
            (event_id, agent_id),
        ) as cur:
            r = await cur.fetchone()
        return None if r is None else _known(r)

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
            f"SELECT seq, event_id, case_id, kind, at, offset_ms, data, status, parents, staff_id FROM outbox"
            f" WHERE {where}", args,
        ) as cur:
            rows = await cur.fetchall()
        return [StoredEvent(seq, event_id, case_id, kind, at, offset_ms, msgspec.json.decode(data), status,
                            None if parents is None else tuple(_ids.decode(parents)), staff_id)
                for seq, event_id, case_id, kind, at, offset_ms, data, status, parents, staff_id in rows]

    # ---- outbox ------------------------------------------------------------------------------------------

    async def pending_events(self, limit: int) -> list[Event]:
        """The oldest events not yet acknowledged, in seq order."""
        async with self._db.execute(
            "SELECT seq, event_id, case_id, kind, at, offset_ms, data, parents, replaces, staff_id FROM outbox"
            " WHERE status = 'pending' ORDER BY seq LIMIT ?",
            (limit,),
        ) as cur:
            rows = await cur.fetchall()
        return [
            Event(event_id=r[1], seq=r[0], case_id=r[2], kind=r[3], at=r[4], offset_ms=r[5],
                  data=msgspec.json.decode(r[6]), parents=None if r[7] is None else _ids.decode(r[7]), replaces=r[8],
                  staff_id=r[9])
            for r in rows
        ]

    async def mark_pushed(self, acked_seq: int, refused: list[Refusal]) -> int:
        """Quarantine the refused events and mark everything else up to `acked_seq` synced, in the caller's
        transaction. Returns rows marked. Idempotent: marking the same acknowledgement twice changes nothing. The
        cases of refused events must be refolded in the same transaction (`agent.casebook`)."""
        db = self._db
        if refused:
            await db.executemany(
                # Refused again after staff resent or dismissed it: their decision stands.
                "UPDATE outbox SET status = coalesce(staff_outcome, 'quarantined'), refusal_code = ?,"
                " refusal_message = ? WHERE event_id = ? AND status = 'pending'",
                [(r.code, r.message + (f" ({r.detail})" if r.detail else ""), r.event_id) for r in refused],
            )
        cur = await db.execute("UPDATE outbox SET status = 'synced' WHERE status = 'pending' AND seq <= ?",
                               (acked_seq,))
        return cur.rowcount

    async def case_ids_of_events(self, event_ids: Iterable[str]) -> list[str]:
        async with self._db.execute(
            "SELECT DISTINCT case_id FROM outbox WHERE event_id IN (SELECT value FROM json_each(?))"
            " AND kind <> 'consulted'", (_case_json.encode(list(event_ids)),)
        ) as cur:
            return [r[0] for r in await cur.fetchall()]

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

    # ---- attachments (申请材料) -------------------------------------------------------------------------------

    async def attachment_bytes(self) -> int:
        """All attachment files this PC keeps, in bytes (each file once)."""
        return int(_value(await (await self._db.execute("SELECT coalesce(sum(size_bytes), 0) FROM attachment_blobs"))
                          .fetchone()))

    async def add_attachment(self, attachment: Attachment) -> Attachment:
        """Record that a case holds a file already written under its hash. Idempotent per (case, file): the same scan
        attached to the same case again answers the attachment it already has."""
        a = attachment
        async with self._lock, self.transaction() as db:
            await db.execute("INSERT INTO attachment_blobs (sha256, size_bytes, media_type, stored_at) VALUES "
                             "(?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
                             (a.sha256, a.size_bytes, a.media_type, a.added_at))
            await db.execute(f"INSERT INTO attachments ({ATTACHMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                             "ON CONFLICT (case_id, sha256) DO NOTHING",
                             (a.attachment_id, a.case_id, a.sha256, a.name, a.media_type, a.size_bytes, a.added_at,
                              a.upload_state, a.uploaded_at, a.upload_error))
            rows = await db.execute_fetchall(f"SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE case_id = ? AND "
                                             "sha256 = ?", (a.case_id, a.sha256))
        return Attachment(*next(iter(rows)))

    async def case_attachments(self, case_id: str) -> list[Attachment]:
        rows = await self._db.execute_fetchall(f"SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE case_id = ? "
                                               "ORDER BY added_at, attachment_id", (case_id,))
        return [Attachment(*r) for r in rows]

    async def get_attachment(self, attachment_id: str) -> Attachment | None:
        rows = list(await self._db.execute_fetchall(
            f"SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE attachment_id = ?", (attachment_id,)))
        return Attachment(*rows[0]) if rows else None

    async def attachments_to_upload(self, limit: int = 100) -> list[Attachment]:
        """Pending attachments whose case has no event left to push: a file goes behind its case's events, so the
        county knows the case when the file arrives (and figures never wait for a file)."""
        rows = await self._db.execute_fetchall(
            f"SELECT {ATTACHMENT_COLUMNS} FROM attachments a WHERE upload_state = 'pending' AND NOT EXISTS "
            "(SELECT 1 FROM outbox o WHERE o.case_id = a.case_id AND o.status = 'pending') "
            "ORDER BY added_at, attachment_id LIMIT ?", (limit,))
        return [Attachment(*r) for r in rows]

    async def count_attachments_pending(self) -> int:
        return int(_value(await (await self._db.execute(
            "SELECT count(*) FROM attachments WHERE upload_state = 'pending'")).fetchone()))

    async def mark_attachment(self, attachment_id: str, *, uploaded_at: str | None, error: str | None) -> None:
        """Uploaded (with its time), or still pending with the last error staff and ops see."""
        async with self._lock, self.transaction() as db:
            await db.execute("UPDATE attachments SET upload_state = ?, uploaded_at = ?, upload_error = ? "
                             "WHERE attachment_id = ?",
                             ("uploaded" if uploaded_at else "pending", uploaded_at, error, attachment_id))

    # ---- meta and reference ------------------------------------------------------------------------------

    async def get_meta(self) -> dict[str, str]:
        async with self._db.execute("SELECT key, value FROM meta") as cur:
            return {k: v for k, v in await cur.fetchall()}

    async def set_meta(self, **values: str | int | float | None) -> None:
        async with self._lock, self.transaction():
            await self.put_meta(**values)

    async def put_meta(self, **values: str | int | float | None) -> None:
        """`set_meta` in the caller's transaction."""
        await self._db.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [(k, "" if v is None else str(v)) for k, v in values.items()],
        )

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

    # ---- staff (agent/staff.py has the rules) ---------------------------------------------------------------

    async def staff_members(self) -> list[StaffMember]:
        async with self._db.execute(f"SELECT {_STAFF_COLUMNS} FROM staff ORDER BY staff_id") as cur:
            return [_staff(r) for r in await cur.fetchall()]

    async def staff_member(self, staff_id: str) -> StaffMember | None:
        async with self._db.execute(f"SELECT {_STAFF_COLUMNS} FROM staff WHERE staff_id = ?", (staff_id,)) as cur:
            row = await cur.fetchone()
        return _staff(row) if row else None

    async def has_staff(self) -> bool:
        """Whether any staff member can sign in: from then on every action needs one signed in."""
        async with self._db.execute("SELECT 1 FROM staff WHERE is_disabled = 0 LIMIT 1") as cur:
            return await cur.fetchone() is not None

    async def save_staff(self, member: StaffMember) -> None:
        """A change made on this PC: stored, and marked to go to the county at the next sync."""
        async with self._lock, self.transaction():
            await self._put_staff([member], dirty=True)

    async def _put_staff(self, members: Sequence[StaffMember], *, dirty: bool) -> None:
        await self._db.executemany(
            "INSERT INTO staff (staff_id, name, role, secret_hash, is_disabled, rev, changed_at, changed_by, dirty)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (staff_id) DO UPDATE SET name = excluded.name,"
            " role = excluded.role, secret_hash = excluded.secret_hash, is_disabled = excluded.is_disabled,"
            " rev = excluded.rev, changed_at = excluded.changed_at, changed_by = excluded.changed_by,"
            " dirty = excluded.dirty",
            [(m.staff_id, m.name, m.role, m.secret_hash, int(m.is_disabled), m.rev, m.changed_at, m.changed_by,
              int(dirty)) for m in members])

    async def dirty_staff(self) -> list[StaffMember]:
        async with self._db.execute(f"SELECT {_STAFF_COLUMNS} FROM staff WHERE dirty = 1 ORDER BY staff_id") as cur:
            return [_staff(r) for r in await cur.fetchall()]

    async def merge_staff(self, county: Sequence[StaffMember], sent: Sequence[StaffMember]) -> int:
        """Take the county's list of the township's staff: each record replaces ours when it is newer
        (`protocol.staff.newer`); what we sent and the county now holds is no longer dirty. Returns records
        changed here."""
        changed = 0
        async with self._lock, self.transaction():
            ours = {m.staff_id: m for m in await self.staff_members()}
            take = [m for m in county if m != ours.get(m.staff_id) and newer(m, ours.get(m.staff_id))]
            await self._put_staff(take, dirty=False)
            changed = len(take)
            held = {m.staff_id: m for m in county}
            acknowledged = [m.staff_id for m in sent if held.get(m.staff_id) == m]
            await self._db.executemany("UPDATE staff SET dirty = 0 WHERE staff_id = ?", [(i,) for i in acknowledged])
        return changed

    async def sign_in_failures(self, staff_id: str) -> tuple[int, float]:
        """(failed sign-ins in a row on this PC, unix time the lock ends)."""
        async with self._db.execute("SELECT failures, locked_until FROM staff WHERE staff_id = ?",
                                    (staff_id,)) as cur:
            row = await cur.fetchone()
        return (int(row[0]), float(row[1])) if row else (0, 0.0)

    async def set_sign_in_failures(self, staff_id: str, failures: int, locked_until: float) -> None:
        async with self._lock, self.transaction():
            await self._db.execute("UPDATE staff SET failures = ?, locked_until = ? WHERE staff_id = ?",
                                   (failures, locked_until, staff_id))

    async def staff_names(self) -> dict[str, str]:
        async with self._db.execute("SELECT staff_id, name FROM staff") as cur:
            return {r[0]: r[1] for r in await cur.fetchall()}


def _value(row: aiosqlite.Row | None) -> Any:
    """The one value of an aggregate's row (an aggregate always answers a row)."""
    assert row is not None
    return row[0]


_STAFF_COLUMNS = "staff_id, name, role, secret_hash, rev, changed_at, is_disabled, changed_by"


def _staff(r: Any) -> StaffMember:
    return StaffMember(staff_id=r[0], name=r[1], role=r[2], secret_hash=r[3], rev=r[4], changed_at=r[5],
                       is_disabled=bool(r[6]), changed_by=r[7])


def _known(r: Any) -> KnownEvent:
    """A row of `known_events`' shape (pulled and outbox rows alike): outbox data is bytes, pulled data text."""
    event_id, agent_id, seq, case_id, kind, at, offset_ms, parents, replaces, data, is_own, staff_id = r
    return KnownEvent(event_id, agent_id, seq, case_id, kind, at, offset_ms,
                      None if parents is None else tuple(_ids.decode(parents)), replaces,
                      data.encode() if isinstance(data, str) else data, bool(is_own), staff_id)


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
