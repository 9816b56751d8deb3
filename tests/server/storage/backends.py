"""The storage backends the contract suite runs against, each behind the same harness.

A backend here is the real store and dashboard store on a database of their own, the real `Ingestor` over them, and
the few raw operations a contract test needs underneath the interface (to make a database at an old migration, copy
rows into it, read its schema, damage a rollup row on purpose). SQLite databases are files under the test's tmp_path;
PostgreSQL's are schemas of their own in the server `tests.postgres` names (skipped when it does not answer, failed
under CI=true). To add a backend, write its `BackendKind` and add it
to `BACKENDS`: every contract test then runs against it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import msgspec

from protocol.messages import PushResponse
from server.accounts.agents import hash_token
from server.clock import now_iso
from server.ingest.ingestor import Ingestor
from server.model.reference import Reference, load_reference
from server.model.sealing import Keyring
from server.storage.base import AgentRecord, BatchWrite, IngestReads, Store, TransactionalIngest, WriteTurn
from server.storage.dashboard import DashboardStore
from server.storage.postgres.dashboard import PostgresDashboardStore
from server.storage.postgres.store import PostgresStore, migrate
from server.storage.sqlite.dashboard import SqliteDashboardStore
from server.storage.sqlite.store import MIGRATIONS_DIR, SqliteStore
from tests import postgres
from tests.server.helpers import REPO, TownshipAgent

# The county's keyring: every backend stores ID numbers and phones sealed, as the server does.
KEYS = Keyring.new()

class BackendKind(Protocol):
    name: str

    def opened(self, where: Path, database: str) -> Any:
        """An async context manager: a `Backend` on `database` (made and migrated when new), closed after."""
        ...

    async def create_at(self, where: Path, database: str, version: int) -> None:
        """A new database with the backend's migrations up to `version` applied, and recorded, and nothing else."""
        ...

    async def copy_rows(self, where: Path, source: str, target: str, table: str, columns: Sequence[str],
                        where_sql: str = "") -> int:
        """Copy `columns` of the rows of `table` (those matching `where_sql`, when given) from one database to
        another; returns how many."""
        ...

    async def schema(self, where: Path, database: str) -> dict[str, list[str]]:
        """Every table (its columns, in order) and index (its columns), by name."""
        ...

    async def count_rows(self, where: Path, database: str, table: str) -> int:
        """How many rows `table` holds, read straight from the database."""
        ...

    async def set_metric(self, where: Path, database: str, table: str, metric: str, value: int) -> int:
        """Set one metric of every row of a rollup table (damage, for verify to find); returns the rows changed."""
        ...

    async def set_case_state(self, where: Path, database: str, case_id: str, state: str) -> int:
        """Set a case row's state, in its columns and its body (damage, for the case check to find)."""
        ...

    async def tamper_audit(self, where: Path, database: str, sql: str) -> str | None:
        """Run `sql` (an UPDATE or DELETE of audit_log) straight on the database, as someone with the database's
        credentials would; the database's error message, or None when it let it through."""
        ...

    def committed_reads(self, backend: Backend) -> IngestReads:
        """For a backend whose ingest reads live inside its write transaction: a reader of the committed state
        with the same answers (a `SerialIngest` backend has its own)."""
        ...

    async def cleanup(self, where: Path) -> None:
        """Remove every database made under `where` that the test's tmp_path does not take with it."""
        ...


@dataclass
class Backend:
    kind: BackendKind
    where: Path
    database: str
    store: Store
    dashboard: DashboardStore
    reference: Reference
    ingestor: Ingestor

    async def add_agent(self, township: str, name: str = "窗口1") -> tuple[AgentRecord, TownshipAgent]:
        """An agent registered through the store: its record (as the push route hands it to ingest) and a builder of
        its wire events."""
        agent_id = f"{township}-{len(await self.store.list_agents()):06x}"
        token = f"{agent_id}.contract-token"
        record = AgentRecord(agent_id=agent_id, township_code=township, name=name, created_at=now_iso())
        await self.store.add_agent(record, hash_token(token))
        return record, TownshipAgent(agent_id, token, township)

    async def push(self, agent: AgentRecord, events: list[dict[str, Any]], **fields: Any) -> PushResponse:
        """One push through the real ingest path (decode, checks, fold, write), as the route calls it."""
        body = msgspec.json.encode({"agent_id": agent.agent_id, "events": events, **fields})
        return await self.ingestor.push_body(agent, body)

    def reads(self) -> IngestReads:
        """What the fold reads, outside any write: the committed state."""
        writes = self.store.ingest_writes
        if isinstance(writes, TransactionalIngest):
            return self.kind.committed_reads(self)
        return writes.committed_reads

    async def write_batch(self, batch: BatchWrite, township: str, turn: WriteTurn | None = None) -> int:
        """Store an already folded batch through the backend's ingest shape; returns the acknowledged seq."""
        writes = self.store.ingest_writes
        if isinstance(writes, TransactionalIngest):
            async def fold(reads: IngestReads) -> BatchWrite:
                return batch
            return await writes.fold_and_write(township, fold)
        return await writes.queue_batch_write(batch, turn or AnyTurn())


