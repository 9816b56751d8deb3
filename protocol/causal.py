"""The order of a case's events and their fold into the case's state: one pure function for the agent and the county.

An event's **predecessors** are what its author had applied when it was made:
- an event of protocol 2 names them: `parents` are the case's heads on its PC (the events no other event of the case
  follows). A PC that pulled events of two other PCs names both. An event that `replaces` a refused one (staff
  corrected it) takes that one's place: parents naming the refused event name it instead;
- an event of protocol 1 (no `parents` on the wire) follows the previous event of its own agent in the case (seq
  order): protocol-1 agents never pull, so a case of theirs is only ever worked on one PC.
Parents the folder does not know (refused, never seen, another township's) are ignored, so the result depends only on
the set of events.

The **order** is a topological sort of that graph. Among the events whose predecessors are all placed, the one with
the smallest key goes first: `key` = (the event's time on the county's clock in milliseconds, event_id). The time is
only a tie-break between concurrent events, never a reason to drop one; event_id because it is the one name an event
has everywhere (a restored PC may send an event again under another agent id and seq). A cycle, which only forged
events can make, is broken by placing the smallest-key event left. The fold then applies the events in that order
through `protocol.lifecycle.apply_event`, starting at the first `accepted` (events ordered before it, which only a
correction of a refused acceptance leaves there, apply right after it).

An event that cannot apply at its place is a **conflict**: kept, with the code and message of the rule it broke and the
event it lost to (the last applied event its author had not seen). Conflicts are derived from the set like the state
and recomputed with it; a `settled` event (staff accepted the county's state or redid the action) marks one settled.

`append` adds one event to a folded case without refolding when that gives the same result (it always does for an
event made on the latest state), so the county's ingest and the PC's staff actions stay cheap.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

import msgspec

from protocol.lifecycle import Case, IllegalTransition, apply_event, corrected_at
from protocol.messages import Conflict, SettledData, Strict
from protocol.vocabulary import EventKind

_CHINA = "+08:00"
# Enum members read once: `EventKind.X` costs a lookup on every access in Python 3.11, and the fold runs per event.
_ACCEPTED, _SETTLED = EventKind.ACCEPTED, EventKind.SETTLED
_offsets: dict[int, timedelta] = {}


def china_millis(at: str, offset_ms: int) -> str:
    """`protocol.lifecycle.corrected_at(at, offset_ms)` as ISO text to the millisecond in +08:00 (a test keeps them
    equal). Once per event on the county's ingest path, so the common case, a PC already on +08:00, is worked out on
    naive China-time datetimes: their isoformat costs a third of an aware one's."""
    if not at.endswith(_CHINA):
        return corrected_at(at, offset_ms).isoformat(timespec="milliseconds")
    when = datetime.fromisoformat(at[:-6])
    if offset_ms:
        delta = _offsets.get(offset_ms)
        if delta is None:
            if len(_offsets) > 10_000:  # offsets repeat per agent; keep the memo small
                _offsets.clear()
            delta = _offsets[offset_ms] = timedelta(milliseconds=offset_ms)
        when -= delta
    text = when.isoformat()  # seconds, or microseconds when there are any
    return (text[:23] if len(text) > 19 else text + ".000") + _CHINA


def order_key(at: str, offset_ms: int, event_id: str) -> tuple[str, str]:
    """(the event's key as one string, its corrected time as `apply_event` takes it: China time to the second).

    The key is `<corrected time, ISO to the ms in +08:00>|<event_id>`: fixed-width, so string order is the order of
    (time, event_id). Raises ValueError for a time that is not ISO 8601."""
    stamp = china_millis(at, offset_ms)
    return f"{stamp}|{event_id}", stamp[:19] + _CHINA


class FoldEvent(NamedTuple):
    """One event as the fold takes it. `parents` None: a protocol-1 event (it follows its agent's previous one)."""

    event_id: str
    agent_id: str
    seq: int
    case_id: str
    kind: EventKind
    data: Strict
    key: str  # `order_key(...)[0]`
    at: str  # `order_key(...)[1]`
    parents: tuple[str, ...] | None = None
    replaces: str | None = None


class CaseMeta(msgspec.Struct, omit_defaults=True):
    """What `append` needs to know of a folded case, kept beside its state (the case row on both sides)."""

    heads: list[str] = []  # event ids no other event of the case follows, sorted
    last_key: str = ""  # the greatest key among the case's events
    tails: dict[str, list[int | str]] = {}  # agent_id -> [its greatest seq in the case, that event's id]
    awaiting: list[str] = []  # ids named as parents or replaced that are not (yet) among the case's events
    aliases: dict[str, str] = {}  # refused event id -> the event that replaces it
    count: int = 0  # events in the case's set
    is_regular: bool = True  # False: a cycle was broken; `append` then refuses and the case is refolded
    accepted_by: str | None = None  # the agent of the applied `accepted`
    last_by: str | None = None  # the agent of the last applied event
    last_event_id: str | None = None
    open_conflicts: int = 0
    conflicts: int = 0


