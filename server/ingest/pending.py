"""Batches folded but not yet committed: what the next batch's fold must see as if it were stored.

Ingest folds batch N+1 while batch N is still being written (`server.ingest.ingestor`). N's new events, the seqs
it used, the cases it changed and its consultations are kept here until N commits, and the fold of N+1 reads them
on top of the committed state. A fold takes a `view()` before its reads: a batch that commits during those reads
is then in both the view and the database, with the same content, so every look-up here merges without double counting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from server.model.fold import FoldEvent
from server.storage.base import CaseRecord


class Folded(NamedTuple):
    agent_id: str  # who pushed the batch
    events: dict[str, int]  # event_id -> seq of the batch's new events
    seqs: dict[int, str]  # seq -> event_id: new events, refusals that own their seq (and what was stored before)
    cases: dict[str, CaseRecord]  # each case the batch changed, in its new state
    fold_events: dict[str, list[FoldEvent]]  # case_id -> the batch's new events of that case
    consultations: set[str]  # new consultation ids


class PendingView:
    """The batches pending when a fold began, oldest first."""

    def __init__(self, batches: Sequence[Folded]) -> None:
        self._batches = tuple(batches)

    def __bool__(self) -> bool:
        return bool(self._batches)

    def stored_events(self, event_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        out: dict[str, tuple[str, int]] = {}
        for batch in self._batches:
            events, agent_id = batch.events, batch.agent_id
            out.update((e, (agent_id, events[e])) for e in event_ids if e in events)
        return out

    def seq_owners(self, agent_id: str, seqs: Sequence[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for batch in self._batches:
            if batch.agent_id == agent_id:
                owners = batch.seqs
                out.update((s, owners[s]) for s in seqs if s in owners)
        return out

    def cases(self, case_ids: Sequence[str]) -> dict[str, CaseRecord]:
        out: dict[str, CaseRecord] = {}
        for batch in self._batches:  # oldest first: a later batch's state of a case replaces an earlier one
            cases = batch.cases
            out.update((c, cases[c]) for c in case_ids if c in cases)
        return out

    def fold_events(self, case_id: str) -> list[FoldEvent]:
        return [e for batch in self._batches for e in batch.fold_events.get(case_id, ())]

    def consultations(self) -> set[str]:
        return set().union(*(batch.consultations for batch in self._batches))


class Pending:
    """The batches folded and handed to the writer, not yet committed, oldest first."""

    def __init__(self) -> None:
        self._batches: list[Folded] = []

    def __len__(self) -> int:
        return len(self._batches)

    def view(self) -> PendingView:
        return PendingView(self._batches)

    def add(self, folded: Folded) -> None:
        self._batches.append(folded)

    def discard(self, folded: Folded) -> None:
        """Forget a batch once it committed (the database has it) or failed (it never happened)."""
        for i, batch in enumerate(self._batches):
            if batch is folded:
                del self._batches[i]
                return

    def clear(self) -> None:
        self._batches.clear()