class AnyTurn:
    """A `WriteTurn` that lets every write through and records how it ended."""

    def __init__(self, refuse: Exception | None = None) -> None:
        self.refuse = refuse
        self.ended: list[bool] = []

    def begin(self) -> None:
        if self.refuse is not None:
            raise self.refuse

    def end(self, committed: bool) -> None:
        self.ended.append(committed)


def sample_reference() -> Reference:
    return load_reference(REPO / "config" / "org_units.csv", REPO / "config" / "catalog.csv")


class SqliteKind:
    name = "sqlite"

    @staticmethod
    def _path(where: Path, database: str) -> Path:
        return where / f"{database}.sqlite3"

    @asynccontextmanager
    async def opened(self, where: Path, database: str) -> AsyncIterator[Backend]:
        reference = sample_reference()
        store = SqliteStore(self._path(where, database), serving=True)
        dashboard = SqliteDashboardStore(store)
        await store.open()
        try:
            await dashboard.open()
            await store.upsert_reference(reference.org_units.values(), reference.items.values())
            yield Backend(self, where, database, store, dashboard, reference, Ingestor(store, reference, KEYS))
        finally:
            await dashboard.close()
            await store.close()

    async def create_at(self, where: Path, database: str, version: int) -> None:
        with sqlite3.connect(self._path(where, database)) as db:
            db.execute("CREATE TABLE schema_migrations "
                       "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
            for path in sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")):
                if int(path.name[:4]) <= version:
                    db.executescript(path.read_text(encoding="utf-8"))
                    db.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                               (int(path.name[:4]), path.stem, now_iso()))

    async def copy_rows(self, where: Path, source: str, target: str, table: str, columns: Sequence[str],
                        where_sql: str = "") -> int:
        cols = ", ".join(columns)
        with sqlite3.connect(self._path(where, target)) as db:
            db.execute("ATTACH DATABASE ? AS source", (str(self._path(where, source)),))
            n = db.execute(f"INSERT INTO main.{table} ({cols}) SELECT {cols} FROM source.{table} "
                           + (f"WHERE {where_sql}" if where_sql else "")).rowcount
        return n

    async def schema(self, where: Path, database: str) -> dict[str, list[str]]:
        with sqlite3.connect(self._path(where, database)) as db:
            names = sorted(r[0] for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%'"))
            return {n: [r[2] for r in db.execute(f"PRAGMA index_info({n})")] or
                    [r[1] for r in db.execute(f"PRAGMA table_info({n})")] for n in names}

    async def count_rows(self, where: Path, database: str, table: str) -> int:
        with closing(sqlite3.connect(self._path(where, database))) as db:
            return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def committed_reads(self, backend: Backend) -> IngestReads:
        raise AssertionError("SqliteStore reads committed state itself (SerialIngest)")

    async def cleanup(self, where: Path) -> None:
        pass  # the files go with tmp_path

    async def set_metric(self, where: Path, database: str, table: str, metric: str, value: int) -> int:
        with sqlite3.connect(self._path(where, database)) as db:
            return db.execute(f"UPDATE {table} SET {metric} = ?", (value,)).rowcount

    async def set_case_state(self, where: Path, database: str, case_id: str, state: str) -> int:
        with sqlite3.connect(self._path(where, database)) as db:
            return db.execute("UPDATE cases SET state = ?1, body = json_set(body, '$.state', ?1) WHERE case_id = ?2",
                              (state, case_id)).rowcount

    async def tamper_audit(self, where: Path, database: str, sql: str) -> str | None:
        try:
            with sqlite3.connect(self._path(where, database)) as db:
                db.execute(sql)
        except sqlite3.DatabaseError as exc:
            return str(exc)
        return None


class PostgresKind:
    """A database here is a schema of its own in the PostgreSQL of `tests.postgres` (named for the test's tmp_path
    and the database name), dropped after the test."""

    name = "postgres"

    def __init__(self) -> None:
        self._made: dict[Path, list[str]] = {}

    def _schema(self, where: Path, database: str) -> str:
        schema = postgres.schema_name(str(where), database)
        made = self._made.setdefault(where, [])
        if schema not in made:
            made.append(schema)
        return schema

    async def _connect(self, where: Path, database: str) -> Any:
        return await asyncpg.connect(postgres.schema_dsn(self._schema(where, database)))

    async def _ensure(self, where: Path, database: str) -> str:
        schema = self._schema(where, database)
        await postgres.require()
        conn = await asyncpg.connect(postgres.base_dsn())
        try:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        finally:
            await conn.close()
        return postgres.schema_dsn(schema)

    @asynccontextmanager
    async def opened(self, where: Path, database: str) -> AsyncIterator[Backend]:
        reference = sample_reference()
        store = PostgresStore(await self._ensure(where, database), pool_size=4, files=where / f"{database}.sqlite3")
        dashboard = PostgresDashboardStore(store)
        await store.open()
        try:
            await dashboard.open()
            await store.upsert_reference(reference.org_units.values(), reference.items.values())
            yield Backend(self, where, database, store, dashboard, reference, Ingestor(store, reference, KEYS))
        finally:
            await dashboard.close()
            await store.close()

    async def create_at(self, where: Path, database: str, version: int) -> None:
        await self._ensure(where, database)
        conn = await self._connect(where, database)
        try:
            await migrate(conn, upto=version)
        finally:
            await conn.close()

    async def copy_rows(self, where: Path, source: str, target: str, table: str, columns: Sequence[str],
                        where_sql: str = "") -> int:
        cols = ", ".join(columns)
        conn = await self._connect(where, target)
        try:
            status = await conn.execute(
                f'INSERT INTO "{self._schema(where, target)}".{table} ({cols}) SELECT {cols} '
                f'FROM "{self._schema(where, source)}".{table}' + (f" WHERE {where_sql}" if where_sql else ""))
        finally:
            await conn.close()
        return int(status.rsplit(" ", 1)[-1])

    async def schema(self, where: Path, database: str) -> dict[str, list[str]]:
        conn = await self._connect(where, database)
        try:
            out: dict[str, list[str]] = {}
            for r in await conn.fetch(
                    "SELECT table_name, column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"):
                out.setdefault(r[0], []).append(f"{r[1]} {r[2]}")
            for r in await conn.fetch("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"):
                out[r[0]] = [r[1].replace(f'"{self._schema(where, database)}".', "").replace(
                    f"{self._schema(where, database)}.", "")]
            return out
        finally:
            await conn.close()

    async def count_rows(self, where: Path, database: str, table: str) -> int:
        conn = await self._connect(where, database)
        try:
            return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
        finally:
            await conn.close()

    async def tamper_audit(self, where: Path, database: str, sql: str) -> str | None:
        conn = await self._connect(where, database)
        try:
            await conn.execute(sql)
        except asyncpg.PostgresError as exc:
            return str(exc)
        finally:
            await conn.close()
        return None

    def committed_reads(self, backend: Backend) -> IngestReads:
        assert isinstance(backend.store, PostgresStore)
        return backend.store.committed_reads(backend.store.pool)  # a pool answers fetch() as a connection does

    async def set_metric(self, where: Path, database: str, table: str, metric: str, value: int) -> int:
        conn = await self._connect(where, database)
        try:
            return int((await conn.execute(f"UPDATE {table} SET {metric} = $1", value)).rsplit(" ", 1)[-1])
        finally:
            await conn.close()

    async def set_case_state(self, where: Path, database: str, case_id: str, state: str) -> int:
        conn = await self._connect(where, database)
        try:
            status = await conn.execute(
                "UPDATE cases SET state = $1, body = jsonb_set(body::jsonb, '{state}', to_jsonb($1::text))::text "
                "WHERE case_id = $2", state, case_id)
            return int(status.rsplit(" ", 1)[-1])
        finally:
            await conn.close()

    async def cleanup(self, where: Path) -> None:
        await postgres.drop_schemas(self._made.pop(where, []))


BACKENDS: dict[str, BackendKind] = {"sqlite": SqliteKind(), "postgres": PostgresKind()}