class FoldResult(NamedTuple):
    case: Case | None  # None: no `accepted` among the events yet (they wait for it)
    applied: list[str]  # event ids, in the order applied
    conflicts: list[Conflict]
    meta: CaseMeta

    @property
    def waiting(self) -> bool:
        return self.case is None


# ---- the order -----------------------------------------------------------------------------------------------


def _predecessors(events: dict[str, FoldEvent]) -> tuple[dict[str, tuple[str, ...]], set[str], dict[str, str]]:
    """event_id -> the ids of its predecessors among `events`; ids named but unknown; aliases. (Kept lean: it runs
    for every case the county folds from its events.)"""
    aliases: dict[str, str] = {}
    awaiting: set[str] = set()
    by_agent: dict[str, list[FoldEvent]] = {}
    protocol_1: set[str] = set()  # agents with protocol-1 events here
    for e in events.values():
        if e.replaces is not None and e.replaces not in events:
            if e.replaces not in aliases or e.event_id < aliases[e.replaces]:
                aliases[e.replaces] = e.event_id  # several corrections of one refused event: the smallest id
        chain = by_agent.get(e.agent_id)
        if chain is None:
            by_agent[e.agent_id] = [e]
        else:
            chain.append(e)
        if e.parents is None:
            protocol_1.add(e.agent_id)
    previous: dict[str, str] = {}
    for agent_id in protocol_1:  # protocol-1 events follow their agent's previous event in the case
        chain = by_agent[agent_id]
        if len(chain) > 1:
            chain.sort(key=lambda e: (e.seq, e.event_id))
            for earlier, later in zip(chain, chain[1:], strict=False):
                previous[later.event_id] = earlier.event_id
    preds: dict[str, tuple[str, ...]] = {}
    for event_id, e in events.items():
        if e.parents is None:
            before = previous.get(event_id)
            preds[event_id] = (before,) if before is not None else ()
            continue
        mine: list[str] = []
        for p in e.parents:
            if p in events:
                if p != event_id and p not in mine:
                    mine.append(p)
            elif p in aliases:
                if aliases[p] != event_id and aliases[p] not in mine:
                    mine.append(aliases[p])
            else:
                awaiting.add(p)
        preds[event_id] = tuple(mine)
    return preds, awaiting, aliases


def causal_order(events: dict[str, FoldEvent], preds: dict[str, tuple[str, ...]]) -> tuple[list[FoldEvent], bool]:
    """The events in causal order with the key as tie-break; and False when a cycle had to be broken."""
    if len(events) == 1:
        return list(events.values()), True
    successors: dict[str, list[str]] = {e: [] for e in events}
    waiting_for = {e: len(p) for e, p in preds.items()}
    for e, ps in preds.items():
        for p in ps:
            successors[p].append(e)
    ready = [(events[e].key, e) for e, n in waiting_for.items() if n == 0]
    heapq.heapify(ready)
    placed: set[str] = set()
    order: list[FoldEvent] = []
    is_regular = True
    while len(order) < len(events):
        if ready:
            _, event_id = heapq.heappop(ready)
        else:  # a cycle: place the smallest-key event left, whatever it waits for
            is_regular = False
            event_id = min((events[e].key, e) for e in events if e not in placed)[1]
        placed.add(event_id)
        order.append(events[event_id])
        for s in successors[event_id]:
            if s not in placed:
                waiting_for[s] -= 1
                if waiting_for[s] == 0:
                    heapq.heappush(ready, (events[s].key, s))
    return order, is_regular


# ---- the fold ------------------------------------------------------------------------------------------------


