"""The storage interface of the county server: what ingest, the CLI and the admin commands need, named for intent.

Implementations (`sqlite.SqliteStore`, later PostgreSQL) have the same shape and pass the same contract tests
(tests/server/storage/test_contract.py); the dashboard's reads are `server.storage.dashboard.DashboardStore`. The
domain (fold, rollups) is not here: a transaction stores and loads rows; `server.ingest.batch` decides what they are.

Ingest comes in one of two shapes, as the backend can (`Store.ingest_writes`):
- `SerialIngest`: one process writes a township (SQLite: the server's ingest worker of that township). The fold runs
  outside the write transaction, on committed reads with the batches still queued laid over them, and writes queue
  in order: Python and the database work at the same time.
- `TransactionalIngest`: several processes write at once (PostgreSQL behind a load balancer). Each batch is one
  transaction that locks its township and folds inside, through a reader bound to the transaction.
Both run the same fold (`server.ingest.batch.fold_batch`) through `IngestReads`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar, runtime_checkable

import msgspec

from protocol.causal import CaseMeta, FoldEvent
from protocol.lifecycle import Case
from protocol.messages import DATA_TYPES, Conflict, CorrectionGrant, OrgUnit, ServiceItem, StaffMember
from protocol.vocabulary import EventKind
from server.model.rollups import Contribution, GrainRows
from server.model.sealing import SearchKeys


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
    protocol_version: int = 1  # what it said at its last push
    pull_cursor: str | None = None  # the last pull it had applied, at its last push
    digest_agrees: bool | None = None  # its last agreement check (None: none yet)


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
    order_key: str  # `protocol.causal.order_key`: the tie-break between concurrent events
    data: bytes  # JSON of the event's data
    parents: bytes | None = None  # JSON list of the case's heads its PC had applied; None: a protocol-1 event
    replaces: str | None = None  # the refused event it corrects
    staff_id: str | None = None  # who did it: the staff member signed in on the PC


_DATA = {kind: msgspec.json.Decoder(t) for kind, t in DATA_TYPES.items()}
_parents = msgspec.json.Decoder(tuple[str, ...])


def fold_event(s: StoredEvent) -> FoldEvent:
    """A stored event as `protocol.causal` folds it (its data decoded by kind: it passed the checks when stored)."""
    kind = EventKind(s.kind)
    at = s.order_key[:19] + "+08:00"  # the corrected time to the second, as `protocol.causal.order_key` made it
    return FoldEvent(s.event_id, s.agent_id, s.seq, s.case_id, kind, _DATA[kind].decode(s.data), s.order_key, at,
                     None if s.parents is None else _parents.decode(s.parents), s.replaces)


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
    last_key: str  # highest order_key among the case's stored events (`meta.last_key`)
    meta: CaseMeta = msgspec.field(default_factory=CaseMeta)  # what the next fold needs (empty: refold it)
    # Given when `case` is sealed (server.model.sealing): the digest of the case in clear, and its search hashes.
    digest: int | None = None
    search: SearchKeys | None = None


class Consultation(msgspec.Struct, frozen=True):
    consultation_id: str
    event_id: str
    org_code: str
    channel: str
    consulted_on: str
    body: bytes  # the event's data, JSON


# The audit log is kept at least this long (6 months: 网络安全法 art. 21, 等保 2.0 audit records); a purge of newer
# entries is refused, here and by the database itself.
MIN_AUDIT_RETENTION_DAYS = 183


class AuditEntry(msgspec.Struct, frozen=True):
    """One audit record: who (`actor`, `role`), when (`at`, UTC), from where (`address`), what (`action`,
    `target`, `detail`), and the `outcome` (ok, refused, failed). `entry_id` is given by the store."""

    at: str
    actor: str
    address: str
    action: str
    outcome: str
    target: str | None = None
    detail: str | None = None
    role: str | None = None
    event_id: str | None = None  # a PC's event (correction, settlement): recorded once however often it is sent
    entry_id: int = 0


class AuditQuery(msgspec.Struct, frozen=True):
    """Which audit entries: `at` in [since, until) (UTC ISO), an actor, an action, an outcome; a page of them."""

    since: str | None = None
    until: str | None = None
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    limit: int = 100
    offset: int = 0


T = TypeVar("T")

# Every daily rollup row that cases and consultations make (admin: `server.admin.rollups.recompute_rollups`).
Recompute = Callable[[list[CaseRecord], list[Consultation]], Contribution]


class BatchWrite(msgspec.Struct):
    """Everything one push stores, decided by the fold before the write; stored in ONE transaction."""

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
    # The conflicts of each case whose conflicts changed (every case that has or had some), replacing what was
    # stored: derived, like the case row.
    conflicts: dict[str, list[Conflict]] = {}
    protocol_version: int = 1
    pull_cursor: str | None = None
    digest_agrees: bool | None = None


class PullBatch(msgspec.Struct):
    """One answer of the pull, read from one snapshot (`Store.pull`)."""

    events: list[StoredEvent]
    last_pos: int  # the position of the last event (the `after` asked for, when none)
    has_more: bool
    stream: str  # names this database's positions (`Store.pull`)
    digest: tuple[int, int] | None  # (cases, sum of their digests) of the township, when `has_more` is false
    conflicts: list[Conflict]  # the open conflicts of the asking agent's events
    agents: list[tuple[str, str]]  # (agent_id, name) of the township's agents
    grants: list[CorrectionGrant] = []  # the county's grants for the township's cases, newest first (at most 500)


class CaseHistory(msgspec.Struct):
    """One case as stored: its row (None while it has no `accepted`), every stored event, its stored conflicts."""

    case_id: str
    record: CaseRecord | None
    events: list[StoredEvent]
    conflicts: list[Conflict]


# A refold: each case's history -> its record (None: no accepted yet) and conflicts as folded now.
Refold = Callable[[CaseHistory], tuple[CaseRecord | None, list[Conflict]]]


def refold_keeps(history: CaseHistory, record: CaseRecord | None, conflicts: Sequence[Conflict]) -> bool:
    """Whether a refold's `record` and `conflicts` are what `history` holds already (nothing to write). The stored
    conflicts come sorted by event id, as every backend's history reader gives them."""
    old = history.record
    same = (record is None and old is None) or (
        record is not None and old is not None
        and (record.case, record.category, record.meta) == (old.case, old.category, old.meta))
    return same and sorted(conflicts, key=lambda c: c.event_id) == history.conflicts


