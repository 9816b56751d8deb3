"""Batches folded and not yet committed, as a reader: the committed state with those batches laid over it.

The SQLite pipeline (`server.ingest.pipeline`) folds batch N+1 while batch N is still being written. `Pending` keeps
what N stores until N commits or fails; `Pending.over(committed)` is an `IngestReads` that answers as if every
pending batch were stored, so the fold of one batch (`server.ingest.batch`) reads through it and needs no notion of
pipelining. An overlay takes its layers when it is made, before its reads: a batch that commits during those
reads is then in both the layers and the database, with the same content, and every read below merges without
counting it twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from server.storage.base import BatchWrite, CaseRecord, IngestReads, StoredEvent


class Layer:
    """One pending batch, indexed the way the reads look it up."""

    __slots__ = ("agent_id", "cases", "consultations", "event_seqs", "events_by_case", "seq_owners")

    def __init__(self, batch: BatchWrite) -> None:
        events = batch.events
        self.agent_id = batch.agent_id
        self.event_seqs = {e.event_id: e.seq for e in events}
        self.seq_owners = {e.seq: e.event_id for e in events}
        for r in batch.refusals:
            if r.code != "seq_reused":  # a refused event owns its seq too, as `IngestReads.seq_owners` says
                self.seq_owners.setdefault(r.seq, r.event_id)
        self.events_by_case: defaultdict[str, list[StoredEvent]] = defaultdict(list)
        for e in events:
            self.events_by_case[e.case_id].append(e)
        self.cases = {r.case.case_id: r for r in batch.cases}
        self.consultations = {c.consultation_id for c in batch.consultations}


class Overlay:
    """`IngestReads` of the committed state with pending batches laid over it, oldest first."""

    def __init__(self, committed: IngestReads, layers: Sequence[Layer]) -> None:
        self._committed = committed
        self._layers = tuple(layers)

    async def stored_events(self, event_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        out = await self._committed.stored_events(event_ids)
        for layer in self._layers:
            seqs, agent_id = layer.event_seqs, layer.agent_id
            out.update((e, (agent_id, seqs[e])) for e in event_ids if e in seqs)
        return out

    async def seq_owners(self, agent_id: str, seqs: Sequence[int]) -> dict[int, str]:
        out = await self._committed.seq_owners(agent_id, seqs)
        for layer in self._layers:
            if layer.agent_id == agent_id:
                owners = layer.seq_owners
                out.update((s, owners[s]) for s in seqs if s in owners)
        return out

    async def load_cases(self, case_ids: Iterable[str]) -> dict[str, CaseRecord]:
        ids = list(case_ids)
        pending: dict[str, CaseRecord] = {}
        for layer in self._layers:  # oldest first: a later batch's state of a case replaces an earlier one
            cases = layer.cases
            pending.update((c, cases[c]) for c in ids if c in cases)
        out = await self._committed.load_cases([c for c in ids if c not in pending])
        out.update(pending)
        return out

    async def events_of_cases(self, case_ids: Sequence[str]) -> list[StoredEvent]:
        out = await self._committed.events_of_cases(case_ids)
        if not self._layers:
            return out
        seen = {e.event_id for e in out}
        for layer in self._layers:
            by_case = layer.events_by_case
            for case_id in case_ids:
                out.extend(e for e in by_case.get(case_id, ()) if e.event_id not in seen)
        return out

    async def grant_cases(self, grant_ids: Sequence[str]) -> dict[str, str]:
        return await self._committed.grant_cases(grant_ids)  # grants are the dashboard's writes, never a batch's

    async def stored_consultations(self, consultation_ids: Sequence[str]) -> set[str]:
        out = await self._committed.stored_consultations(consultation_ids)
        for layer in self._layers:
            out.update(c for c in consultation_ids if c in layer.consultations)
        return out


class Pending:
    """The batches folded and queued for the writer, not yet committed, oldest first."""

    def __init__(self) -> None:
        self._layers: list[Layer] = []

    def __len__(self) -> int:
        return len(self._layers)

    def over(self, committed: IngestReads) -> IngestReads:
        """A reader of `committed` with the batches pending now laid over it (later additions are not seen)."""
        return Overlay(committed, self._layers) if self._layers else committed

    def add(self, batch: BatchWrite) -> Layer:
        layer = Layer(batch)
        self._layers.append(layer)
        return layer

    def discard(self, layer: Layer) -> None:
        """Forget a batch once it committed (the database has it) or failed (it never happened)."""
        for i, pending in enumerate(self._layers):
            if pending is layer:
                del self._layers[i]
                return

    def clear(self) -> None:
        self._layers.clear()
