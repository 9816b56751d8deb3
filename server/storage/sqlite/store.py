"""SQLite storage (aiosqlite): the embedded default, one county on one box.

One write connection on a thread of its own (`writer.py`: a write transaction is one function run there, and
writers queue in-process, so SQLite never answers SQLITE_BUSY to this process); read-only aiosqlite connections,
which WAL lets run beside a write: one for token look-ups and the CLI's reads, one for ingest's reads (`ingest.py`);
the dashboard's reads have their own (`dashboard.py`). Each await is a thread hop in aiosqlite, so reads come whole:
one statement per call.

Ingest is a `SerialIngest` (`server.storage.base`): the process that ingests a township is its only writer, so the
fold reads committed state outside the write transaction and batch writes queue on the writer thread.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import aiosqlite
import msgspec

from ops.migrationlock import migration_lock
from protocol.lifecycle import Case
from protocol.messages import OrgUnit, ServiceItem, StaffMember
from protocol.staff import newer
from server.clock import now_iso
from server.model.rollups import Contribution, GrainRows, add_into
from server.model.sealing import SearchKeys
from server.storage.base import (
    AgentRecord,
    AgentUsage,
    AuditEntry,
    AuditQuery,
    BatchWrite,
    CaseHistory,
    CaseRecord,
    Consultation,
    PullBatch,
    Recompute,
    Refold,
    WriteTurn,
)
from server.storage.rollup_tables import ROLLUP_TABLES, table_rows
from server.storage.sqlite import audit
from server.storage.sqlite.attachments import SqliteAttachments
from server.storage.sqlite.ingest import (
    CaseCache,
    CommittedReads,
    Statement,
    batch_statements,
    rollup_upserts,
    run_statements,
)
from server.storage.sqlite.sync import PULL_SQL, check_cases, pull_batch, refold_cases
from server.storage.sqlite.writer import SqliteWriter, T

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Pragmas of the write connection.
# - WAL: readers never block the writer and vice versa.
# - synchronous=FULL: a batch acknowledged to an agent survives a power cut (the agent then deletes its copy).
#   The bench showed no measurable gain from NORMAL with one commit per batch (see perf-notes too).
# - cache_size=-65536 (64 MiB) and wal_autocheckpoint=10000 pages: fewer rewrites of the same index pages, +28-63 %
#   on batch writes in perf-notes. The 10000 pages are only a safety net: `SqliteStore` checkpoints in the background
#   (see `_checkpoint_soon`), so a commit normally never pays for a checkpoint.
# - busy_timeout: the CLI (`agents add`, `rollups rebuild`) may write while the server runs; first, so that two
#   processes opening a new database at once wait for each other's switch to WAL instead of failing "locked".
WRITE_PRAGMAS = (
    "PRAGMA busy_timeout=10000",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA cache_size=-65536",
    "PRAGMA wal_autocheckpoint=10000",
    "PRAGMA temp_store=MEMORY",
)
# Background PASSIVE checkpoints (litestream does the same): at most one at a time, at most every this many seconds.
# A checkpoint is one SQLite call that runs without the GIL on its own connection, so it overlaps with ingest's Python.
CHECKPOINT_INTERVAL_S = 0.25
READ_PRAGMAS = ("PRAGMA query_only=ON", "PRAGMA cache_size=-16384", "PRAGMA busy_timeout=10000")

_case_decoder = msgspec.json.Decoder(Case)

# Cases decoded per step when the rollups are recomputed (verify, rebuild).
_RECOMPUTE_CHUNK = 20_000


class SqliteStore:
    def __init__(self, path: Path, case_cache_entries: int = 20_000, *, serving: bool = False) -> None:
        """`serving`: a store of the server or of its ingest workers, whose writes queue with each other's
        (`writer.py`)."""
        self.path = path
        self._cases = CaseCache(case_cache_entries)
        self._writer = SqliteWriter(path, WRITE_PRAGMAS, queue_with_others=serving)
        self._reader: aiosqlite.Connection | None = None
        self._ingest_reader: aiosqlite.Connection | None = None
        self._ingest_reads: CommittedReads | None = None
        self._pull_reader: aiosqlite.Connection | None = None  # made at the first pull: the server's, not a worker's
        self._stream: str | None = None
        self._checkpointer: aiosqlite.Connection | None = None
        self._checkpoint_task: asyncio.Task[None] | None = None
        self._last_checkpoint_s = 0.0
        self._probe: asyncio.Future[None] | None = None  # the liveness probe in flight (see `ping`)
        # Scanned materials: rows here, files beside the database (`attachments.py`).
        self.attachments = SqliteAttachments(path, lambda: self._read, self.transaction)

    # ---- life cycle -----------------------------------------------------------------------------------------

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await self._writer.open()
        await self._writer.call(functools.partial(_migrate_locked, self.path))
        self._reader = await self._connect_reader()
        self._ingest_reader = await self._connect_reader()
        self._ingest_reads = CommittedReads(self._ingest_reader, self._cases)
        self._checkpointer = await aiosqlite.connect(self.path, isolation_level=None)
        await self._checkpointer.execute("PRAGMA busy_timeout=10000")

    async def close(self) -> None:
        """After the writes already queued (a batch in flight commits or rolls back first, on SIGTERM)."""
        if self._checkpoint_task is not None:
            await self._checkpoint_task
            self._checkpoint_task = None
        for conn in (self._checkpointer, self._ingest_reader, self._pull_reader, self._reader):
            if conn is not None:
                await conn.close()
        self._reader = self._ingest_reader = self._pull_reader = self._checkpointer = None
        self._ingest_reads = None
        try:
            await self._writer.call(lambda conn: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
        except RuntimeError:
            pass  # never opened
        await self._writer.close()

    async def _connect_reader(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        for pragma in READ_PRAGMAS:
            await conn.execute(pragma)
        return conn

    async def ping(self, timeout_s: float) -> None:
        # Shielded and never two at once: a probe that timed out finishes in the background (an empty transaction).
        if self._probe is None or self._probe.done():
            self._probe = asyncio.ensure_future(self._writer.transaction(_probe))
        await asyncio.wait_for(asyncio.shield(self._probe), timeout_s)

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

    @property
    def _read(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise RuntimeError("store is not open")
        return self._reader

    async def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn(connection)` in one write transaction on the writer thread, queued behind the writes before it;
        for this store's sibling modules too (`dashboard.py`: accounts and sessions)."""
        result = await self._writer.transaction(fn)
        self._checkpoint_soon()
        return result

    # ---- ingest ---------------------------------------------------------------------------------------------

    @property
    def ingest_writes(self) -> SqliteStore:
        return self

    @property
    def committed_reads(self) -> CommittedReads:
        if self._ingest_reads is None:
            raise RuntimeError("store is not open")
        return self._ingest_reads

    def queue_batch_write(self, batch: BatchWrite, turn: WriteTurn) -> asyncio.Future[int]:
        statements = batch_statements(batch)  # here, on the event loop's thread: the writer thread only writes
        written = self._writer.submit(functools.partial(self._write_batch, statements, turn))
        written.add_done_callback(functools.partial(self._batch_written, batch))  # before the caller's callbacks
        return written

    def _write_batch(self, statements: list[Statement], turn: WriteTurn, conn: sqlite3.Connection) -> int:
        """On the writer thread."""
        turn.begin()
        try:
            acked = self._writer.in_transaction(conn, lambda c: run_statements(c, statements))
        except BaseException:
            turn.end(False)
            raise
        turn.end(True)
        return acked

    def _batch_written(self, batch: BatchWrite, written: asyncio.Future[int]) -> None:
        if not written.cancelled() and written.exception() is None:
            self._cases.put_all(batch.cases)  # committed
            self._checkpoint_soon()

    # ---- reference and agents -------------------------------------------------------------------------------

    async def upsert_reference(self, org_units: Iterable[OrgUnit], items: Iterable[ServiceItem]) -> None:
        units = [(u.code, u.name, u.level, u.parent, u.kind) for u in org_units]
        catalog = [(i.code, i.name, i.category, i.promised_days, i.legal_days, int(i.is_online), int(i.is_one_trip))
                   for i in items]

        def upsert(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO org_units (code, name, level, parent, kind) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, "
                "parent = excluded.parent, kind = excluded.kind", units)
            conn.executemany(
                "INSERT INTO service_items (code, name, category, promised_days, legal_days, is_online, is_one_trip) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO UPDATE SET name = excluded.name, "
                "category = excluded.category, promised_days = excluded.promised_days, "
                "legal_days = excluded.legal_days, is_online = excluded.is_online, is_one_trip = excluded.is_one_trip",
                catalog)

        await self.transaction(upsert)

    async def add_agent(self, agent: AgentRecord, token_sha256: str) -> None:
        try:
            await self.transaction(lambda conn: conn.execute(
                "INSERT INTO agents (agent_id, township_code, name, token_sha256, created_at) VALUES (?, ?, ?, ?, ?)",
                (agent.agent_id, agent.township_code, agent.name, token_sha256, agent.created_at)))
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"agent {agent.agent_id} or its token already exists") from exc

    async def replace_agent_token(self, agent_id: str, token_sha256: str) -> bool:
        return await self.transaction(lambda conn: conn.execute(
            "UPDATE agents SET token_sha256 = ?, revoked_at = NULL WHERE agent_id = ?",
            (token_sha256, agent_id)).rowcount == 1)

    async def revoke_agent(self, agent_id: str, revoked_at: str) -> bool:
        return await self.transaction(lambda conn: conn.execute(
            "UPDATE agents SET revoked_at = coalesce(revoked_at, ?) WHERE agent_id = ?",
            (revoked_at, agent_id)).rowcount == 1)

    async def bind_agent_cert(self, agent_id: str, cert_sha256: str | None) -> bool:
        try:
            return await self.transaction(lambda conn: conn.execute(
                "UPDATE agents SET cert_sha256 = ? WHERE agent_id = ?", (cert_sha256, agent_id)).rowcount == 1)
        except sqlite3.IntegrityError:
            raise ValueError("another agent is bound to this certificate") from None

    async def agent_cert(self, agent_id: str) -> str | None:
        rows = list(await self._read.execute_fetchall("SELECT cert_sha256 FROM agents WHERE agent_id = ?",
                                                      (agent_id,)))
        return rows[0][0] if rows else None
    async def merge_staff(self, township_code: str, agent_id: str, members: Sequence[StaffMember],
                          received_at: str) -> list[StaffMember]:
        def merge(conn: sqlite3.Connection) -> list[StaffMember]:
            held = {m.staff_id: m for m in _staff_rows(conn, township_code)}
            take = [m for m in members if newer(m, held.get(m.staff_id))]
            conn.executemany(
                f"INSERT INTO staff (township_code, {STAFF_COLUMNS}, agent_id, received_at) VALUES"
                " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (township_code, staff_id) DO UPDATE SET"
                " name = excluded.name, role = excluded.role, secret_hash = excluded.secret_hash,"
                " rev = excluded.rev, changed_at = excluded.changed_at, is_disabled = excluded.is_disabled,"
                " changed_by = excluded.changed_by, agent_id = excluded.agent_id, received_at = excluded.received_at",
                [(township_code, m.staff_id, m.name, m.role, m.secret_hash, m.rev, m.changed_at, int(m.is_disabled),
                  m.changed_by, agent_id, received_at) for m in take])
            return _staff_rows(conn, township_code) if take else sorted(held.values(), key=lambda m: m.staff_id)

        return await self.transaction(merge)

    async def reseal(self, case: Callable[[Case], tuple[Case, SearchKeys]], event: Callable[[str, bytes], bytes],
                     refusal: Callable[[bytes], bytes]) -> tuple[int, int, int]:
        def work(conn: sqlite3.Connection) -> tuple[int, int, int]:
            counts = [0, 0, 0]
            for case_id, body in conn.execute("SELECT case_id, body FROM cases").fetchall():
                sealed, search = case(_case.decode(body))
                new = msgspec.json.encode(sealed)
                if new != (body.encode() if isinstance(body, str) else body):
                    conn.execute("UPDATE cases SET body = CAST(? AS TEXT), cert_hash = ?, phone_hash = ?, tail_hash = ?"
                                 " WHERE case_id = ?", (new, search.cert, search.phone, search.tail, case_id))
                    counts[0] += 1
            for event_id, kind, data in conn.execute(
                    "SELECT event_id, kind, data FROM events "
                    "WHERE kind IN ('accepted', 'updated', 'corrected')").fetchall():
                raw = data.encode() if isinstance(data, str) else data
                new = event(kind, raw)
                if new != raw:
                    conn.execute("UPDATE events SET data = CAST(? AS TEXT) WHERE event_id = ?", (new, event_id))
                    counts[1] += 1
            for event_id, body in conn.execute("SELECT event_id, body FROM refused_events").fetchall():
                raw = body.encode() if isinstance(body, str) else body
                new = refusal(raw)
                if new != raw:
                    conn.execute("UPDATE refused_events SET body = CAST(? AS TEXT) WHERE event_id = ?",
                                 (new, event_id))
                    counts[2] += 1
            return counts[0], counts[1], counts[2]

        changed = await self.transaction(work)
        await self.transaction(lambda conn: conn.execute("PRAGMA secure_delete = ON"))
        await self._vacuum()
        return changed

    async def _vacuum(self) -> None:
        """VACUUM on a connection of its own: the file is rewritten without the pages the old values were on."""
        def run() -> None:
            with closing(sqlite3.connect(self.path, isolation_level=None)) as db:
                db.execute("VACUUM")
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        await asyncio.to_thread(run)

    async def township_staff(self, township_code: str) -> list[StaffMember]:
        rows = await self._read.execute_fetchall(
            f"SELECT {STAFF_COLUMNS} FROM staff WHERE township_code = ? ORDER BY staff_id", (township_code,))
        return [_staff(r) for r in rows]

    async def staff_names(self) -> dict[tuple[str, str], str]:
        rows = await self._read.execute_fetchall("SELECT township_code, staff_id, name FROM staff")
        return {(r[0], r[1]): r[2] for r in rows}

    async def agent_usage(self, agent_id: str, day: str) -> AgentUsage:
        [row] = await self._read.execute_fetchall(
            "SELECT (SELECT events FROM agent_usage WHERE agent_id = ?1 AND day = ?2), "
            "(SELECT bytes FROM agent_usage WHERE agent_id = ?1 AND day = ?2), "
            "(SELECT count(*) FROM orphan_events WHERE agent_id = ?1)", (agent_id, day))
        return AgentUsage(row[0] or 0, row[1] or 0, row[2])

    async def orphan_event_count(self) -> int:
        [(n,)] = await self._read.execute_fetchall("SELECT count(*) FROM orphan_events")
        return n

    async def agent_by_token_sha256(self, token_sha256: str) -> AgentRecord | None:
        rows = list(await self._read.execute_fetchall(
            f"SELECT {AGENT_COLUMNS} FROM agents WHERE token_sha256 = ?", (token_sha256,)))
        return agent_record(rows[0]) if rows else None

    async def list_agents(self) -> list[AgentRecord]:
        rows = await self._read.execute_fetchall(f"SELECT {AGENT_COLUMNS} FROM agents ORDER BY agent_id")
        return [agent_record(r) for r in rows]

    # ---- the pull, case histories, flags -------------------------------------------------------------------

    async def pull(self, township_code: str, agent_id: str, after: int, limit: int) -> PullBatch:
        if self._pull_reader is None:
            self._pull_reader = await self._connect_reader()
        [(doc,)] = await self._pull_reader.execute_fetchall(PULL_SQL, (township_code, agent_id, after, limit))
        return pull_batch(doc.encode(), after, limit)

    async def stream(self) -> str:
        if self._stream is None:  # only `restore` changes it, with no server running: read once
            [(value,)] = await self._read.execute_fetchall("SELECT value FROM server_meta WHERE key = 'stream'")
            self._stream = str(value)
        return self._stream

    async def check_cases(self, check: Callable[[CaseHistory], T | None]) -> list[T]:
        def read() -> list[T]:
            conn = sqlite3.connect(self.path, isolation_level=None)
            try:
                for pragma in READ_PRAGMAS:
                    conn.execute(pragma)
                conn.execute("BEGIN")  # one snapshot
                return check_cases(conn, check)
            finally:
                conn.close()

        return await asyncio.to_thread(read)  # a connection and thread of its own, as `snapshot_for_verify`

    async def refold_cases(self, refold: Refold) -> int:
        changed = await self.transaction(lambda conn: refold_cases(conn, refold, now_iso()))
        self._cases.clear()
        return changed

    async def flag(self, name: str) -> bool:
        rows = await self._read.execute_fetchall("SELECT 1 FROM server_meta WHERE key = ? AND value = '1'", (name,))
        return bool(list(rows))

    async def clear_flag(self, name: str) -> None:
        await self.transaction(lambda conn: conn.execute("DELETE FROM server_meta WHERE key = ?", (name,)))

    # ---- rollups --------------------------------------------------------------------------------------------

    async def snapshot_for_verify(self, recompute: Recompute) -> tuple[Contribution, dict[str, GrainRows]]:
        def snapshot() -> tuple[Contribution, dict[str, GrainRows]]:
            conn = sqlite3.connect(self.path, isolation_level=None)
            try:
                for pragma in READ_PRAGMAS:
                    conn.execute(pragma)
                conn.execute("BEGIN")  # one read snapshot (WAL) for all the selects
                expected = _recompute(conn, recompute)
                return expected, {t.name: table_rows(t, conn.execute(t.select_all_sql)) for t in ROLLUP_TABLES}
            finally:
                conn.close()

        # A thread and a connection of its own: minutes at prefecture scale, and the ingest keeps going beside it.
        return await asyncio.to_thread(snapshot)

    async def append_audit(self, entries: Sequence[AuditEntry]) -> int:
        if not entries:
            return 0
        return await self.transaction(lambda conn: audit.append(conn, entries))

    async def audit_entries(self, query: AuditQuery) -> tuple[int, list[AuditEntry]]:
        sql, params = audit.where(query)
        [(total,)] = await self._read.execute_fetchall(f"SELECT count(*) FROM audit_log WHERE {sql}", params)
        rows = await self._read.execute_fetchall(
            f"SELECT {audit.COLUMNS} FROM audit_log WHERE {sql} ORDER BY entry_id DESC LIMIT ? OFFSET ?",
            [*params, query.limit, query.offset])
        return total, [audit.entry(r) for r in rows]

    async def purge_audit(self, before: str, now: str) -> int:
        audit.check_purge(before, now)
        return await self.transaction(lambda conn: audit.purge(conn, before))

    async def rebuild_rollups(self, recompute: Recompute) -> int:
        def rebuild(conn: sqlite3.Connection) -> int:
            upserts = rollup_upserts(_recompute(conn, recompute))
            for table in ROLLUP_TABLES:
                conn.execute(f"DELETE FROM {table.name}")
            for sql, rows in upserts:
                conn.executemany(sql, rows)
            return sum(len(rows) for _, rows in upserts)

        return await self.transaction(rebuild)


