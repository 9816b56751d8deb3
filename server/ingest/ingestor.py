"""Ingest: one push batch becomes stored events, folded cases and rollup deltas, written in ONE transaction.

Three stages, so that one batch's Python runs while another's SQL does (a 2-core county box uses both):
1. checks that need no database (shape, data per kind, org scope, catalog), for any number of batches at once;
2. the fold, one batch at a time in arrival order: duplicates and reused seqs, the township of stored cases, the
   fold, the rollup deltas and every row to write. It reads the committed state plus the batches folded before it
   and not yet committed (`server.ingest.pending`), so it need not wait for their commit;
3. the write, one batch at a time in the same order, one transaction each, queued on the store's writer
   (`Store.submit_batch`; rows and parameters are made at the end of stage 2, `Store.prepare_batch`). The
   acknowledgement is built from what the transaction committed, and returned only after the commit.
At most `PIPELINE_DEPTH` batches are between stages 2 and 3. When a write fails, every batch folded after it was
folded on a state that never came to be: those fail too (the agents send them again), and the next fold starts
from the committed state. A fold runs in a generation, which moves on at such a failure; the store fails the
batches of a failed generation still queued behind the failure.

Valid while this process is the only writer of the events and cases of the townships it ingests: the server process
(`[server] ingest_workers = 0`) or the one ingest worker a township is dealt to (`server.ingest.pool`). A backend
that lets several processes write the same township's cases must fold inside its write transaction instead.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

import msgspec

from protocol.codes import message_of
from protocol.lifecycle import Case
from protocol.messages import (
    DATA_TYPES,
    MAX_SEQ,
    ConsultedData,
    Event,
    PushRequest,
    PushResponse,
    Refusal,
    Strict,
)
from protocol.vocabulary import EventKind, Level
from server.clock import now_iso, now_ms
from server.errors import ApiError
from server.ingest.pending import Folded, Pending, PendingView
from server.model.fold import FoldEvent, fold_case, order_key, time_window
from server.model.reference import Reference
from server.model.rollups import Contribution, add_case, add_into, consultation_contribution
from server.storage.base import (
    AgentRecord,
    BatchNotWritten,
    BatchWrite,
    CaseRecord,
    Consultation,
    RefusedEvent,
    Store,
    StoredEvent,
)

log = logging.getLogger(__name__)

# An offset beyond this is logged: the PC's clock is badly wrong (times are still corrected by the offset).
SKEW_WARN_MS = 5 * 60 * 1000
# Batches folded and not yet committed, at most: 2 lets one batch be folded while the one before it is written.
PIPELINE_DEPTH = 2
# One pass for a well-formed batch, event data left raw until the checks decode it per kind (perf-notes: typed
# decoding is about as fast as untyped; converting 1,000 dicts afterwards was a fifth of the ingest's Python time).
_fast_push = msgspec.json.Decoder(PushRequest[Event[msgspec.Raw]])
_DATA_DECODERS = {kind: msgspec.json.Decoder(t) for kind, t in DATA_TYPES.items()}
# The kinds whose data name org units or catalog items (`_check_scope`).
_SCOPED_KINDS = frozenset(k for k, t in DATA_TYPES.items()
                          if {"org_code", "village_code", "item_code"} & set(t.__struct_fields__))
_encode = msgspec.json.encode


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


class Candidate(NamedTuple):
    """An event that passed the checks needing no database: its row, its typed data and its place in the fold."""

    stored: StoredEvent
    data: Strict
    fold: FoldEvent
    event: Event[Any]  # as sent, for a refusal


class _Refused(NamedTuple):
    event_id: str | None
    seq: int | None
    code: str
    detail: str
    raw: Any


class Ingestor:
    def __init__(self, store: Store, reference: Reference) -> None:
        self._store = store
        self._reference = reference
        self._pending = Pending()
        self._generation = 0  # moves on when a write fails: batches folded before that are not written
        self._fold_lock: asyncio.Lock | None = None  # made in the running loop
        self._depth: asyncio.Semaphore | None = None

    async def push_body(self, agent: AgentRecord, body: bytes) -> PushResponse:
        """`push` of a request body (JSON, decompressed). Raises `ApiError` for a body that is not a batch of this
        agent's; a malformed event only gets that event refused."""
        try:
            batch = _fast_push.decode(body)
        except (msgspec.DecodeError, RecursionError):
            # A malformed event somewhere (or bad JSON): decode loosely, so that just that event is refused.
            try:
                batch = msgspec.json.decode(body, type=PushRequest[dict[str, Any]])
            except msgspec.ValidationError as exc:
                raise ApiError("bad_request", str(exc)) from None
            except msgspec.DecodeError as exc:
                raise ApiError("bad_json", str(exc)) from None
            except RecursionError:
                raise ApiError("bad_json", "the JSON is nested too deeply") from None
        if batch.agent_id != agent.agent_id:
            raise ApiError("agent_mismatch", f"the batch names {batch.agent_id!r}; the token is {agent.agent_id!r}")
        return await self.push(agent, batch, body_bytes=len(body))

    async def push(self, agent: AgentRecord, request: PushRequest, *, body_bytes: int = 0) -> PushResponse:
        """Apply one batch from `agent` (already authenticated; `request.agent_id` already checked).

        Idempotent: events already stored count as duplicates and change nothing. Raises only on storage failure
        (or when a batch folded before this one failed to be written), in which case nothing of the batch was kept.
        """
        started = time.perf_counter()
        candidates, refused = self._check_offline(agent, request.events)
        if self._fold_lock is None or self._depth is None:
            self._fold_lock, self._depth = asyncio.Lock(), asyncio.Semaphore(PIPELINE_DEPTH)
        async with self._depth:
            async with self._fold_lock:
                generation = self._generation
                batch, folded, duplicates, skipped = await self._fold_batch(
                    agent, candidates, refused, request, self._pending.view())
                if generation != self._generation:
                    raise BatchNotWritten("a batch folded before this one failed to be written")
                batch.received_events, batch.received_bytes = len(request.events), body_bytes  # the quotas count them
                prepared = self._store.prepare_batch(batch)
                self._pending.add(folded)
                written = self._store.submit_batch(prepared, generation)
                written.add_done_callback(functools.partial(self._written, folded, generation))
            acked = await asyncio.shield(written)  # a request cancelled here still commits: the ack is not lost
        stored = len(batch.events)
        response = PushResponse(
            acked_seq=acked, stored=stored, duplicates=duplicates,
            refused=[Refusal(event_id=r.event_id or "", seq=r.seq or 0, code=r.code, message=message_of(r.code),
                             detail=r.detail) for r in refused],
            server_time_ms=now_ms())
        log.info("push stored agent_id=%s events=%d stored=%d duplicates=%d refused=%d skipped=%d acked_seq=%d "
                 "took_ms=%.1f", agent.agent_id, len(request.events), stored, duplicates, len(refused), skipped,
                 acked, (time.perf_counter() - started) * 1000)
        return response

    def _written(self, folded: Folded, generation: int, written: asyncio.Future[int]) -> None:
        """A batch committed (the store has it now) or failed (it never happened)."""
        self._pending.discard(folded)
        if (written.cancelled() or written.exception() is not None) and generation == self._generation:
            # Every batch folded after this one counted on it: the store fails those, and the next fold starts
            # from the committed state.
            self._generation += 1
            self._pending.clear()

    # ---- checks that need no database ---------------------------------------------------------------------

    def _check_offline(self, agent: AgentRecord, raws: Sequence[Event[msgspec.Raw] | dict[str, Any]]
                       ) -> tuple[list[Candidate], list[_Refused]]:
        candidates: list[Candidate] = []
        refused: list[_Refused] = []
        agent_id, township = agent.agent_id, agent.township_code
        max_offset = 0
        earliest, latest = time_window(datetime.now(UTC))
        for raw in raws:  # once per event: kept lean
            if isinstance(raw, Event):  # the whole batch decoded in one pass; data still raw JSON
                ev, data_json = raw, raw.data
            else:
                try:
                    ev = msgspec.convert(raw, Event)
                except msgspec.ValidationError as exc:
                    event_id = raw.get("event_id") if isinstance(raw, dict) else None
                    seq = raw.get("seq") if isinstance(raw, dict) else None
                    refused.append(_Refused(event_id if isinstance(event_id, str) else None,
                                            seq if type(seq) is int and 1 <= seq <= MAX_SEQ else None,
                                            "invalid_event",
                                            str(exc), raw))
                    continue
                data_json = msgspec.Raw(_encode(ev.data))
            kind = ev.kind
            try:
                data = _DATA_DECODERS[kind].decode(data_json)
                key, at = order_key(ev.at, ev.offset_ms, agent_id, ev.seq)
            except msgspec.ValidationError as exc:
                refused.append(_Refused(ev.event_id, ev.seq, "invalid_event", f"{exc} (in `data` of {kind})", raw))
                continue
            except (ValueError, OverflowError) as exc:  # OverflowError: the offset moves it past year 1 or 9999
                refused.append(_Refused(ev.event_id, ev.seq, "invalid_event", f"`at` is not a valid time: {exc}", raw))
                continue
            if not earliest <= key[:29] <= latest:
                refused.append(_Refused(ev.event_id, ev.seq, "implausible_time", f"the corrected time {key[:29]} is "
                                        f"outside {earliest} .. {latest}", raw))
                continue
            if kind in _SCOPED_KINDS:
                problem = self._check_scope(township, data)
                if problem is not None:
                    refused.append(_Refused(ev.event_id, ev.seq, *problem, raw))
                    continue
            if ev.offset_ms > max_offset or -ev.offset_ms > max_offset:
                max_offset = abs(ev.offset_ms)
            case_id = ev.case_id
            candidates.append(Candidate(
                StoredEvent(ev.event_id, agent_id, ev.seq, case_id, kind, ev.at, ev.offset_ms, key, bytes(data_json)),
                data, FoldEvent(key, agent_id, case_id, kind, data, at), ev))
        if max_offset > SKEW_WARN_MS:
            log.warning("push clock skew agent_id=%s max_offset_ms=%d", agent_id, max_offset)
        return candidates, refused

    def _check_scope(self, township: str, data: Strict) -> tuple[str, str] | None:
        """Org codes must be units of the agent's own township; items must be in the catalog."""
        org_units = self._reference.org_units
        for field in ("org_code", "village_code"):
            code = getattr(data, field, None)
            if code is None:
                continue
            if not code.startswith(township):
                return "wrong_township", f"{field} {code} is outside township {township}"
            unit = org_units.get(code)
            if unit is None:
                return "unknown_org", f"{field} {code} is not in the county's org units"
            if field == "village_code" and unit.level != Level.VILLAGE:
                return "unknown_org", f"village_code {code} is not a village or community"
        item_code = getattr(data, "item_code", None)
        if item_code is not None and item_code not in self._reference.items:
            return "unknown_item", f"item_code {item_code} is not in the county's catalog"
        return None

    # ---- the fold: one batch at a time ---------------------------------------------------------------------

    async def _fold_batch(self, agent: AgentRecord, candidates: list[Candidate], refused: list[_Refused],
                          request: PushRequest, pending: PendingView) -> tuple[BatchWrite, Folded, int, int]:
        """Returns (what to write, what the next fold must see of it, duplicates, events skipped by the fold);
        appends to `refused`."""
        reads = self._store.ingest_reads
        agent_id = agent.agent_id
        event_ids = [c.stored.event_id for c in candidates]
        existing = await reads.stored_events(event_ids)
        seqs = sorted({c.stored.seq for c in candidates})
        owners = await reads.seq_owners(agent_id, seqs)
        if pending:
            existing.update(pending.stored_events(event_ids))
            owners.update(pending.seq_owners(agent_id, seqs))
        duplicates = 0
        fresh: list[Candidate] = []
        batch_ids: dict[str, int] = {}
        for c in candidates:
            ev = c.stored
            known = existing.get(ev.event_id)
            if known is None and ev.event_id in batch_ids:
                known = (agent_id, batch_ids[ev.event_id])
            if known is not None:
                if known == (agent_id, ev.seq):
                    duplicates += 1
                else:
                    refused.append(_Refused(ev.event_id, ev.seq, "event_id_reused",
                                            f"event_id {ev.event_id} is stored as {known[0]} seq {known[1]}",
                                            c.event))
                continue
            owner = owners.get(ev.seq)
            if owner is not None and owner != ev.event_id:
                refused.append(_Refused(ev.event_id, ev.seq, "seq_reused",
                                        f"seq {ev.seq} of {agent_id} belongs to event {owner}", c.event))
                continue
            owners[ev.seq] = ev.event_id
            batch_ids[ev.event_id] = ev.seq
            fresh.append(c)

        case_events: dict[str, list[Candidate]] = defaultdict(list)
        consultations: list[Candidate] = []
        for c in fresh:
            if c.fold.kind is EventKind.CONSULTED:
                consultations.append(c)
            else:
                case_events[c.fold.case_id].append(c)
        case_ids = list(case_events)
        loaded = pending.cases(case_ids) if pending else {}
        loaded.update(await reads.load_cases([cid for cid in case_ids if cid not in loaded]))
        for case_id, record in loaded.items():
            if record.case.org_code[:9] != agent.township_code:
                for c in case_events.pop(case_id):
                    refused.append(_Refused(c.stored.event_id, c.stored.seq, "wrong_township",
                                            f"case {case_id} belongs to township {record.case.org_code[:9]}",
                                            c.event))
                    fresh.remove(c)
                    del batch_ids[c.stored.event_id]

        # Fast path: all new events of a stored case sort after everything folded so far -> apply them to the stored
        # state. Otherwise (a new case, or an event that belongs earlier) refold from all the case's events.
        refold = [cid for cid, evs in case_events.items()
                  if cid not in loaded or min(c.fold.order_key for c in evs) <= loaded[cid].last_key]
        history: dict[str, dict[str, FoldEvent]] = defaultdict(dict)  # by order_key: pending may repeat a commit
        for s in await reads.events_of_cases(refold):
            history[s.case_id][s.order_key] = _fold_event(s)
        if pending:
            for cid in refold:
                for e in pending.fold_events(cid):
                    history[cid][e.order_key] = e
        folds = {cid: [c.fold for c in evs] for cid, evs in case_events.items()}
        saves, deltas, skipped = self._fold(folds, loaded, history)
        # New cases whose events had been waiting for their `accepted`: those stop counting as orphans.
        adopted = [cid for cid in saves if cid not in loaded and history.get(cid)]

        new_consultations: list[Consultation] = []
        if consultations:
            seen = await reads.stored_consultations([c.stored.case_id for c in consultations])
            if pending:
                seen |= pending.consultations()
            for c in consultations:
                if c.stored.case_id in seen or not isinstance(c.data, ConsultedData):
                    continue
                seen.add(c.stored.case_id)
                new_consultations.append(Consultation(
                    consultation_id=c.stored.case_id, event_id=c.stored.event_id, org_code=c.data.org_code,
                    channel=c.data.channel.value, consulted_on=c.fold.at[:10], body=c.stored.data))
                add_into(deltas, consultation_contribution(c.data.org_code, new_consultations[-1].consulted_on,
                                                           c.data.channel.value))

        refusals = [RefusedEvent(r.event_id, agent_id, r.seq, r.code, r.detail, _encode(r.raw))
                    for r in refused if r.event_id is not None and r.seq is not None]
        batch = BatchWrite(
            agent_id=agent_id, received_at=now_iso(),
            events=[c.stored for c in fresh],
            refusals=refusals, consultations=new_consultations, cases=list(saves.values()), deltas=deltas,
            software_version=request.software_version, pending=request.pending, adopted_case_ids=adopted)
        for r in refusals:
            if r.code != "seq_reused":  # a refused event owns its seq too
                owners.setdefault(r.seq, r.event_id)
        folded = Folded(agent_id, events=batch_ids, seqs=owners, cases=saves, fold_events=folds,
                        consultations={c.consultation_id for c in new_consultations})
        return batch, folded, duplicates, skipped

    def _fold(self, folds: dict[str, list[FoldEvent]], loaded: dict[str, CaseRecord],
              history: dict[str, dict[str, FoldEvent]]) -> tuple[dict[str, CaseRecord], Contribution, int]:
        """Fold every affected case; returns (case rows to save by case_id, rollup deltas, events skipped by the
        fold)."""
        saves: dict[str, CaseRecord] = {}
        deltas: Contribution = {}
        skipped = 0
        for case_id, new_events in folds.items():
            old = loaded.get(case_id)
            if case_id in history or old is None:
                # A new case, or an event that sorts before the stored state: refold from all its events.
                ordered = sorted([*history.get(case_id, {}).values(), *new_events])
                case, n = fold_case(None, ordered)
            else:
                ordered = sorted(new_events)
                case, n = fold_case(old.case, ordered)
            skipped += n
            if case is None:
                continue  # no `accepted` yet: the events wait in storage
            category = self._category(case, old)
            saves[case_id] = CaseRecord(case, category, ordered[-1].order_key)
            add_case(deltas, case, category)
            if old is not None:
                add_case(deltas, old.case, old.category, -1)
        return saves, deltas, skipped

    def _category(self, case: Case, old: CaseRecord | None) -> str:
        item = self._reference.items.get(case.item_code)
        if item is not None:
            return item.category
        return old.category if old is not None else "其他"  # an item since removed from the catalog


def _fold_event(s: StoredEvent) -> FoldEvent:
    kind = EventKind(s.kind)
    _, at = order_key(s.at, s.offset_ms, s.agent_id, s.seq)
    return FoldEvent(s.order_key, s.agent_id, s.case_id, kind, _DATA_DECODERS[kind].decode(s.data), at)
