"""Ingest: one push batch becomes stored events, folded cases and rollup deltas, written in ONE transaction.

Three stages, so that one batch's Python runs while another's SQL does (a 2-core county box uses both):
1. checks that need no database (`server.ingest.checks`), for any number of batches at once;
2. the fold of one batch (`server.ingest.batch`): duplicates and reused seqs, the township of stored cases, the
   fold, the rollup deltas and every row to write, read through the store;
3. the write, one transaction per batch. How stages 2 and 3 meet is the store's path (`server.ingest.pipeline`): on
   SQLite the fold of one batch runs while the one before it is written, reading the committed state with the
   pending batches laid over it; a backend written by several processes folds inside its write transaction.
The acknowledgement is built from what the transaction committed, and returned only after the commit.

The pipeline is valid while this process is the only writer of the events and cases of the townships it ingests:
the server process (`[server] ingest_workers = 0`) or the one ingest worker a township is dealt to
(`server.ingest.pool`).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any, Protocol

from protocol.codes import message_of
from protocol.messages import PushRequest, PushResponse, Refusal
from server.clock import now_iso, now_ms
from server.ingest.batch import FoldedBatch, fold_batch
from server.ingest.checks import check_push, decode_push
from server.ingest.pipeline import ingest_path
from server.ingest.privacy import OpenedReads, seal_write
from server.model.reference import Reference
from server.model.sealing import Keyring
from server.storage.base import AgentRecord, IngestReads, Store

log = logging.getLogger(__name__)


class PushIngest(Protocol):
    """What the push route calls: the `Ingestor` in this process, or `server.ingest.pool.IngestPool` in workers."""

    async def push_body(self, agent: AgentRecord, body: bytes) -> PushResponse: ...


class IngestStats:
    """Since start, for /metrics: batches, events by result, refusals by code, the last commit (time.time())."""

    def __init__(self) -> None:
        self.batches = 0
        self.events: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        self.last_ingest_at: float | None = None

    def count(self, response: PushResponse) -> None:
        self.batches += 1
        self.events.update(stored=response.stored, duplicate=response.duplicates, refused=len(response.refused))
        self.refusals.update(r.code for r in response.refused)
        self.last_ingest_at = time.time()


class Ingestor:
    def __init__(self, store: Store, reference: Reference, keys: Keyring | None = None) -> None:
        """`keys`: the county's keyring, to store ID numbers and phones sealed (`server.ingest.privacy`); the server
        always has one (`server.keys`); None stores them as they come (tests of the fold alone)."""
        self._reference = reference
        self._path = ingest_path(store.ingest_writes)
        self._keys = keys

    async def push_body(self, agent: AgentRecord, body: bytes) -> PushResponse:
        """`push` of a request body (JSON, decompressed). Raises `ApiError` for a body that is not a batch of this
        agent's; a malformed event only gets that event refused."""
        return await self.push(agent, decode_push(agent, body), body_bytes=len(body))

    async def push(self, agent: AgentRecord, request: PushRequest[Any], *, body_bytes: int = 0) -> PushResponse:
        """Apply one batch from `agent` (already authenticated; `request.agent_id` already checked).

        Idempotent: events already stored count as duplicates and change nothing. Raises only on storage failure
        (or when a batch folded before this one failed to be written), in which case nothing of the batch was kept.
        """
        started = time.perf_counter()
        checked = check_push(agent, request, self._reference, body_bytes)
        items = self._reference.items
        keys = self._keys

        async def fold(reads: IngestReads) -> FoldedBatch:
            if keys is None:
                return await fold_batch(reads, checked, items, now_iso())
            folded = await fold_batch(OpenedReads(reads, keys), checked, items, now_iso())
            return folded._replace(write=seal_write(keys, folded.write))

        folded, acked = await self._path.run(agent.township_code, fold)
        stored, refused = len(folded.write.events), folded.refused
        conflicts = [c for c in folded.conflicts if c.is_open and c.agent_id == agent.agent_id]
        response = PushResponse(
            acked_seq=acked, stored=stored, duplicates=folded.duplicates,
            refused=[Refusal(event_id=r.event_id or "", seq=r.seq or 0, code=r.code, message=message_of(r.code),
                             detail=r.detail) for r in refused],
            server_time_ms=now_ms(), conflicts=conflicts)
        log.info("push stored agent_id=%s events=%d stored=%d duplicates=%d refused=%d conflicts=%d acked_seq=%d "
                 "took_ms=%.1f", agent.agent_id, checked.events, stored, folded.duplicates, len(refused),
                 len(conflicts), acked, (time.perf_counter() - started) * 1000)
        for c in conflicts:  # never a silent skip: the agent hears it, the dashboard lists it
            log.info("push conflict agent_id=%s event_id=%s kind=%s code=%s lost_to=%s", agent.agent_id, c.event_id,
                     c.kind, c.code, c.lost_to)
        return response
