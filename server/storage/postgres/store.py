"""PostgreSQL storage (asyncpg): a prefecture or a province, written by several server processes at once.

A pool of connections per process. Ingest is a `TransactionalIngest` (`server.storage.base`): each push batch is one
transaction that first locks its township's row in `townships` (SELECT ... FOR UPDATE), so that batches of one
township queue wherever they arrive while other townships write beside them, then folds with reads bound to the
transaction and writes (`ingest.py`). Nothing is cached between batches: another process may have written since.

Migrations (`migrations/`, the same numbers and tables as SQLite's) run under a session advisory lock, so two
processes that start at once apply each migration once. `rollups rebuild` and `cases refold` lock the `townships`
table (EXCLUSIVE: it waits for the batches in flight, and new ones wait for it); `rollups verify` and the case check
read one REPEATABLE READ snapshot beside ingest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import msgspec

from protocol.lifecycle import Case
from protocol.messages import OrgUnit, ServiceItem, StaffMember
from protocol.staff import newer
from server.clock import now_iso
from server.model.rollups import METRICS, Contribution, GrainRows, add_into
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
    IngestReads,
    PullBatch,
    Recompute,
    Refold,
)
from server.storage.postgres import sync
from server.storage.postgres.attachments import PostgresAttachments
from server.storage.postgres.dialect import PoolReader
from server.storage.postgres.dump import session_name
from server.storage.postgres.ingest import Connection, ConnectionReads, copy_rows, prepare_connection, write_batch
from server.storage.rollup_tables import ROLLUP_TABLES, delta_rows, table_rows
from server.storage.rows import AGENT_COLUMNS
from server.storage.sqlite import audit

log = logging.getLogger(__name__)

T = TypeVar("T")
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_RECOMPUTE_CHUNK = 20_000
# A transaction the database aborted to resolve a conflict is run again whole, this many times at most.
_RETRIES = 5
_RETRYABLE = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)
_case_decoder = msgspec.json.Decoder(Case)
# Every connection of the pool: no JIT compilation. The server's statements read a few hundred rows by index (the
# dashboard) or write one batch; compiling one costs 30-40 ms, more than the query itself (measured on the
# 3.5-million-case prefecture: the overdue counts took 180 ms with it, 13 ms without it and after a VACUUM).
SERVER_SETTINGS = {"jit": "off"}


_OLDER_SNAPSHOTS = """
SELECT pid, application_name FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xmin IS NOT NULL
  AND age(backend_xmin) >= age((($1::bigint) % 4294967296)::text::xid)
