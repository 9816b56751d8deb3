"""Sealing on the way in and opening on the way back, around the fold of a push (the rules: `server.model.sealing`).

The fold sees every case and event in clear (`OpenedReads` opens what storage hands back, the batches still
pending included); what it decided is sealed before it goes to storage (`seal_write`), with each case's digest and
search hashes computed here from the clear case, since storage never sees it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from protocol.causal import case_digest
from protocol.messages import Conflict
from server.model.sealing import (
    Keyring,
    open_case,
    open_event_data,
    seal_blob,
    seal_case,
    seal_event_data,
    search_keys,
)
from server.storage.base import BatchWrite, CaseHistory, CaseRecord, IngestReads, StoredEvent

_encode = msgspec.json.encode


class OpenedReads:
    """`IngestReads` whose cases and events come back in clear."""

    def __init__(self, reads: IngestReads, keys: Keyring) -> None:
        self._reads = reads
        self._keys = keys

    async def stored_events(self, event_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        return await self._reads.stored_events(event_ids)

    async def seq_owners(self, agent_id: str, seqs: Sequence[int]) -> dict[int, str]:
        return await self._reads.seq_owners(agent_id, seqs)

    async def load_cases(self, case_ids: Iterable[str]) -> dict[str, CaseRecord]:
        return {i: open_record(self._keys, r) for i, r in (await self._reads.load_cases(case_ids)).items()}

    async def events_of_cases(self, case_ids: Sequence[str]) -> list[StoredEvent]:
        return [open_event(self._keys, e) for e in await self._reads.events_of_cases(case_ids)]

    async def stored_consultations(self, consultation_ids: Sequence[str]) -> set[str]:
        return await self._reads.stored_consultations(consultation_ids)

    async def grant_cases(self, grant_ids: Sequence[str]) -> dict[str, str]:
        return await self._reads.grant_cases(grant_ids)


def open_record(keys: Keyring, record: CaseRecord) -> CaseRecord:
    case = open_case(keys, record.case)
    return record if case is record.case else msgspec.structs.replace(record, case=case, digest=None, search=None)


def open_event(keys: Keyring, event: StoredEvent) -> StoredEvent:
    data = open_event_data(keys, event.kind, event.data)
    return event if data is event.data else msgspec.structs.replace(event, data=data)


def seal_event(keys: Keyring, event: StoredEvent) -> StoredEvent:
    data = seal_event_data(keys, event.kind, event.data)
    return event if data is event.data else msgspec.structs.replace(event, data=data)


def seal_record(keys: Keyring, record: CaseRecord, conflicts: Sequence[Conflict] = ()) -> CaseRecord:
    """The record as stored: sealed, with the digest of its clear case (and `conflicts`) and its search hashes."""
    clear = open_case(keys, record.case)
    return msgspec.structs.replace(record, case=seal_case(keys, clear), digest=case_digest(clear, conflicts),
                                   search=search_keys(keys, clear))


def seal_write(keys: Keyring, write: BatchWrite) -> BatchWrite:
    return msgspec.structs.replace(
        write,
        events=[seal_event(keys, e) for e in write.events],
        cases=[seal_record(keys, r, write.conflicts.get(r.case.case_id, ())) for r in write.cases],
        refusals=[msgspec.structs.replace(r, body=seal_blob(keys, r.body)) for r in write.refusals])


def open_history(keys: Keyring | None, history: CaseHistory) -> CaseHistory:
    """A stored case's history in clear (for the admin's refold and check)."""
    if keys is None:
        return history
    return msgspec.structs.replace(
        history, record=open_record(keys, history.record) if history.record is not None else None,
        events=[open_event(keys, e) for e in history.events])
