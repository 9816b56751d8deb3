"""The PC's copy of its township's cases: every event it knows of each case (its own, and the other PCs' it pulled),
folded with the county's own function (`protocol.causal`), so a PC that has all of a case's events holds exactly the
county's state of it.

Every write that changes a case's set of events folds it again in the same transaction: a staff action (appended to
the last fold, which is always possible for an action made on the latest state), a refusal by the county (the
refused event leaves the set), a pull (the other PCs' events join it). Its own refused events are out of the set,
so the PC shows what the county has plus its own events still to upload.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence

import msgspec

from agent.records import KnownEvent, OutboxEvent
from agent.store import AgentStore
from protocol.causal import FoldEvent, FoldResult, append, fold, order_key, township_digest
from protocol.messages import DATA_TYPES, PulledEvent, Refusal
from protocol.vocabulary import EventKind

log = logging.getLogger(__name__)

_DATA = {kind: msgspec.json.Decoder(t) for kind, t in DATA_TYPES.items()}
# Cases refolded per transaction when all are (a start after the upgrade, a failed agreement check).
REFOLD_CHUNK = 500


def fold_event(e: KnownEvent) -> FoldEvent:
    kind = EventKind(e.kind)
    key, at = order_key(e.at, e.offset_ms, e.event_id)
    return FoldEvent(e.event_id, e.agent_id, e.seq, e.case_id, kind, _DATA[kind].decode(e.data), key, at, e.parents,
                     e.replaces)


def own(event: OutboxEvent, agent_id: str, seq: int) -> KnownEvent:
    return KnownEvent(event.event_id, agent_id, seq, event.case_id, event.kind, event.at, event.offset_ms,
                      event.parents, event.replaces, event.data, True)


class Casebook:
    def __init__(self, store: AgentStore, agent_id: str) -> None:
        self.store = store
        self.agent_id = agent_id

    async def state(self, case_id: str) -> FoldResult | None:
        return await self.store.case_state(case_id)

    async def fold_with(self, case_id: str, extra: Sequence[KnownEvent] = (), without: Iterable[str] = ()
                        ) -> FoldResult:
        """The case's fold with `extra` events added and the events `without` names taken out (what a correction
        would make of it); writes nothing."""
        dropped = set(without)
        known = [e for e in await self.store.known_events([case_id], self.agent_id) if e.event_id not in dropped]
        return fold(fold_event(e) for e in [*known, *extra])

    async def record(self, state: FoldResult | None, *events: OutboxEvent) -> FoldResult:
        """Store staff's events of one case (under `store.write()`) with the case's new fold. `state`: its fold
        before them (None for an acceptance)."""
        seq = await self.store.next_seq()
        added = [own(e, self.agent_id, seq + i) for i, e in enumerate(events)]
        folded: FoldResult | None = state
        for e in added:
            folded = append(folded, fold_event(e)) if folded is not None else None
            if folded is None:
                break
        if folded is None:
            folded = await self.fold_with(events[0].case_id, added)
        await self.store.save_action(folded, *events)
        return folded

    async def record_push(self, acked_seq: int, refused: list[Refusal]) -> int:
        """The county's answer to a push: refused events quarantined and their cases refolded without them, the
        rest up to `acked_seq` marked synced, in one transaction. Returns the events marked."""
        async with self.store.write(), self.store.transaction():
            marked = await self.store.mark_pushed(acked_seq, refused)
            if refused:
                await self._refold(await self.store.case_ids_of_events(r.event_id for r in refused))
        return marked

    async def apply_pull(self, events: Sequence[PulledEvent[msgspec.Raw]], **meta: str | int | None) -> int:
        """Pulled events stored, their cases refolded and `meta` (the new cursor) recorded, in one transaction:
        a pull cut off anywhere is simply pulled again (idempotent by event_id). Returns the cases refolded."""
        case_ids = {e.case_id for e in events if e.kind != EventKind.CONSULTED}
        async with self.store.write(), self.store.transaction():
            await self.store.insert_pulled(events)
            await self._refold(case_ids)
            await self.store.put_meta(**meta)
        return len(case_ids)

    async def refold_all(self) -> tuple[int, int]:
        """Fold every case again from its events (after the upgrade to causal order, or when the township digest
        disagrees): (cases folded, cases whose state changed)."""
        case_ids = await self.store.folded_case_ids()
        changed = 0
        for start in range(0, len(case_ids), REFOLD_CHUNK):
            chunk = case_ids[start:start + REFOLD_CHUNK]
            async with self.store.write(), self.store.transaction():
                before = {cid: await self.store.case_state(cid) for cid in chunk}
                after = await self._refold(chunk)
            changed += sum(_changed(before[cid], after[cid]) for cid in chunk)
        return len(case_ids), changed

    async def _refold(self, case_ids: Iterable[str]) -> dict[str, FoldResult]:
        """Fold these cases from what this PC knows and write them, in the caller's transaction."""
        ids = sorted(set(case_ids))
        if not ids:
            return {}
        events: dict[str, list[FoldEvent]] = defaultdict(list)
        for e in await self.store.known_events(ids, self.agent_id):
            events[e.case_id].append(fold_event(e))
        folds = {cid: fold(events.get(cid, ())) for cid in ids}
        await self.store.save_folds(folds)
        return folds

    async def digest(self) -> str:
        return township_digest(*await self.store.digest())


def _changed(before: FoldResult | None, after: FoldResult) -> bool:
    if before is None:
        return after.case is not None
    return before.case != after.case or _by_id(before) != _by_id(after)


def _by_id(folded: FoldResult) -> list[tuple[str, str | None]]:
    return sorted((c.event_id, c.settled_by) for c in folded.conflicts)
