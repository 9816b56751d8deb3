"""The fold of ONE push batch: what its checked events change, decided from what a reader sees.

`fold_batch` reads through any `IngestReads` (the committed state, the pending overlay of `server.ingest.pending`,
or a reader bound to a write transaction) and returns everything the batch stores, for one transaction. It knows
nothing of when or how that is written. In order:
1. new events: an event_id stored already is a duplicate (same agent and seq) or refused (`event_id_reused`); a seq
   the agent used for another event is refused (`seq_reused`);
2. scope: events of a stored case of another township are refused (`wrong_township`);
3. cases: each case with new events is folded in causal order (`protocol.causal`: appended to its stored fold when
   that gives the same result, else refolded from all its events) and its rollup delta is new − old; its conflicts
   go with it;
4. consultations: new ones are stored and counted once;
5. the refusals that can be stored (they name an event_id and seq) are kept, so the acknowledgement moves past them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import msgspec

from protocol.causal import FoldEvent, FoldResult, append, fold
from protocol.messages import Conflict, ConsultedData, CorrectedData, ServiceItem
from protocol.vocabulary import EventKind
from server.ingest.checks import Candidate, CheckedPush, Refused
from server.model.reference import category_of
from server.model.rollups import Contribution, add_case, add_into, consultation_contribution
from server.storage.base import BatchWrite, CaseRecord, Consultation, IngestReads, RefusedEvent, fold_event

_encode = msgspec.json.encode


class FoldedBatch(NamedTuple):
    """What a batch stores (`write`), and what its answer counts."""

    write: BatchWrite
    duplicates: int  # events stored already, by the same agent with the same seq
    conflicts: list[Conflict]  # the conflicts of the cases the batch folded, open and settled
    refused: list[Refused]  # the checks' refusals, then the fold's


async def fold_batch(reads: IngestReads, push: CheckedPush, items: Mapping[str, ServiceItem], received_at: str
                     ) -> FoldedBatch:
    """Fold one checked push on the state `reads` sees. Raises only what `reads` raises."""
    refused = list(push.refused)
    fresh, duplicates = await _new_events(reads, push, refused)
    fresh = await _refuse_unknown_grants(reads, fresh, refused)
    case_events, consulted = _by_case(fresh)
    loaded = await reads.load_cases(list(case_events))
    _refuse_other_townships(push.agent.township_code, case_events, loaded, refused)
    cases, adopted, deltas, conflicts = await _fold_cases(reads, case_events, loaded, items)
    consultations = await _new_consultations(reads, consulted, deltas)
    agent_id = push.agent.agent_id
    write = BatchWrite(
        agent_id=agent_id, received_at=received_at,
        events=[c.stored for c in fresh if c.fold.case_id in case_events or c.fold.kind is EventKind.CONSULTED],
        refusals=[RefusedEvent(r.event_id, agent_id, r.seq, r.code, r.detail, _encode(r.raw))
                  for r in refused if r.event_id is not None and r.seq is not None],
        consultations=consultations, cases=cases, deltas=deltas,
        software_version=push.software_version, pending=push.pending,
        received_events=push.events, received_bytes=push.body_bytes, adopted_case_ids=adopted, conflicts=conflicts,
        protocol_version=push.protocol_version, pull_cursor=push.pull_cursor, digest_agrees=push.digest_agrees)
    return FoldedBatch(write, duplicates, [c for cs in conflicts.values() for c in cs], refused)


async def _new_events(reads: IngestReads, push: CheckedPush, refused: list[Refused]) -> tuple[list[Candidate], int]:
    """The candidates not stored yet, in push order, and how many were duplicates; refuses reused ids and seqs."""
    agent_id = push.agent.agent_id
    candidates = push.candidates
    existing = await reads.stored_events([c.stored.event_id for c in candidates])
    owners = await reads.seq_owners(agent_id, sorted({c.stored.seq for c in candidates}))
    fresh: list[Candidate] = []
    duplicates = 0
    for c in candidates:
        ev = c.stored
        known = existing.get(ev.event_id)
        if known is not None:
            if known == (agent_id, ev.seq):
                duplicates += 1
            else:
                refused.append(Refused(ev.event_id, ev.seq, "event_id_reused",
                                       f"event_id {ev.event_id} is stored as {known[0]} seq {known[1]}", c.event))
            continue
        owner = owners.get(ev.seq)
        if owner is not None and owner != ev.event_id:
            refused.append(Refused(ev.event_id, ev.seq, "seq_reused",
                                   f"seq {ev.seq} of {agent_id} belongs to event {owner}", c.event))
            continue
        # Earlier in this batch counts as stored: the same event twice is a duplicate, another on its seq reused.
        existing[ev.event_id] = (agent_id, ev.seq)
        owners[ev.seq] = ev.event_id
        fresh.append(c)
    return fresh, duplicates


async def _refuse_unknown_grants(reads: IngestReads, fresh: list[Candidate], refused: list[Refused]
                                 ) -> list[Candidate]:
    """A correction that names a grant (to change a figure of a closed or rated case) stands only on a grant the
    county gave for that very case; any other is refused (`unknown_grant`)."""
    named = {c.stored.event_id: c.data.grant for c in fresh
             if c.fold.kind is EventKind.CORRECTED and isinstance(c.data, CorrectedData) and c.data.grant is not None}
    if not named:
        return fresh
    cases = await reads.grant_cases(sorted(set(named.values())))
    kept = []
    for c in fresh:
        grant = named.get(c.stored.event_id)
        if grant is not None and cases.get(grant) != c.fold.case_id:
            refused.append(Refused(c.stored.event_id, c.stored.seq, "unknown_grant",
                                   f"grant {grant} is not a grant of case {c.fold.case_id}", c.event))
        else:
            kept.append(c)
    return kept


def _by_case(fresh: Sequence[Candidate]) -> tuple[dict[str, list[Candidate]], list[Candidate]]:
    """The new events by case (in push order), and the consultations apart."""
    case_events: dict[str, list[Candidate]] = defaultdict(list)
    consulted: list[Candidate] = []
    for c in fresh:
        if c.fold.kind is EventKind.CONSULTED:
            consulted.append(c)
        else:
            case_events[c.fold.case_id].append(c)
    return case_events, consulted


def _refuse_other_townships(township: str, case_events: dict[str, list[Candidate]],
                            loaded: dict[str, CaseRecord], refused: list[Refused]) -> None:
    """A case belongs to the township that accepted it: another township's events of it are refused (and taken out
    of `case_events` and `loaded`)."""
    for case_id, record in list(loaded.items()):
        owner = record.case.org_code[:9]
        if owner != township:
            del loaded[case_id]
            refused.extend(Refused(c.stored.event_id, c.stored.seq, "wrong_township",
                                   f"case {case_id} belongs to township {owner}", c.event)
                           for c in case_events.pop(case_id))


async def _fold_cases(reads: IngestReads, case_events: dict[str, list[Candidate]], loaded: dict[str, CaseRecord],
                      items: Mapping[str, ServiceItem]
                      ) -> tuple[list[CaseRecord], list[str], Contribution, dict[str, list[Conflict]]]:
    """Every case with new events folded: (the case rows to save, the new cases among them whose events had been
    waiting for their `accepted` (they stop counting as orphans), the rollup deltas, the conflicts of each case whose
    conflicts are to be written)."""
    folds: dict[str, FoldResult] = {}
    refold: list[str] = []
    for case_id, new_events in case_events.items():
        appended = _appended(loaded.get(case_id), [c.fold for c in new_events])
        if appended is None:
            refold.append(case_id)
        else:
            folds[case_id] = appended
    history: dict[str, list[FoldEvent]] = defaultdict(list)
    for s in await reads.events_of_cases(refold):
        history[s.case_id].append(fold_event(s))
    for case_id in refold:
        folds[case_id] = fold([*history.get(case_id, ()), *(c.fold for c in case_events[case_id])])
    saves: list[CaseRecord] = []
    adopted: list[str] = []
    deltas: Contribution = {}
    conflicts: dict[str, list[Conflict]] = {}
    for case_id, folded in folds.items():
        case = folded.case
        if case is None:
            continue  # no `accepted` yet: the events wait in storage
        old = loaded.get(case_id)
        category = category_of(case.item_code, items, old.category if old is not None else None, case.item_version,
                               case.accepted_on)
        saves.append(CaseRecord(case, category, folded.meta.last_key, folded.meta))
        if folded.conflicts or (old is not None and old.meta.conflicts):
            conflicts[case_id] = folded.conflicts
        add_case(deltas, case, category)
        if old is not None:
            add_case(deltas, old.case, old.category, -1)
        elif history.get(case_id):
            adopted.append(case_id)
    return saves, adopted, deltas, conflicts


def _appended(old: CaseRecord | None, new: list[FoldEvent]) -> FoldResult | None:
    """The stored fold of a case with its new events appended (in push order: its agent's seq order), or None when
    the case must be refolded from all its events: a new case, one with conflicts (who lost to whom needs the whole
    graph), or an event `protocol.causal.append` cannot place at the end."""
    if old is None or old.meta.conflicts:
        return None
    state: FoldResult | None = FoldResult(old.case, [], [], old.meta)
    for e in new:
        state = append(state, e) if state is not None else None
    return state


async def _new_consultations(reads: IngestReads, consulted: list[Candidate], deltas: Contribution
                             ) -> list[Consultation]:
    """The consultations not stored yet (each counted once in `deltas`); a consultation sent again is stored as an
    event but not counted twice."""
    if not consulted:
        return []
    seen = await reads.stored_consultations([c.stored.case_id for c in consulted])
    out: list[Consultation] = []
    for c in consulted:
        data = c.data
        if c.stored.case_id in seen or not isinstance(data, ConsultedData):
            continue
        seen.add(c.stored.case_id)
        day = c.fold.at[:10]
        out.append(Consultation(consultation_id=c.stored.case_id, event_id=c.stored.event_id, org_code=data.org_code,
                                channel=data.channel.value, consulted_on=day, body=c.stored.data))
        add_into(deltas, consultation_contribution(data.org_code, day, data.channel.value))
    return out