def fold(events: Iterable[FoldEvent]) -> FoldResult:
    """Fold all the events of one case. A function of the set: order, duplicates (same event_id) and batches do
    not matter. Never raises for a rule an event breaks (that is a conflict)."""
    by_id: dict[str, FoldEvent] = {}
    for e in events:
        known = by_id.get(e.event_id)
        # Duplicates are the same event (the county refuses an event_id sent again with other content); keep one
        # by what names it, never by comparing its data.
        if known is None or (e.agent_id, e.seq, e.key) < (known.agent_id, known.seq, known.key):
            by_id[e.event_id] = e
    preds, awaiting, aliases = _predecessors(by_id)
    order, is_regular = causal_order(by_id, preds)
    if len(order) == 1:
        heads, last_key = list(by_id), order[0].key
    else:
        followed: set[str] = set()
        for ps in preds.values():
            followed.update(ps)
        heads = sorted(e for e in by_id if e not in followed)
        last_key = max(e.key for e in order) if order else ""
    meta = CaseMeta(heads=heads, last_key=last_key, tails=_tails(by_id.values()),
                    awaiting=sorted(awaiting) if awaiting else [], aliases=dict(sorted(aliases.items())) if aliases
                    else {}, count=len(by_id), is_regular=is_regular)
    start = 0 if order and order[0].kind is _ACCEPTED else next(
        (i for i, e in enumerate(order) if e.kind is _ACCEPTED), None)
    if start is None:
        return FoldResult(None, [], [], meta)
    first = order[start]
    case = apply_event(None, first.case_id, first.kind, first.data, first.at)
    applied = [first]
    conflicts: list[Conflict] = []
    for e in order[1:] if start == 0 else [*order[:start], *order[start + 1:]]:
        case, lost = _apply(case, e)
        if lost is None:
            applied.append(e)
        else:
            conflicts.append(_conflict(e, lost, applied, preds, awaiting))
    if conflicts:
        conflicts = _settle(conflicts, applied)
    _finish(meta, applied, conflicts)
    return FoldResult(case, [e.event_id for e in applied], conflicts, meta)


def _apply(case: Case, e: FoldEvent) -> tuple[Case, IllegalTransition | None]:
    if e.agent_id[:9] != case.org_code[:9]:
        return case, IllegalTransition("wrong_township", "该办件属于其他乡镇,本机的操作不能用于它")
    try:
        return apply_event(case, e.case_id, e.kind, e.data, e.at, e.event_id), None
    except IllegalTransition as error:
        return case, error


def _conflict(e: FoldEvent, error: IllegalTransition, applied: Sequence[FoldEvent], preds: dict[str, tuple[str, ...]],
              awaiting: set[str]) -> Conflict:
    # What it lost to: the last applied event its author had not seen. An event that names a parent the folder does
    # not have (a refused one) may have followed anything: it lost to no event in particular.
    lost_to = None
    if not (e.parents and awaiting.intersection(e.parents)):
        seen = _ancestors(e.event_id, preds)
        lost_to = next((a for a in reversed(applied) if a.event_id not in seen and a.kind is not _SETTLED),
                       None)
    return Conflict(
        event_id=e.event_id, case_id=e.case_id, agent_id=e.agent_id, seq=e.seq, kind=e.kind.value, code=error.code,
        message=error.message, at=e.at,
        lost_to=lost_to.event_id if lost_to else None, lost_to_agent_id=lost_to.agent_id if lost_to else None,
        lost_to_kind=lost_to.kind.value if lost_to else None, lost_to_at=lost_to.at if lost_to else None)


def _ancestors(event_id: str, preds: dict[str, tuple[str, ...]]) -> set[str]:
    seen: set[str] = set()
    stack = list(preds.get(event_id, ()))
    while stack:
        p = stack.pop()
        if p not in seen:
            seen.add(p)
            stack.extend(preds.get(p, ()))
    return seen


def _settle(conflicts: list[Conflict], applied: Sequence[FoldEvent]) -> list[Conflict]:
    """Each conflict settled by the first applied `settled` event that names it."""
    if not conflicts:
        return conflicts
    settling: dict[str, FoldEvent] = {}
    for e in applied:
        if e.kind is _SETTLED and isinstance(e.data, SettledData):
            settling.setdefault(e.data.event_id, e)
    out = []
    for c in conflicts:
        s = settling.get(c.event_id)
        if s is not None:
            assert isinstance(s.data, SettledData)
            c = msgspec.structs.replace(c, settled_by=s.event_id, outcome=s.data.outcome.value,
                                        redo_event_id=s.data.redo_event_id)
        out.append(c)
    return out


def _tails(events: Iterable[FoldEvent]) -> dict[str, list[int | str]]:
    tails: dict[str, list[int | str]] = {}
    for e in events:
        tail = tails.get(e.agent_id)
        if tail is None or (e.seq, e.event_id) > (tail[0], tail[1]):
            tails[e.agent_id] = [e.seq, e.event_id]
    return tails if len(tails) == 1 else dict(sorted(tails.items()))  # canonical: stored and compared as JSON


def _finish(meta: CaseMeta, applied: Sequence[FoldEvent], conflicts: Sequence[Conflict]) -> None:
    meta.accepted_by = applied[0].agent_id
    last = applied[-1]
    if last.kind is _SETTLED:
        last = next((e for e in reversed(applied) if e.kind is not _SETTLED), applied[0])
    meta.last_by, meta.last_event_id = last.agent_id, last.event_id
    if conflicts:
        meta.conflicts = len(conflicts)
        meta.open_conflicts = sum(c.is_open for c in conflicts)