"""


async def _wait_for_older_snapshots(pool: Any, xid: int, patience_s: float = 60.0) -> None:
    """Until no other session of the database holds a snapshot taken before transaction `xid` committed (one that
    could still see the row versions it replaced), at most `patience_s` seconds; then it says which ones still do."""
    deadline = asyncio.get_running_loop().time() + patience_s
    while rows := await pool.fetch(_OLDER_SNAPSHOTS, xid):
        if asyncio.get_running_loop().time() > deadline:
            log.warning("sessions older than the sealing still run: VACUUM FULL keeps the row versions they may see "
                        "(run the command again once they end) sessions=%s",
                        ", ".join(f"{r['pid']} {r['application_name'] or '?'}" for r in rows))
            return
        await asyncio.sleep(0.2)


class PostgresStore:
    def __init__(self, dsn: str, pool_size: int = 8, files: Path | None = None) -> None:
        """`files`: the path whose `<name>.attachments/` directory holds the scanned materials' bytes (the
        configured SQLite path; see `server.storage.files`)."""
        self.dsn = dsn
        self.pool_size = pool_size
        self._pool: Any = None
        self._stream: str | None = None
        self.attachments = PostgresAttachments(files or Path("county.sqlite3"), lambda: self.pool, self.transaction)

    # ---- life cycle -----------------------------------------------------------------------------------------

    async def open(self) -> None:
        named = {"application_name": session_name(self.dsn)}  # `storage restore` refuses while any is connected
        conn = await asyncpg.connect(self.dsn, server_settings=named)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=self.pool_size,
                                               init=prepare_connection,
                                               server_settings={**SERVER_SETTINGS, **named})

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()  # waits for the connections in use: a batch in flight commits or rolls back
            self._pool = None

    @property
    def pool(self) -> Any:
        """The asyncpg pool (for `dashboard.py` beside this store)."""
        if self._pool is None:
            raise RuntimeError("store is not open")
        return self._pool

    async def ping(self, timeout_s: float) -> None:
        async def probe() -> None:
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.fetchval("SELECT count(*) FROM schema_migrations")

        await asyncio.wait_for(probe(), timeout_s)  # a cancelled probe's transaction is rolled back by asyncpg

    async def applied_migrations(self) -> set[int]:
        return {r[0] for r in await self.pool.fetch("SELECT version FROM schema_migrations")}

    async def transaction(self, fn: Callable[[Connection], Awaitable[T]]) -> T:
        """`fn(connection)` in one write transaction (for `dashboard.py` too)."""
        async with self.pool.acquire() as conn, conn.transaction():
            return await fn(conn)

    # ---- ingest ---------------------------------------------------------------------------------------------

    @property
    def ingest_writes(self) -> PostgresStore:
        return self

    async def fold_and_write(self, township_code: str, fold: Callable[[IngestReads], Awaitable[BatchWrite]]) -> int:
        async with self.pool.acquire() as conn:
            for attempt in range(_RETRIES):
                try:
                    async with conn.transaction():
                        await lock_township(conn, township_code)
                        batch = await fold(ConnectionReads(conn))
                        return await write_batch(conn, batch)
                except _RETRYABLE:
                    if attempt == _RETRIES - 1:
                        raise
                    log.warning("batch transaction aborted by the database, again township=%s attempt=%d",
                                township_code, attempt + 1)
        raise AssertionError("unreachable")

    def committed_reads(self, conn: Connection) -> IngestReads:
        """Reads of the committed state on `conn` (the contract suite compares them with a `SerialIngest`'s)."""
        return ConnectionReads(conn)

    # ---- reference and agents -------------------------------------------------------------------------------

    async def upsert_reference(self, org_units: Iterable[OrgUnit], items: Iterable[ServiceItem]) -> None:
        units = [(u.code, u.name, u.level, u.parent, u.kind) for u in org_units]
        catalog = [(i.code, i.name, i.category, i.promised_days, i.legal_days, int(i.is_online), int(i.is_one_trip))
                   for i in items]

        async def upsert(conn: Connection) -> None:
            await conn.executemany(
                "INSERT INTO org_units (code, name, level, parent, kind) VALUES ($1, $2, $3, $4, $5) "
                "ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, "
                "parent = excluded.parent, kind = excluded.kind", units)
            await conn.executemany(
                "INSERT INTO service_items (code, name, category, promised_days, legal_days, is_online, is_one_trip) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (code) DO UPDATE SET name = excluded.name, "
                "category = excluded.category, promised_days = excluded.promised_days, "
                "legal_days = excluded.legal_days, is_online = excluded.is_online, is_one_trip = excluded.is_one_trip",
                catalog)
            await conn.execute("INSERT INTO townships (code) SELECT DISTINCT substr(code, 1, 9) FROM org_units "
                               "WHERE level = 'township' ON CONFLICT DO NOTHING")

        await self.transaction(upsert)

    async def add_agent(self, agent: AgentRecord, token_sha256: str) -> None:
        async def add(conn: Connection) -> None:
            await conn.execute(
                "INSERT INTO agents (agent_id, township_code, name, token_sha256, created_at) "
                "VALUES ($1, $2, $3, $4, $5)",
                agent.agent_id, agent.township_code, agent.name, token_sha256, agent.created_at)
            await conn.execute("INSERT INTO townships (code) VALUES ($1) ON CONFLICT DO NOTHING", agent.township_code)

        try:
            await self.transaction(add)
        except asyncpg.UniqueViolationError as exc:
            raise ValueError(f"agent {agent.agent_id} or its token already exists") from exc

    async def replace_agent_token(self, agent_id: str, token_sha256: str) -> bool:
        try:
            status = await self.pool.execute(
                "UPDATE agents SET token_sha256 = $1, revoked_at = NULL WHERE agent_id = $2", token_sha256, agent_id)
        except asyncpg.UniqueViolationError as exc:
            raise ValueError("another agent has this token") from exc
        return bool(status == "UPDATE 1")

    async def revoke_agent(self, agent_id: str, revoked_at: str) -> bool:
        status = await self.pool.execute(
            "UPDATE agents SET revoked_at = coalesce(revoked_at, $1) WHERE agent_id = $2", revoked_at, agent_id)
        return bool(status == "UPDATE 1")

    async def agent_usage(self, agent_id: str, day: str) -> AgentUsage:
        row = await self.pool.fetchrow(
            "SELECT (SELECT events FROM agent_usage WHERE agent_id = $1 AND day = $2), "
            "(SELECT bytes FROM agent_usage WHERE agent_id = $1 AND day = $2), "
            "(SELECT count(*) FROM orphan_events WHERE agent_id = $1)", agent_id, day)
        return AgentUsage(row[0] or 0, row[1] or 0, row[2])

    async def orphan_event_count(self) -> int:
        return int(await self.pool.fetchval("SELECT count(*) FROM orphan_events"))

    async def agent_by_token_sha256(self, token_sha256: str) -> AgentRecord | None:
        row = await self.pool.fetchrow(f"SELECT {AGENT_COLUMNS} FROM agents WHERE token_sha256 = $1", token_sha256)
        return None if row is None else agent_record(row)

    async def list_agents(self) -> list[AgentRecord]:
        return [agent_record(r) for r in await self.pool.fetch(f"SELECT {AGENT_COLUMNS} FROM agents ORDER BY agent_id")]

    async def bind_agent_cert(self, agent_id: str, cert_sha256: str | None) -> bool:
        try:
            status = await self.pool.execute("UPDATE agents SET cert_sha256 = $1 WHERE agent_id = $2", cert_sha256,
                                             agent_id)
        except asyncpg.UniqueViolationError:
            raise ValueError("another agent is bound to this certificate") from None
        return bool(status == "UPDATE 1")

    async def agent_cert(self, agent_id: str) -> str | None:
        value = await self.pool.fetchval("SELECT cert_sha256 FROM agents WHERE agent_id = $1", agent_id)
        return None if value is None else str(value)

    # ---- staff, sealing -------------------------------------------------------------------------------------

    async def merge_staff(self, township_code: str, agent_id: str, members: Sequence[StaffMember],
                          received_at: str) -> list[StaffMember]:
        async def merge(conn: Connection) -> list[StaffMember]:
            await lock_township(conn, township_code)  # two PCs of a township merging at once take turns
            held = {m.staff_id: m for m in await _staff_rows(conn, township_code)}
            take = [m for m in members if newer(m, held.get(m.staff_id))]
            await conn.executemany(
                f"INSERT INTO staff (township_code, {STAFF_COLUMNS}, agent_id, received_at) VALUES"
                " ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (township_code, staff_id) DO UPDATE SET"
                " name = excluded.name, role = excluded.role, secret_hash = excluded.secret_hash,"
                " rev = excluded.rev, changed_at = excluded.changed_at, is_disabled = excluded.is_disabled,"
                " changed_by = excluded.changed_by, agent_id = excluded.agent_id, received_at = excluded.received_at",
                [(township_code, m.staff_id, m.name, m.role, m.secret_hash, m.rev, m.changed_at, int(m.is_disabled),
                  m.changed_by, agent_id, received_at) for m in take])
            return await _staff_rows(conn, township_code) if take else sorted(held.values(), key=lambda m: m.staff_id)

        return await self.transaction(merge)

    async def township_staff(self, township_code: str) -> list[StaffMember]:
        async with self.pool.acquire() as conn:
            return await _staff_rows(conn, township_code)

    async def staff_names(self) -> dict[tuple[str, str], str]:
        return {(r[0], r[1]): r[2] for r in await self.pool.fetch("SELECT township_code, staff_id, name FROM staff")}

    async def reseal(self, case: Callable[[Case], tuple[Case, SearchKeys]], event: Callable[[str, bytes], bytes],
                     refusal: Callable[[bytes], bytes]) -> tuple[int, int, int]:
        sealed_in: list[int] = []

        async def work(conn: Connection) -> tuple[int, int, int]:
            await conn.execute("LOCK TABLE townships IN EXCLUSIVE MODE")  # ingest waits
            sealed_in[:] = [int(await conn.fetchval("SELECT pg_current_xact_id()::text"))]
            counts = [0, 0, 0]
            for case_id, body in await conn.fetch("SELECT case_id, body FROM cases"):
                sealed, search = case(_case_decoder.decode(body))
                new = msgspec.json.encode(sealed).decode()
                if new != body:
                    await conn.execute("UPDATE cases SET body = $1, cert_hash = $2, phone_hash = $3, tail_hash = $4"
                                       " WHERE case_id = $5", new, search.cert, search.phone, search.tail, case_id)
                    counts[0] += 1
            for event_id, kind, data in await conn.fetch(
                    "SELECT event_id, kind, data FROM events WHERE kind IN ('accepted', 'updated')"):
                new = event(kind, data.encode()).decode()
                if new != data:
                    await conn.execute("UPDATE events SET data = $1 WHERE event_id = $2", new, event_id)
                    counts[1] += 1
            for event_id, body in await conn.fetch("SELECT event_id, body FROM refused_events"):
                new = refusal(body.encode()).decode()
                if new != body:
                    await conn.execute("UPDATE refused_events SET body = $1 WHERE event_id = $2", new, event_id)
                    counts[2] += 1
            return counts[0], counts[1], counts[2]

        # The old values stay in dead row versions until VACUUM reclaims them; VACUUM FULL rewrites the tables, but
        # copies the versions a snapshot older than the sealing may still see (a pg_dump, a report's transaction, any
        # session of the database): wait for those to end first.
        changed = await self.transaction(work)
        await _wait_for_older_snapshots(self.pool, sealed_in[0])
        for table in ("cases", "events", "refused_events"):
            await self.pool.execute(f"VACUUM FULL {table}")
        return changed

    # ---- the audit log --------------------------------------------------------------------------------------

    async def append_audit(self, entries: Sequence[AuditEntry]) -> int:
        if not entries:
            return 0

        async def append(conn: Connection) -> int:
            n = 0
            for e in entries:
                status = await conn.execute(
                    "INSERT INTO audit_log (at, actor, address, action, outcome, target, detail, role, event_id) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                    e.at, e.actor, e.address, e.action, e.outcome, e.target, e.detail, e.role, e.event_id)
                n += int(status.rsplit(" ", 1)[-1])
            return n

        return await self.transaction(append)

    async def audit_entries(self, query: AuditQuery) -> tuple[int, list[AuditEntry]]:
        sql, params = audit.where(query)
        reader = PoolReader(self.pool)
        [(total,)] = await reader.execute_fetchall(f"SELECT count(*) FROM audit_log WHERE {sql}", params)
        rows = await reader.execute_fetchall(
            f"SELECT {audit.COLUMNS} FROM audit_log WHERE {sql} ORDER BY entry_id DESC LIMIT ? OFFSET ?",
            [*params, query.limit, query.offset])
        return total, [audit.entry(r) for r in rows]

    async def purge_audit(self, before: str, now: str) -> int:
        audit.check_purge(before, now)
        return int((await self.pool.execute("DELETE FROM audit_log WHERE at < $1", before)).rsplit(" ", 1)[-1])

    # ---- the pull, case histories, flags -------------------------------------------------------------------

    async def pull(self, township_code: str, agent_id: str, after: int, limit: int) -> PullBatch:
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            return await sync.pull_batch(conn, township_code, agent_id, after, limit)

    async def stream(self) -> str:
        if self._stream is None:  # only a restore changes it, with no server running: read once
            self._stream = str(await self.pool.fetchval("SELECT value FROM server_meta WHERE key = 'stream'"))
        return self._stream

    async def check_cases(self, check: Callable[[CaseHistory], T | None]) -> list[T]:
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            return await sync.check_cases(conn, check)

    async def refold_cases(self, refold: Refold) -> int:
        async def run(conn: Connection) -> int:
            await conn.execute("LOCK TABLE townships IN EXCLUSIVE MODE")  # ingest waits
            return await sync.refold_cases(conn, refold, now_iso())

        return await self.transaction(run)

    async def flag(self, name: str) -> bool:
        return bool(await self.pool.fetchval(
            "SELECT count(*) FROM server_meta WHERE key = $1 AND value = '1'", name))

    async def clear_flag(self, name: str) -> None:
        await self.pool.execute("DELETE FROM server_meta WHERE key = $1", name)

    # ---- rollups --------------------------------------------------------------------------------------------

    async def snapshot_for_verify(self, recompute: Recompute) -> tuple[Contribution, dict[str, GrainRows]]:
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            expected = await _recompute(conn, recompute)
            return expected, {t.name: table_rows(t, await conn.fetch(t.select_all_sql)) for t in ROLLUP_TABLES}

    async def rebuild_rollups(self, recompute: Recompute) -> int:
        async def rebuild(conn: Connection) -> int:
            await conn.execute("LOCK TABLE townships IN EXCLUSIVE MODE")  # no batch in flight, none until commit
            tables = delta_rows(await _recompute(conn, recompute))
            for table, rows in zip(ROLLUP_TABLES, tables, strict=True):
                await conn.execute(f"DELETE FROM {table.name}")
                await copy_rows(conn, table.name, (*table.key_columns, *METRICS), rows)
            return sum(len(rows) for rows in tables)

        return await self.transaction(rebuild)


STAFF_COLUMNS = "staff_id, name, role, secret_hash, rev, changed_at, is_disabled, changed_by"


async def _staff_rows(conn: Connection, township_code: str) -> list[StaffMember]:
    return [StaffMember(staff_id=r[0], name=r[1], role=r[2], secret_hash=r[3], rev=r[4], changed_at=r[5],
                        is_disabled=bool(r[6]), changed_by=r[7]) for r in await conn.fetch(
        f"SELECT {STAFF_COLUMNS} FROM staff WHERE township_code = $1 ORDER BY staff_id", township_code)]


async def lock_township(conn: Connection, township_code: str) -> None:
    """The row lock that queues a township's batches, held to the end of the caller's transaction."""
    if await conn.fetchval("SELECT 1 FROM townships WHERE code = $1 FOR UPDATE", township_code) is None:
        await conn.execute("INSERT INTO townships (code) VALUES ($1) ON CONFLICT DO NOTHING", township_code)
        await conn.fetchval("SELECT 1 FROM townships WHERE code = $1 FOR UPDATE", township_code)


def agent_record(row: Any) -> AgentRecord:
    """A row of `AGENT_COLUMNS`."""
    (agent_id, township_code, name, created_at, acked_seq, last_push_at, software_version, pending, revoked_at,
     protocol_version, pull_cursor, agrees) = row
    return AgentRecord(agent_id, township_code, name, created_at, acked_seq, last_push_at, software_version, pending,
                       revoked_at, protocol_version, pull_cursor, None if agrees is None else bool(agrees))


async def _recompute(conn: Connection, recompute: Recompute) -> Contribution:
    """`recompute` over the cases a chunk at a time (a cursor: inside the caller's transaction), then the
    consultations; additive, so memory holds the rollups, never every case."""
    total: Contribution = {}
    cursor = await conn.cursor("SELECT body, category, last_key FROM cases")
    while rows := await cursor.fetch(_RECOMPUTE_CHUNK):
        add_into(total, recompute([CaseRecord(_case_decoder.decode(b), cat, key) for b, cat, key in rows], []))
    consults = await conn.fetch(
        "SELECT consultation_id, event_id, org_code, channel, consulted_on, body FROM consultations")
    add_into(total, recompute([], [Consultation(r[0], r[1], r[2], r[3], r[4], r[5].encode()) for r in consults]))
    return total


def migration_files() -> list[tuple[int, Path]]:
    return sorted((int(p.name[:4]), p) for p in MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))


async def read_migrations(dsn: str) -> set[int] | None:
    """The applied migrations (None: no schema yet), on a connection of its own (`doctor`)."""
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
            return None
        return {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
    finally:
        await conn.close()


async def migrate(conn: Connection, upto: int | None = None) -> None:
    """Apply the pending migrations (up to `upto`), each in its own transaction, under an advisory lock of this
    schema: a second process that starts at the same time waits, then finds them applied."""
    await conn.execute("SELECT pg_advisory_lock(hashtext(current_schema() || '.county-server migrations'))")
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                           "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        done = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, path in migration_files():
            if version in done or (upto is not None and version > upto):
                continue
            async with conn.transaction():
                await conn.execute(path.read_text(encoding="utf-8"))
                await conn.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                                   version, path.stem, now_iso())
            log.info("migration applied version=%d name=%s", version, path.stem)
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtext(current_schema() || '.county-server migrations'))")
