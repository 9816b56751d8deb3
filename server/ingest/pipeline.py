"""How a folded batch reaches storage: the two ingest paths a backend may offer (`server.storage.base`).

- `Pipeline`, for a backend with one writer per township (SQLite: `SerialIngest`). The fold of batch N+1 runs while
  batch N is written: it reads the committed state with the batches folded and not yet committed laid over it
  (`server.ingest.pending`), and its write queues behind theirs. The failure rule lives here, whole: when a write
  fails, every batch folded after it was folded on a state that never came to be, so those fail too (the agents
  send them again) and the next fold starts from the committed state. A fold runs in a generation, which moves on
  at such a failure; the writer asks this object, just before each queued write, whether its generation may still
  be written.
- `InTransaction`, for a backend written by several processes at once (PostgreSQL: `TransactionalIngest`). The
  backend opens the write transaction, locks the township, and runs the same fold with a reader bound to that
  transaction; nothing is pending between batches, so there is nothing to fail behind them.

Both take the same fold (`server.ingest.batch.fold_batch` with its arguments bound) and give what it folded with the
agent's acknowledgement, after the commit.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Protocol

from server.ingest.batch import FoldedBatch
from server.ingest.pending import Layer, Pending
from server.storage.base import BatchWrite, IngestReads, SerialIngest, TransactionalIngest

# Batches folded and not yet committed, at most: 2 lets one batch be folded while the one before it is written.
PIPELINE_DEPTH = 2

Fold = Callable[[IngestReads], Awaitable[FoldedBatch]]


class BatchNotWritten(Exception):
    """The batch was folded on the state of an earlier batch that failed to be written; nothing of it was kept."""


class IngestPath(Protocol):
    async def run(self, township_code: str, fold: Fold) -> tuple[FoldedBatch, int]:
        """Fold one batch of `township_code` and store what it folded in one transaction; returns it with the
        agent's acknowledged seq, after the commit. Raises what the fold or the write raised (then nothing of the
        batch was kept), or `BatchNotWritten`."""
        ...


def ingest_path(writes: SerialIngest | TransactionalIngest) -> IngestPath:
    """The path of the writes a store offers."""
    if isinstance(writes, TransactionalIngest):
        return InTransaction(writes)
    return Pipeline(writes)


class Pipeline:
    """Folds one batch at a time, in arrival order, and queues its write behind the ones still pending."""

    def __init__(self, writes: SerialIngest, depth: int = PIPELINE_DEPTH) -> None:
        self._writes = writes
        self._max_depth = depth
        self._pending = Pending()
        self._generation = 0  # on the event loop: moves on when a write fails
        self._failed_generation = -1  # on the writer's side: the latest generation whose write failed
        self._fold_lock: asyncio.Lock | None = None  # made in the running loop
        self._depth: asyncio.Semaphore | None = None

    async def run(self, township_code: str, fold: Fold) -> tuple[FoldedBatch, int]:
        if self._fold_lock is None or self._depth is None:
            self._fold_lock, self._depth = asyncio.Lock(), asyncio.Semaphore(self._max_depth)
        async with self._depth:
            async with self._fold_lock:
                generation = self._generation
                folded = await fold(self._pending.over(self._writes.committed_reads))
                if generation != self._generation:
                    raise BatchNotWritten("a batch folded before this one failed to be written")
                written = self._writes.queue_batch_write(folded.write, _Turn(self, generation))
                layer = self._pending.add(folded.write)
                written.add_done_callback(functools.partial(self._written, layer, generation))
            acked = await asyncio.shield(written)  # a request cancelled here still commits: the ack is not lost
        return folded, acked

    def _written(self, layer: Layer, generation: int, written: asyncio.Future[int]) -> None:
        """On the event loop: a batch committed (the store has it now) or failed (it never happened)."""
        self._pending.discard(layer)
        if (written.cancelled() or written.exception() is not None) and generation == self._generation:
            # Every batch folded after this one counted on it: their writes fail (`check_turn`), and the next fold
            # starts from the committed state.
            self._generation += 1
            self._pending.clear()

    # The writer's side: called on the writer (its thread for SQLite), one queued write at a time, in queue order,
    # so a failure is known before the next write begins, long before the event loop hears of it.

    def check_turn(self, generation: int) -> None:
        if generation <= self._failed_generation:
            raise BatchNotWritten(f"a batch of generation {generation} before this one failed to be written")

    def end_turn(self, generation: int, committed: bool) -> None:
        if not committed:
            self._failed_generation = max(self._failed_generation, generation)


class _Turn:
    """One queued write's `WriteTurn`: its generation, checked with the pipeline."""

    __slots__ = ("_generation", "_pipeline")

    def __init__(self, pipeline: Pipeline, generation: int) -> None:
        self._pipeline = pipeline
        self._generation = generation

    def begin(self) -> None:
        self._pipeline.check_turn(self._generation)

    def end(self, committed: bool) -> None:
        self._pipeline.end_turn(self._generation, committed)


class InTransaction:
    """Folds inside the backend's write transaction, under its lock on the township."""

    def __init__(self, writes: TransactionalIngest) -> None:
        self._writes = writes

    async def run(self, township_code: str, fold: Fold) -> tuple[FoldedBatch, int]:
        folded: FoldedBatch | None = None

        async def fold_in_transaction(reads: IngestReads) -> BatchWrite:
            nonlocal folded
            folded = await fold(reads)  # a transaction the backend retries folds again: the last fold is written
            return folded.write

        acked = await self._writes.fold_and_write(township_code, fold_in_transaction)
        assert folded is not None, "the store wrote a batch without folding it"
        return folded, acked