class IngestReads(Protocol):
    """What the fold of a batch reads: the committed state (`SerialIngest.committed_reads`, which never waits for a
    write in progress), or the state inside the write transaction (`TransactionalIngest.fold_and_write`). Methods
    take and return whole batches; they only read, so they may be called in any order and again."""

    async def stored_events(self, event_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """event_id -> (agent_id, seq) for those of `event_ids` stored as events (refusals are not events)."""
        ...

    async def seq_owners(self, agent_id: str, seqs: Sequence[int]) -> dict[int, str]:
        """seq -> event_id for those of `seqs` this agent already used, stored or refused (refusals for
        `seq_reused` excluded: they do not own the seq)."""
        ...

    async def load_cases(self, case_ids: Iterable[str]) -> dict[str, CaseRecord]:
        """The stored cases among `case_ids`; missing ids are simply absent."""
        ...

    async def events_of_cases(self, case_ids: Sequence[str]) -> list[StoredEvent]:
        """Every stored event of these cases, each once, in any order (the fold sorts by `order_key`)."""
        ...

    async def stored_consultations(self, consultation_ids: Sequence[str]) -> set[str]:
        """Those of `consultation_ids` already stored."""
        ...

    async def grant_cases(self, grant_ids: Sequence[str]) -> dict[str, str]:
        """grant_id -> case_id for those of `grant_ids` the county gave (`DashboardStore.add_grant`)."""
        ...


class WriteTurn(Protocol):
    """The caller's part in one queued batch write (`SerialIngest.queue_batch_write`), called on the writer's
    side (not the event loop), one queued write at a time, in queue order."""

    def begin(self) -> None:
        """Just before the batch's transaction. Raising fails the batch with that exception; nothing of it is
        written, and `end` is not called."""
        ...

    def end(self, committed: bool) -> None:
        """Right after the transaction committed (True) or rolled back (False), before the next queued write
        begins."""
        ...


class SerialIngest(Protocol):
    """Ingest on a backend where one process writes each township's events and cases (SQLite): the fold runs
    outside the write transaction, on `committed_reads` plus the batches it folded and queued before
    (`server.ingest.pipeline.Pipeline`), and writes queue in order."""

    @property
    def committed_reads(self) -> IngestReads:
        """Reads of the committed state. Raises RuntimeError when the store is not open."""
        ...

    def queue_batch_write(self, batch: BatchWrite, turn: WriteTurn) -> asyncio.Future[int]:
        """Queue the write transaction of `batch` behind the store's other writes, in call order; the writer goes
        from one to the next without waiting for the event loop. The transaction stores every row of the batch,
        adds its rollup deltas to every grain, then moves the agent's acknowledged seq to the highest N such that
        every seq 1..N is stored or refused, and records its last push. The future gives N (never lower than
        before) after the commit; a request that stops waiting does not stop the write.

        Not idempotent for events: the fold took out what is stored already. An event_id or (agent_id, seq) stored
        already raises the backend's integrity error (a bug upstream, never silently ignored), and nothing of the
        batch is kept; so does a failure of the database, or `turn.begin` raising. A refusal stored already keeps
        its first record (an agent may send a refused event again). The CPU work of making rows and
        parameters happens here, before the batch queues, so that the writer only writes."""
        ...


@runtime_checkable
class TransactionalIngest(Protocol):
    """Ingest on a backend that several processes write at once (PostgreSQL): each batch is one transaction that
    locks its township first and folds inside (`server.ingest.pipeline.InTransaction`)."""

    async def fold_and_write(self, township_code: str, fold: Callable[[IngestReads], Awaitable[BatchWrite]]
                             ) -> int:
        """In one write transaction: take the township's lock (pushes of one township queue there, others run
        beside them), call `fold` with a reader bound to the transaction, store what it returns as
        `SerialIngest.queue_batch_write` does, and commit; returns the agent's acknowledged seq. Rollup rows are
        updated in key order, so that two townships sharing a county's rows never deadlock. A transaction the
        database aborts (serialization, deadlock) may be retried whole, calling `fold` again; nothing of a batch
        that raises is kept."""
        ...


class Store(Protocol):
    """What ingest, the CLI and the admin commands need of a backend. Every method may raise the backend's own
    error when the database fails; a write that raises kept nothing."""

    async def open(self) -> None:
        """Connect and apply pending migrations in number order (each in its own transaction, recorded in
        schema_migrations). Idempotent across restarts: an applied migration is never applied again."""
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
    def ingest_writes(self) -> SerialIngest | TransactionalIngest:
        """How this backend takes push batches (`server.ingest.pipeline.ingest_path` picks the path for it)."""
        ...

    async def upsert_reference(self, org_units: Iterable[OrgUnit], items: Iterable[ServiceItem]) -> None:
        """Insert or update org units and catalog items by code, in one transaction; idempotent. Rows no longer in
        the files are kept: old cases still name them."""
        ...

    async def add_agent(self, agent: AgentRecord, token_sha256: str) -> None:
        """Register an agent (acknowledged seq 0). Raises ValueError if the agent_id or the token hash exists
        already, and changes nothing then."""
        ...

    async def agent_by_token_sha256(self, token_sha256: str) -> AgentRecord | None:
        """The agent whose token has this hash, as last written (its acknowledged seq and last push), or None."""
        ...

    async def replace_agent_token(self, agent_id: str, token_sha256: str) -> bool:
        """Give `agent_id` a new token hash (and end a revocation); the old token stops working at once. False when
        there is no such agent. Raises ValueError when another agent has that hash."""
        ...

    async def revoke_agent(self, agent_id: str, revoked_at: str) -> bool:
        """Mark `agent_id` revoked: `agent_by_token_sha256` still finds it, with `revoked_at` set. Idempotent (the
        first time is kept). False when there is no such agent."""
        ...

    async def bind_agent_cert(self, agent_id: str, cert_sha256: str | None) -> bool:
        """Bind `agent_id` to the TLS client certificate of this SHA-256 (hex), or unbind it (None). False when there
        is no such agent. Raises ValueError when another agent is bound to that certificate."""
        ...

    async def agent_cert(self, agent_id: str) -> str | None:
        """The SHA-256 of the certificate `agent_id` is bound to, or None."""
    async def merge_staff(self, township_code: str, agent_id: str, members: Sequence[StaffMember],
                          received_at: str) -> list[StaffMember]:
        """Take a PC's changes to its township's staff list, each record where it is newer than the one held
        (`protocol.staff.newer`), in one transaction; returns the township's whole list after, by staff id."""
        ...

    async def reseal(self, case: Callable[[Case], tuple[Case, SearchKeys]], event: Callable[[str, bytes], bytes],
                     refusal: Callable[[bytes], bytes]) -> tuple[int, int, int]:
        """Rewrite every stored case body (with its search hashes), event data (of `accepted` and `updated`) and
        refused event through these functions, in one write transaction, then reclaim the free pages so that what
        was overwritten is gone from the file (`county-server keys seal` and `keys rotate`). Returns the rows
        changed: (cases, events, refusals). The cases' digests stay: the functions change no case in clear."""
        ...

    async def township_staff(self, township_code: str) -> list[StaffMember]:
        ...

    async def staff_names(self) -> dict[tuple[str, str], str]:
        """(township code, staff id) -> name, of every township: to say who did what."""
        ...

    async def agent_usage(self, agent_id: str, day: str) -> AgentUsage:
        """What `agent_id` sent on `day` (YYYY-MM-DD, China time) and its orphan events now; zeros when nothing."""
        ...

    async def orphan_event_count(self) -> int:
        """Stored events of every agent still waiting for their case's `accepted`."""
        ...

    async def list_agents(self) -> list[AgentRecord]:
        """Every agent, by agent_id."""
        ...

    async def snapshot_for_verify(self, recompute: Recompute) -> tuple[Contribution, dict[str, GrainRows]]:
        """From one consistent snapshot, while ingest goes on: `recompute` applied to every case and consultation
        (a part at a time and summed: it must be additive), and the non-zero rows of every rollup grain
        (`server.model.rollups.GRAINS`, by name). Only reads."""
        ...

    async def pull(self, township_code: str, agent_id: str, after: int, limit: int) -> PullBatch:
        """From one snapshot: up to `limit` events of the agents of `township_code` other than `agent_id`
        (consultations left out) stored after position `after`, in the order stored; whether more follow; on the
        last batch the township digest; the open conflicts of `agent_id`'s events (at most 500); the township's
        agents and correction grants. Positions grow in commit order within a township (one writer per township, or
        the township's lock), so a cursor never skips an event committed later. Only reads."""
        ...

    async def stream(self) -> str:
        """The name of this database's event positions: a copy restored from a backup has another one, so a cursor
        of the database it replaced starts again (positions may repeat)."""
        ...

    async def check_cases(self, check: Callable[[CaseHistory], T | None]) -> list[T]:
        """`check` applied to every case's history (every case id with events or a row), from one snapshot, a part at
        a time; the results that are not None. Only reads."""
        ...

    async def refold_cases(self, refold: Refold) -> int:
        """In one write transaction: every case's row and conflicts replaced by `refold` of its history (a row is
        deleted when `refold` gives None); returns how many rows changed. The rollups are left as they were:
        `rebuild_rollups` after it. Ingest waits for it."""
        ...

    async def flag(self, name: str) -> bool:
        """Whether a migration set this flag (`refold_needed`) and it was not cleared since."""
        ...

    async def clear_flag(self, name: str) -> None:
        ...

    async def append_audit(self, entries: Sequence[AuditEntry]) -> int:
        """Append audit entries (their `entry_id` is ignored: the store numbers them in order) in one transaction;
        an entry whose `event_id` is recorded already is skipped. Returns how many were appended. Nothing ever
        updates an entry."""
        ...

    async def audit_entries(self, query: AuditQuery) -> tuple[int, list[AuditEntry]]:
        """(how many match, one page of them), the newest first (by `entry_id` descending)."""
        ...

    async def purge_audit(self, before: str, now: str) -> int:
        """Delete the audit entries older than `before` (UTC ISO); returns how many. Raises ValueError when `before`
        is less than MIN_AUDIT_RETENTION_DAYS before `now`, and deletes nothing then."""
        ...

    @property
    def attachments(self) -> AttachmentStore:
        """Scanned materials and their files (`AttachmentStore`)."""
        ...

    async def rebuild_rollups(self, recompute: Recompute) -> int:
        """In one write transaction: replace the rows of every rollup grain by those of `recompute` over every
        case and consultation; returns the number of rows written. Ingest waits for it (or it for ingest), so no
        batch is counted twice or lost; idempotent on true rollups."""
        ...


# ---- scanned materials (申请材料) ------------------------------------------------------------------------------


class AttachmentRecord(msgspec.Struct, frozen=True):
    """A file attached to a case on a PC, as the county holds it. `is_stored`: its bytes are here whole (its blob)."""

    attachment_id: str
    case_id: str
    township_code: str
    agent_id: str
    sha256: str
    name: str
    media_type: str
    size_bytes: int
    added_at: str  # on the PC, China time
    offered_at: str  # when the PC first offered it
    is_stored: bool = False
    agent_name: str | None = None  # the PC's name as the county registered it (a read answers it)


class Upload(msgspec.Struct, frozen=True):
    """An upload an agent offered and has not finished: `held` bytes of `size_bytes` received so far."""

    agent_id: str
    sha256: str
    size_bytes: int
    media_type: str
    held: int


class OffsetMismatchError(Exception):
    """A chunk sent at another offset than the bytes held; `held` says where to continue."""

    def __init__(self, held: int) -> None:
        super().__init__(f"the county holds {held} bytes of this upload")
        self.held = held


class AttachmentStore(Protocol):
    """Attachments and their files: rows in the database, bytes wherever the backend keeps them (SQLite: on disk
    beside the database, content-addressed: `server.storage.files`). One file is stored once, whoever sends it."""

    async def case_township(self, case_id: str) -> str | None:
        """The township (9 digits) of a case the county holds, or None."""
        ...

    async def agent_attachment_bytes(self, agent_id: str) -> int:
        """What an agent's attachments take against its quota: the sizes of the files it offered (each once, stored
        or still uploading)."""
        ...

    async def offer(self, record: AttachmentRecord, media_type: str) -> Upload | None:
        """Record the attachment (idempotent by attachment_id; a case holds a file once, so an offer of a file the
        case holds already is a no-op) and, unless the file is stored already, its upload by this agent. Returns the
        upload still to finish, or None when the county holds the file whole."""
        ...

    async def offered_size(self, agent_id: str, sha256: str) -> int | None:
        """The size of a file this agent offered (for any case), or None when it never did."""
        ...

    async def upload_of(self, agent_id: str, sha256: str) -> Upload | None:
        """The agent's unfinished upload of this file (with the bytes held), or None."""
        ...

    async def append(self, upload: Upload, offset: int, chunks: AsyncIterator[bytes]) -> int:
        """Append the chunk at `offset` (the bytes held; else OffsetMismatchError) and return the bytes held after.
        Every byte that arrived is kept, even when the stream breaks; never beyond the upload's size (ValueError)."""
        ...

    async def complete(self, upload: Upload) -> tuple[bool, bytes]:
        """After the last byte: check the hash of the whole file; if it is the offered one, store the file and end
        the upload. (whether it matched, the file's first bytes for a type check). A mismatch drops the bytes and
        the upload: the agent offers it again."""
        ...

    async def discard(self, upload: Upload) -> None:
        """Drop an upload and its bytes (a file found to be of a refused type)."""
        ...

    async def case_attachments(self, case_id: str) -> list[AttachmentRecord]:
        """The case's attachments, stored or not, in the order added."""
        ...

    async def get_attachment(self, attachment_id: str) -> AttachmentRecord | None:
        ...

    def blob_path(self, sha256: str) -> Path | None:
        """Where a stored file is read from, or None."""
        ...
