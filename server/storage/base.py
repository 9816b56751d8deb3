"""The storage interface of the county server: what ingest, stats and the CLI need, named for intent.

Implementations (`sqlite.SqliteStore`, later PostgreSQL) have the same shape and pass the same contract tests. The
domain (fold, rollups) is not here: a transaction stores and loads rows; `server.ingest.ingestor` decides what they are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import msgspec

from protocol.lifecycle import Case
from protocol.messages import OrgUnit, ServiceItem
from server.model.rollups import Contribution


class AgentRecord(msgspec.Struct, frozen=True):
    agent_id: str
    township_code: str  # 9 digits
    name: str
    created_at: str
    acked_seq: int = 0
    last_push_at: str | None = None
    software_version: str | None = None
    pending: int | None = None
    revoked_at: str | None = None  # `agents revoke`: its token opens nothing any more


class AgentUsage(msgspec.Struct, frozen=True):
    """What an agent sent on one day (China time), and its events waiting for their case: for the quotas."""

    events: int = 0  # events received: stored, duplicate or refused
    bytes: int = 0  # request bytes after decompression
    orphans: int = 0  # stored events whose case has no `accepted` yet (any day)


class StoredEvent(msgspec.Struct, frozen=True):
    event_id: str
    agent_id: str
    seq: int
    case_id: str
    kind: str
    at: str
    offset_ms: int
    order_key: str
    data: bytes  # JSON of the event's data


class RefusedEvent(msgspec.Struct, frozen=True):
    event_id: str
    agent_id: str
    seq: int
    code: str
    detail: str | None
    body: bytes  # the event as sent, JSON


class CaseRecord(msgspec.Struct):
    case: Case
    category: str
    last_key: str  # highest order_key among the case's stored events


class Consultation(msgspec.Struct, frozen=True):
    consultation_id: str
    event_id: str
    org_code: str
    channel: str
    consulted_on: str
    body: bytes  # the event's data, JSON


class BatchWrite(msgspec.Struct):
    """Everything one push stores, decided before the write: `Store.submit_batch` writes it in one transaction."""

    agent_id: str
    received_at: str
    events: list[StoredEvent]  # new events only: duplicates were taken out
    refusals: list[RefusedEvent]
    consultations: list[Consultation]  # new consultations only
    cases: list[CaseRecord]  # each case the batch changed, in its new state
    deltas: Contribution  # daily rollup deltas (the store adds every grain of them)
    software_version: str | None = None
    pending: int | None = None
    received_events: int = 0  # events in the request, for the agent's daily usage
    received_bytes: int = 0  # the request body after decompression
    adopted_case_ids: list[str] = []  # cases saved for the first time that had stored events waiting (orphans)


class BatchNotWritten(Exception):
    """The batch was folded on the state of an earlier batch that failed to be written; nothing of it was kept."""


class PreparedBatch(Protocol):
    """A `BatchWrite` as `Store.prepare_batch` made it ready to write."""

    @property
    def batch(self) -> BatchWrite: ...


class IngestReads(Protocol):
    """What ingest reads of the committed state (nothing of a transaction in progress). Methods take and return
    whole batches."""

    async def stored_events(self, event_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """event_id -> (agent_id, seq) for those of `event_ids` stored in `events`."""
        ...

    async def seq_owners(self, agent_id: str, seqs: Sequence[int]) -> dict[int, str]:
        """seq -> event_id for those of `seqs` this agent already used, stored or refused (refusals for
        `seq_reused` excluded: they do not own the seq)."""
        ...

    async def load_cases(self, case_ids: Iterable[str]) -> dict[str, CaseRecord]:
        """The stored cases among `case_ids`; missing ids are simply absent."""
        ...

    async def events_of_cases(self, case_ids: Sequence[str]) -> list[StoredEvent]:
        """Every stored event of these cases, any order (the caller sorts by `order_key`)."""
        ...

    async def stored_consultations(self, consultation_ids: Sequence[str]) -> set[str]:
        """Those of `consultation_ids` already stored."""
        ...


class Store(Protocol):
    async def open(self) -> None:
        """Connect and apply pending migrations (each in its own transaction, recorded in schema_migrations)."""
        ...

    async def close(self) -> None:
        """Wait for the write transaction in flight (it commits or rolls back), then close."""
        ...

    async def ping(self, timeout_s: float) -> None:
        """Prove the database answers a writer within `timeout_s` (raises TimeoutError or a database error
        otherwise). Never leaves a transaction open, even when the caller gives up."""
        ...

    async def applied_migrations(self) -> set[int]:
        """Versions recorded in schema_migrations."""
        ...

    @property
    def ingest_reads(self) -> IngestReads:
        """Reads of the committed state for ingest; they never wait for a write in progress."""
        ...

    def prepare_batch(self, batch: BatchWrite) -> PreparedBatch:
        """`batch` in the store's own form (rows, parameters): CPU work, done before the batch queues for the
        writer, so that the writer only writes."""
        ...

    def submit_batch(self, prepared: PreparedBatch, generation: int) -> asyncio.Future[int]:
        """Queue one write transaction (with the store's other writes, in submission order; the writer goes from
        one to the next without waiting for the event loop): store every row of the batch, add its rollup deltas to
        every grain, then move the agent's acknowledged seq to the highest N such that every seq 1..N is stored or
        refused, and record when it was last seen. The future gives N (never lower than before) after the commit.

        Not idempotent: the caller has taken out what is stored already. An event_id or (agent_id, seq) that is
        stored already raises the backend's integrity error (a bug upstream, never silently ignored), and nothing
        of the batch is kept. `generation` is the caller's: when a batch fails, every batch of the same or an
        earlier generation still queued fails with `BatchNotWritten` (it was folded on the failed one's state)."""
        ...

    async def upsert_reference(self, org_units: Iterable[OrgUnit], items: Iterable[ServiceItem]) -> None:
        """Insert or update org units and catalog items by code (rows no longer in the files are kept: old cases
        still name them)."""
        ...

    async def add_agent(self, agent: AgentRecord, token_sha256: str) -> None:
        """Register an agent. Raises ValueError if the agent_id or token hash exists."""
        ...

    async def agent_by_token_sha256(self, token_sha256: str) -> AgentRecord | None: ...

    async def replace_agent_token(self, agent_id: str, token_sha256: str) -> bool:
        """Give `agent_id` a new token hash (and end a revocation); the old token stops working. False when there
        is no such agent."""
        ...

    async def revoke_agent(self, agent_id: str, revoked_at: str) -> bool:
        """Mark `agent_id` revoked: `agent_by_token_sha256` still finds it, with `revoked_at` set. Idempotent (the
        first time is kept). False when there is no such agent."""
        ...

    async def agent_usage(self, agent_id: str, day: str) -> AgentUsage:
        """What `agent_id` sent on `day` (YYYY-MM-DD, China time) and its orphan events now; zeros when nothing."""
        ...

    async def orphan_event_count(self) -> int:
        """Stored events of every agent still waiting for their case's `accepted`."""
        ...

    async def list_agents(self) -> list[AgentRecord]: ...

    async def rollup_sums(self, prefix_len: int, prefix: str, date_from: str, date_to: str
                          ) -> dict[str, dict[str, int]]:
        """Sums of every metric over rollup rows whose org_code starts with `prefix` and whose day is within
        [date_from, date_to], grouped by the first `prefix_len` digits of org_code."""
        ...

    async def snapshot_for_verify(self, recompute: Callable[[list[CaseRecord], list[Consultation]], Contribution]
                                  ) -> tuple[Contribution, dict[str, Contribution]]:
        """From one consistent snapshot: `recompute` applied to all cases and consultations (a part at a time and
        summed: it must be additive), and the rows of every rollup table (`rollups.ROLLUP_TABLES`, by name)."""
        ...

    async def rebuild_rollups(self, recompute: Callable[[list[CaseRecord], list[Consultation]], Contribution]
                              ) -> int:
        """In one write transaction: read all cases and consultations, replace the rows of every rollup table with
        those of `rollups.rollup_statements(recompute(cases, consultations))`. Returns the number of rows written.
        Safe beside a running server."""
        ...