# ---- one more event, without a refold ------------------------------------------------------------------------


def can_append(meta: CaseMeta, e: FoldEvent) -> bool:
    """Whether `append` of `e` gives exactly what `fold` of all the case's events and `e` gives: `e` comes last in
    the order and no event of the case waits for it. True for an event made on the latest state (it names every
    head), or one whose key is the greatest; False when an event of the case names it or follows it in its agent's
    seq order, when it replaces a refused event, when it names an event `meta` cannot place (an older one: its
    author had not seen the latest state), or after a broken cycle."""
    if not meta.is_regular or meta.count == 0 or e.replaces is not None or e.event_id in meta.awaiting:
        return False
    tails = meta.tails
    tail = tails.get(e.agent_id)
    if tail is not None and (e.seq, e.event_id) < (tail[0], tail[1]):
        return False  # a later event of its agent follows it (protocol 1)
    if e.parents is None:  # it follows its agent's previous event
        return e.key > meta.last_key or meta.heads == ([] if tail is None else [tail[1]])
    heads, aliases, awaiting = meta.heads, meta.aliases, meta.awaiting
    named: set[str] = set()
    for p in e.parents:
        if p in heads or p in awaiting:
            named.add(p)
        elif p in aliases:
            named.add(aliases[p])
        elif not any(t[1] == p for t in tails.values()):
            return False  # an event of the case the meta cannot place, or not one of its at all: refold
        else:
            named.add(p)
    return e.key > meta.last_key or named.issuperset(heads)


def append(state: FoldResult, e: FoldEvent) -> FoldResult | None:
    """`fold` of the case's events plus `e`, from the fold of the case's events alone (`state`); None when that
    needs a refold: `can_append` is False, the case has no `accepted` yet, or `e` is a conflict (who it lost to
    needs the whole graph; conflicts are rare). A duplicate of an event already folded is not detected here: the
    caller takes those out."""
    old = state.meta
    if state.case is None or not can_append(old, e):
        return None
    case, lost = _apply(state.case, e)
    if lost is not None:
        return None
    tails = old.tails
    tail = tails.get(e.agent_id)
    if tail is None or (e.seq, e.event_id) > (tail[0], tail[1]):
        tails = {**tails, e.agent_id: [e.seq, e.event_id]}
        if tail is None and len(tails) > 1:
            tails = dict(sorted(tails.items()))
    if e.parents is None:
        heads = [h for h in old.heads if tail is None or h != tail[1]]
    else:
        aliases = old.aliases
        preds = {aliases.get(p, p) for p in e.parents}
        heads = [h for h in old.heads if h not in preds]
    heads.append(e.event_id)
    heads.sort()
    conflicts = state.conflicts
    meta = msgspec.structs.replace(old, heads=heads, last_key=e.key if e.key > old.last_key else old.last_key,
                                   tails=tails, count=old.count + 1)
    if e.kind is _SETTLED:
        conflicts = [_settled(c, e) for c in conflicts]
        meta.open_conflicts = sum(c.is_open for c in conflicts)
    else:
        meta.last_by, meta.last_event_id = e.agent_id, e.event_id
    return FoldResult(case, [*state.applied, e.event_id], conflicts, meta)


def _settled(c: Conflict, e: FoldEvent) -> Conflict:
    assert isinstance(e.data, SettledData)
    if c.event_id != e.data.event_id or c.settled_by is not None:
        return c
    return msgspec.structs.replace(c, settled_by=e.event_id, outcome=e.data.outcome.value,
                                   redo_event_id=e.data.redo_event_id)


# ---- agreement -----------------------------------------------------------------------------------------------

DIGEST_BITS = 40  # per case; a township's digest sums them, so 2^23 cases fit in 63 bits


def case_digest(case: Case, conflicts: Sequence[Conflict], *, encoded: bytes | None = None) -> int:
    """A number that changes with the case's state and its conflicts (open or settled), in whatever order they are
    listed: equal on two sides that folded the same events. Summed over a township's cases it is the township digest
    (`township_digest`). `encoded`: the case as `msgspec.json.encode` gives it, when the caller has it already."""
    body = encoded if encoded is not None else msgspec.json.encode(case)
    if conflicts:
        body += msgspec.json.encode(sorted((c.event_id, c.settled_by or "") for c in conflicts))
    return int.from_bytes(hashlib.blake2b(body, digest_size=5).digest(), "big")


def township_digest(cases: int, total: int) -> str:
    """The township digest as both sides print it: how many cases, and the sum of their `case_digest`s."""
    return f"{cases}-{total:016x}"