AGENT_COLUMNS = ("agent_id, township_code, name, created_at, acked_seq, last_push_at, software_version, pending, "
                 "revoked_at, protocol_version, pull_cursor, digest_agrees")


def agent_record(row: Any) -> AgentRecord:
    """A row of `AGENT_COLUMNS`."""
    (agent_id, township_code, name, created_at, acked_seq, last_push_at, software_version, pending, revoked_at,
     protocol_version, pull_cursor, agrees) = row
    return AgentRecord(agent_id, township_code, name, created_at, acked_seq, last_push_at, software_version, pending,
                       revoked_at, protocol_version, pull_cursor, None if agrees is None else bool(agrees))


def _recompute(conn: sqlite3.Connection, recompute: Recompute) -> Contribution:
    """`recompute` over the cases a chunk at a time, then the consultations. It is additive (the sum over the chunks
    is the whole), so memory holds the rollups, never every case: all 3.5 M cases of the prefecture benchmark at
    once took more than 18 GB."""
    total: Contribution = {}
    cursor = conn.execute("SELECT body, category, last_key FROM cases")
    while rows := cursor.fetchmany(_RECOMPUTE_CHUNK):
        add_into(total, recompute([CaseRecord(_case_decoder.decode(b), cat, key) for b, cat, key in rows], []))
    consult_rows = conn.execute(
        "SELECT consultation_id, event_id, org_code, channel, consulted_on, body FROM consultations").fetchall()
    add_into(total, recompute([], [Consultation(consultation_id, event_id, org_code, channel, day, body.encode())
                                   for consultation_id, event_id, org_code, channel, day, body in consult_rows]))
    return total


