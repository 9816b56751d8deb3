"""SQLite storage (aiosqlite): the embedded default, one county on one box.

One write connection guarded by an asyncio.Lock (SQLite has one writer anyway; queueing in-process avoids
SQLITE_BUSY), and one read-only connection for stats and token look-ups, which WAL lets run beside a write.
Every transaction method is one await (`execute` or `executemany`): each await is a thread hop in aiosqlite.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
import msgspec

from protocol.lifecycle import Case
from protocol.messages import OrgUnit, ServiceItem
from server.clock import now_iso
from server.rollups import GRAINS, METRICS, ROLLUP_TABLES, Contribution, add_into, rollup_statements
from server.storage.base import AgentRecord, CaseRecord, Consultation, RefusedEvent, StoredEvent

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations" / "sqlite"

# Pragmas of the write connection.
# - WAL: readers never block the writer and vice versa.
# - synchronous=FULL: a batch acknowledged to an agent survives a power cut (the agent then deletes its copy).
#   The bench showed no measurable gain from NORMAL with one commit per batch (see perf-notes too).
# - cache_size=-65536 (64 MiB) and wal_autocheckpoint=10000 pages: fewer rewrites of the same index pages, +28-63 %
#   on batch writes in perf-notes. The 10000 pages are only a safety net: `SqliteStore` checkpoints in the background
#   (see `_checkpoint_soon`), so a commit normally never pays for a checkpoint.
# - busy_timeout: the CLI (`agents add`, `rollups rebuild`) may write while the server runs.
WRITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA cache_size=-65536",
    "PRAGMA wal_autocheckpoint=10000",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA busy_timeout=10000",
)
# Background PASSIVE checkpoints (litestream does the same): at most one at a time, at most every this many seconds.
# A checkpoint is one SQLite call that runs without the GIL on its own connection, so it overlaps with ingest's Python.
CHECKPOINT_INTERVAL_S = 0.25
READ_PRAGMAS = ("PRAGMA query_only=ON", "PRAGMA cache_size=-16384", "PRAGMA busy_timeout=10000")

_case_decoder = msgspec.json.Decoder(Case)
_encode = msgspec.json.encode

CASE_COLUMNS = ("case_id", "case_no", "township_code", "org_code", "village_code", "item_code", "category",
                "channel", "state", "accepted_on", "due_on", "completed_on", "closed_on", "rating", "rated_on",
                "followed_up_on", "is_on_time", "last_key", "body", "updated_at")
SAVE_CASES_SQL = (
    f"INSERT INTO cases ({', '.join(CASE_COLUMNS)}) VALUES ({', '.join('?' for _ in CASE_COLUMNS)}) "
    "ON CONFLICT (case_id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in CASE_COLUMNS[1:])
)
INSERT_EVENTS_SQL = (
    "INSERT INTO events (event_id, agent_id, seq, case_id, kind, at, offset_ms, order_key, data, received_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# Stats and verify sum every metric.
_SUMS = ", ".join(f"SUM({m})" for m in METRICS)
# Cases decoded per step when the rollups are recomputed (verify, rebuild).
_RECOMPUTE_CHUNK = 20_000
# Contiguity walk reads at most this many seqs past the ack; a longer run is acknowledged over several pushes.
_ACK_WINDOW = 20000


def case_row(record: CaseRecord, updated_at: str) -> tuple[object, ...]:
    c = record.case
    on_time = c.is_on_time
    return (c.case_id, c.case_no, c.org_code[:9], c.org_code, c.village_code, c.item_code, record.category,
            c.channel, c.state, c.accepted_on, c.due_on, c.completed_on, c.closed_on, c.rating, c.rated_on,
            c.followed_up_on, None if on_time is None else int(on_time), record.last_key, _encode(c).decode(),
            updated_at)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


class CaseCache:
    """Recently folded cases, so that the next event of a case does not read and decode its row again.

    Valid because this process is the only writer of `cases` (the CLI writes agents and rollups, never cases); a
    multi-process backend must not keep one. Entries are staged by a transaction and applied only after its commit.
    """

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, CaseRecord] = OrderedDict()

    def get(self, case_id: str) -> CaseRecord | None:
        record = self._entries.get(case_id)
        if record is not None:
            self._entries.move_to_end(case_id)
        return record

    def put_all(self, records: Iterable[CaseRecord]) -> None:
        entries = self._entries
        for record in records:
            entries[record.case.case_id] = record
            entries.move_to_end(record.case.case_id)
        while len(entries) > self.max_entries:
            entries.popitem(last=False)


class SqliteWriteTransaction:
    def __init__(self, db: aiosqlite.Connection, cache: CaseCache) -> None:
        self._db = db
        self._cache = cache
        self.saved: list[CaseRecord] = []  # applied to the cache after the commit

    @property
    def connection(self) -> aiosqlite.Connection:
        """The write connection, for sibling SQLite modules that write their own tables in this transaction
        (`sqlite_dashboard`: accounts and sessions)."""
        return self._db

    async def existing_events(self, event_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        if not event_ids:
            return {}
        rows = await self._db.execute_fetchall(
            f"SELECT event_id, agent_id, seq FROM events WHERE event_id IN ({_marks(len(event_ids))})", event_ids)
        return {r[0]: (r[1], r[2]) for r in rows}

    async def seq_owners(self, agent_id: str, seqs: Sequence[int]) -> dict[int, str]:
        if not seqs:
            return {}
        marks = _marks(len(seqs))
        rows = await self._db.execute_fetchall(
            f"SELECT seq, event_id FROM events WHERE agent_id = ? AND seq IN ({marks}) "
            f"UNION ALL SELECT seq, event_id FROM refused_events WHERE agent_id = ? AND seq IN ({marks}) "
            "AND code <> 'seq_reused'",
            (agent_id, *seqs, agent_id, *seqs))
        return {r[0]: r[1] for r in rows}

    async def load_cases(self, case_ids: Iterable[str]) -> dict[str, CaseRecord]:
        out: dict[str, CaseRecord] = {}
        ids = []
        for case_id in case_ids:
            record = self._cache.get(case_id)
            if record is None:
                ids.append(case_id)
            else:
                out[case_id] = record
        if not ids:
            return out
        rows = await self._db.execute_fetchall(
            f"SELECT body, category, last_key FROM cases WHERE case_id IN ({_marks(len(ids))})", ids)
        for body, category, last_key in rows:
            case = _case_decoder.decode(body)
            out[case.case_id] = CaseRecord(case, category, last_key)
        return out

    async def events_of_cases(self, case_ids: Iterable[str]) -> list[StoredEvent]:
        ids = list(case_ids)
        if not ids:
            return []
        rows = await self._db.execute_fetchall(
            "SELECT event_id, agent_id, seq, case_id, kind, at, offset_ms, order_key, data FROM events "
            f"WHERE case_id IN ({_marks(len(ids))})", ids)
        return [StoredEvent(*r[:8], data=r[8].encode()) for r in rows]

    async def insert_events(self, events: Sequence[StoredEvent], received_at: str) -> None:
        await self._db.executemany(INSERT_EVENTS_SQL, [
            (e.event_id, e.agent_id, e.seq, e.case_id, e.kind, e.at, e.offset_ms, e.order_key, e.data.decode(),
             received_at) for e in events])

    async def record_refusals(self, refusals: Sequence[RefusedEvent], received_at: str) -> None:
        if refusals:
            await self._db.executemany(
                "INSERT INTO refused_events (event_id, agent_id, seq, code, detail, body, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
                [(r.event_id, r.agent_id, r.seq, r.code, r.detail, r.body.decode(), received_at) for r in refusals])

    async def insert_consultations(self, consultations: Sequence[Consultation]) -> list[Consultation]:
        if not consultations:
            return []
        ids = [c.consultation_id for c in consultations]
        rows = await self._db.execute_fetchall(
            f"SELECT consultation_id FROM consultations WHERE consultation_id IN ({_marks(len(ids))})", ids)
        seen = {r[0] for r in rows}
        new = []
        for c in consultations:
            if c.consultation_id not in seen:
                seen.add(c.consultation_id)
                new.append(c)
        await self._db.executemany(
            "INSERT INTO consultations (consultation_id, event_id, org_code, channel, consulted_on, body) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(c.consultation_id, c.event_id, c.org_code, c.channel, c.consulted_on, c.body.decode()) for c in new])
        return new

    async def save_cases(self, records: Sequence[CaseRecord], updated_at: str) -> None:
        if records:
            await self._db.executemany(SAVE_CASES_SQL, [case_row(r, updated_at) for r in records])
            self.saved.extend(records)

    async def add_rollup_deltas(self, deltas: Contribution) -> None:
        for sql, rows in rollup_statements(deltas):  # the daily table and every coarser grain
            if rows:
                await self._db.executemany(sql, rows)

    async def advance_ack(self, agent_id: str, *, seen_at: str, software_version: str | None,
                          pending: int | None) -> int:
        rows = await self._db.execute_fetchall("SELECT acked_seq FROM agents WHERE agent_id = ?", (agent_id,))
        acked = rows[0][0]
        seqs = await self._db.execute_fetchall(
            "SELECT seq FROM events WHERE agent_id = ? AND seq > ? "
            "UNION SELECT seq FROM refused_events WHERE agent_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (agent_id, acked, agent_id, acked, _ACK_WINDOW))
        for (seq,) in seqs:
            if seq != acked + 1:
                break
            acked = seq
        await self._db.execute(
            "UPDATE agents SET acked_seq = ?, last_push_at = ?, software_version = ?, pending = ? WHERE agent_id = ?",
            (acked, seen_at, software_version, pending, agent_id))
        return acked


class SqliteStore:
    def __init__(self, path: Path, case_cache_entries: int = 20_000) -> None:
        self.path = path
        self._cases = CaseCache(case_cache_entries)
        self._db: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._checkpointer: aiosqlite.Connection | None = None
        self._checkpoint_task: asyncio.Task[None] | None = None
        self._last_checkpoint_s = 0.0
        self._lock = asyncio.Lock()  # binds to the running loop on first use
        self._probe: asyncio.Future[None] | None = None  # the liveness probe in flight (see `ping`)

    # ---- life cycle -----------------------------------------------------------------------------------------

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        for pragma in WRITE_PRAGMAS:
            await self._db.execute(pragma)
        await self._migrate()
        self._reader = await aiosqlite.connect(self.path, isolation_level=None)
        for pragma in READ_PRAGMAS:
            await self._reader.execute(pragma)
        self._checkpointer = await aiosqlite.connect(self.path, isolation_level=None)
        await self._checkpointer.execute("PRAGMA busy_timeout=10000")

    async def close(self) -> None:
        async with self._lock:  # a batch in flight commits or rolls back first (SIGTERM)
            if self._checkpoint_task is not None:
                await self._checkpoint_task
                self._checkpoint_task = None
            if self._db is not None:
                await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            for conn in (self._checkpointer, self._reader, self._db):
                if conn is not None:
                    await conn.close()
            self._db = self._reader = self._checkpointer = None

    async def ping(self, timeout_s: float) -> None:
        # Shielded and never two at once: a probe that timed out finishes (and rolls back) in the background.
        if self._probe is None or self._probe.done():
            self._probe = asyncio.ensure_future(self._probe_once())
        await asyncio.wait_for(asyncio.shield(self._probe), timeout_s)

    async def _probe_once(self) -> None:
        db = self._writer
        async with self._lock:
            await db.execute("BEGIN IMMEDIATE")
            try:
                await db.execute_fetchall("SELECT count(*) FROM schema_migrations")
            finally:
                await db.execute("ROLLBACK")

    async def applied_migrations(self) -> set[int]:
        return {r[0] for r in await self._read.execute_fetchall("SELECT version FROM schema_migrations")}

    def _checkpoint_soon(self) -> None:
        """Start a PASSIVE checkpoint in the background unless one runs or ran within CHECKPOINT_INTERVAL_S.
        PASSIVE never blocks the writer or readers; frames it cannot copy yet are copied by the next one."""
        now = time.monotonic()
        if self._checkpointer is None or now - self._last_checkpoint_s < CHECKPOINT_INTERVAL_S:
            return
        if self._checkpoint_task is not None and not self._checkpoint_task.done():
            return
        self._last_checkpoint_s = now
        self._checkpoint_task = asyncio.get_running_loop().create_task(self._checkpoint(self._checkpointer))

    @staticmethod
    async def _checkpoint(conn: aiosqlite.Connection) -> None:
        try:
            await conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:  # the next commit tries again; the writer's autocheckpoint is the safety net
            log.warning("wal checkpoint failed", exc_info=True)

    async def _migrate(self) -> None:
        db = self._writer
        await db.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                         "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        done = {r[0] for r in await db.execute_fetchall("SELECT version FROM schema_migrations")}
        for path in sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")):
            version = int(path.name[:4])
            if version in done:
                continue
            sql = path.read_text(encoding="utf-8")
            try:
                # One transaction per migration: a failure leaves the schema at the previous version.
                await db.executescript(
                    f"BEGIN IMMEDIATE;\n{sql}\n;INSERT INTO schema_migrations (version, name, applied_at) "
                    f"VALUES ({version}, '{path.stem}', '{now_iso()}');\nCOMMIT;")
            except Exception:
                if db.in_transaction:
                    await db.execute("ROLLBACK")
                raise
            log.info("migration applied version=%d name=%s", version, path.stem)

    @property
    def _writer(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("store is not open")
        return self._db

    @property
    def _read(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise RuntimeError("store is not open")
        return self._reader

    @asynccontextmanager
    async def write(self) -> AsyncIterator[SqliteWriteTransaction]:
        db = self._writer
        async with self._lock:
            await db.execute("BEGIN IMMEDIATE")
            tx = SqliteWriteTransaction(db, self._cases)
            try:
                yield tx
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")
            self._cases.put_all(tx.saved)
            self._checkpoint_soon()

    # ---- reference and agents -------------------------------------------------------------------------------

    async def upsert_reference(self, org_units: Iterable[OrgUnit], items: Iterable[ServiceItem]) -> None:
        async with self.write():
            db = self._writer
            await db.executemany(
                "INSERT INTO org_units (code, name, level, parent, kind) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, "
                "parent = excluded.parent, kind = excluded.kind",
                [(u.code, u.name, u.level, u.parent, u.kind) for u in org_units])
            await db.executemany(
                "INSERT INTO service_items (code, name, category, promised_days, legal_days, is_online, is_one_trip) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO UPDATE SET name = excluded.name, "
                "category = excluded.category, promised_days = excluded.promised_days, "
                "legal_days = excluded.legal_days, is_online = excluded.is_online, is_one_trip = excluded.is_one_trip",
                [(i.code, i.name, i.category, i.promised_days, i.legal_days, int(i.is_online), int(i.is_one_trip))
                 for i in items])

    async def add_agent(self, agent: AgentRecord, token_sha256: str) -> None:
        async with self.write():
            try:
                await self._writer.execute(
                    "INSERT INTO agents (agent_id, township_code, name, token_sha256, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (agent.agent_id, agent.township_code, agent.name, token_sha256, agent.created_at))
            except aiosqlite.IntegrityError as exc:
                raise ValueError(f"agent {agent.agent_id} or its token already exists") from exc

    async def replace_agent_token(self, agent_id: str, token_sha256: str) -> bool:
        async with self.write():
            cur = await self._writer.execute("UPDATE agents SET token_sha256 = ? WHERE agent_id = ?",
                                             (token_sha256, agent_id))
        return cur.rowcount == 1

    _AGENT_COLUMNS = "agent_id, township_code, name, created_at, acked_seq, last_push_at, software_version, pending"

    async def agent_by_token_sha256(self, token_sha256: str) -> AgentRecord | None:
        rows = await self._read.execute_fetchall(
            f"SELECT {self._AGENT_COLUMNS} FROM agents WHERE token_sha256 = ?", (token_sha256,))
        return AgentRecord(*rows[0]) if rows else None

    async def list_agents(self) -> list[AgentRecord]:
        rows = await self._read.execute_fetchall(f"SELECT {self._AGENT_COLUMNS} FROM agents ORDER BY agent_id")
        return [AgentRecord(*r) for r in rows]

    # ---- figures --------------------------------------------------------------------------------------------

    async def rollup_sums(self, prefix_len: int, prefix: str, date_from: str, date_to: str
                          ) -> dict[str, dict[str, int]]:
        # A range on the primary key instead of LIKE: uses the index on every backend. Codes are digits, so the
        # prefix with its last digit incremented (9 -> ':') is the exclusive upper bound.
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        rows = await self._read.execute_fetchall(
            f"SELECT substr(org_code, 1, ?) AS unit, {_SUMS} FROM rollups "
            "WHERE org_code >= ? AND org_code < ? AND day >= ? AND day <= ? GROUP BY unit",
            (prefix_len, prefix, upper, date_from, date_to))
        return {r[0]: dict(zip(METRICS, r[1:], strict=True)) for r in rows}

    async def snapshot_for_verify(self, recompute: Callable[[list[CaseRecord], list[Consultation]], Contribution]
                                  ) -> tuple[Contribution, dict[str, Contribution]]:
        db = self._read
        await db.execute("BEGIN")  # one read snapshot (WAL) for all the selects
        try:
            expected = await self._recompute(db, recompute)
            tables = {g: await db.execute_fetchall(g.select_all_sql) for g in GRAINS}
        finally:
            await db.execute("COMMIT")
        out: dict[str, Contribution] = {}
        for grain, rows in tables.items():
            n = len(grain.key_columns)
            rollups: Contribution = {}
            out[grain.table] = rollups
            for r in rows:
                metrics = {m: v for m, v in zip(METRICS, r[n:], strict=True) if v}
                if metrics:
                    rollups[tuple(r[:n])] = metrics  # type: ignore[index]
        return expected, out

    async def rebuild_rollups(self, recompute: Callable[[list[CaseRecord], list[Consultation]], Contribution]
                              ) -> int:
        async with self.write():
            db = self._writer
            statements = rollup_statements(await self._recompute(db, recompute))
            for table in ROLLUP_TABLES:
                await db.execute(f"DELETE FROM {table}")
            for sql, rows in statements:
                await db.executemany(sql, rows)
        return sum(len(rows) for _, rows in statements)

    @staticmethod
    async def _recompute(db: aiosqlite.Connection,
                         recompute: Callable[[list[CaseRecord], list[Consultation]], Contribution]) -> Contribution:
        """`recompute` over the cases a chunk at a time, then the consultations. It is additive (the sum over the
        chunks is the whole), so memory holds the rollups, never every case: all 3.5 M cases of the prefecture
        benchmark at once took more than 18 GB."""
        total: Contribution = {}
        cursor = await db.execute("SELECT body, category, last_key FROM cases")
        try:
            while rows := await cursor.fetchmany(_RECOMPUTE_CHUNK):
                add_into(total, recompute([CaseRecord(_case_decoder.decode(b), cat, key) for b, cat, key in rows], []))
        finally:
            await cursor.close()
        consult_rows = await db.execute_fetchall(
            "SELECT consultation_id, event_id, org_code, channel, consulted_on, body FROM consultations")
        add_into(total, recompute([], [Consultation(*r[:5], body=r[5].encode()) for r in consult_rows]))
        return total