def _probe(conn: sqlite3.Connection) -> None:
    """Inside a write transaction, a table read: the database answers a writer."""
    conn.execute("SELECT count(*) FROM schema_migrations").fetchall()


def _migrate_locked(path: Path, conn: sqlite3.Connection) -> None:
    """The migrations under the database's migration lock: two commands starting at once on a new database take
    turns, and the second finds them applied (ops/migrationlock.py)."""
    with migration_lock(path):
        _migrate(conn)


def _migrate(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                 "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
    for path in sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        version = int(path.name[:4])
        if version in done:
            continue
        sql = path.read_text(encoding="utf-8")
        try:
            # One transaction per migration: a failure leaves the schema at the previous version.
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\n;INSERT INTO schema_migrations (version, name, applied_at) "
                f"VALUES ({version}, '{path.stem}', '{now_iso()}');\nCOMMIT;")
        except Exception:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        log.info("migration applied version=%d name=%s", version, path.stem)


_case = msgspec.json.Decoder(Case)
STAFF_COLUMNS = "staff_id, name, role, secret_hash, rev, changed_at, is_disabled, changed_by"


def _staff(r: Any) -> StaffMember:
    return StaffMember(staff_id=r[0], name=r[1], role=r[2], secret_hash=r[3], rev=r[4], changed_at=r[5],
                       is_disabled=bool(r[6]), changed_by=r[7])


def _staff_rows(conn: sqlite3.Connection, township_code: str) -> list[StaffMember]:
    return [_staff(r) for r in conn.execute(
        f"SELECT {STAFF_COLUMNS} FROM staff WHERE township_code = ? ORDER BY staff_id", (township_code,))]
