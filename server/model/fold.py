"""Folding: a case's events become its current state; pure.

Events are applied in one deterministic order, `order_key` = (corrected time, agent_id, seq), so the result is a
function of the set of events whatever order they arrived in. An event that is illegal at its place in that order
(e.g. a second rating) is skipped and counted, never fatal: the agent already accepted it from staff, and refusing
it later would stall the agent's queue.

Two choices make the fold robust to PC clocks:
- The case starts at its first `accepted` event even when another of its events sorts earlier (a PC whose measured
  offset changed between two actions can put 办结 a few seconds "before" 受理); those are applied after it.
- Events from an agent of another township are skipped: a case belongs to the township that accepted it. (Events
  of a case that exists are refused at push time; this covers events that arrived before the case's `accepted`.)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from protocol.causal import china_millis
from protocol.lifecycle import Case, IllegalTransition, apply_event
from protocol.messages import Strict
from protocol.vocabulary import EventKind


class FoldEvent(NamedTuple):
    order_key: str
    agent_id: str
    case_id: str
    kind: EventKind
    data: Strict
    at: str  # corrected time as `apply_event` takes it: China time, to the second


def order_key(at: str, offset_ms: int, agent_id: str, seq: int) -> tuple[str, str]:
    """The sort key of an event as one string (sorts like the tuple), and its corrected time as `apply_event`
    takes it.

    The time part is fixed-width ISO with milliseconds in +08:00, so string order is time order.
    """
    stamp = china_millis(at, offset_ms)
    return f"{stamp}|{agent_id}|{seq:012d}", stamp[:19] + "+08:00"


_CHINA = "+08:00"

# The plausibility window of an event's corrected time (`order_key`), around the server's clock. Earlier: a PC that
# stayed offline for years is still within it, a clock at 1970 or 2000 is not (its offset corrects it back, unless
# the clock moved after the offset was measured). Later: a day covers a clock moved forward since the last measure;
# beyond that a case would count on days that have not come. Outside it an event is refused (`implausible_time`).
EVENT_TIME_PAST = timedelta(days=3653)  # 10 years
EVENT_TIME_FUTURE = timedelta(days=1)


def time_window(now: datetime) -> tuple[str, str]:
    """(earliest, latest) corrected event time accepted at `now` (aware), as the text `china_millis` makes: the
    first 29 characters of an `order_key` compare with them as strings."""
    china = now.astimezone(timezone(timedelta(hours=8))).replace(tzinfo=None)
    return ((china - EVENT_TIME_PAST).isoformat(timespec="milliseconds") + _CHINA,
            (china + EVENT_TIME_FUTURE).isoformat(timespec="milliseconds") + _CHINA)


def fold_case(prev: Case | None, events_sorted: Sequence[FoldEvent]) -> tuple[Case | None, int]:
    """Apply `events_sorted` (ascending `order_key`) to `prev`; returns (case, skipped).

    With `prev` None the events must be all of the case's events: the result is None while no `accepted` is among
    them (the case has no row yet; its events wait in storage). Never raises for an illegal transition.
    """
    case = prev
    rest: Sequence[FoldEvent] = events_sorted
    if case is None:
        first: int | None = 0  # the usual order
        if not events_sorted or events_sorted[0].kind is not EventKind.ACCEPTED:
            first = next((i for i, e in enumerate(events_sorted) if e.kind is EventKind.ACCEPTED), None)
        if first is None:
            return None, 0
        e = events_sorted[first]
        case = apply_event(None, e.case_id, e.kind, e.data, e.at)
        rest = [*events_sorted[:first], *events_sorted[first + 1:]]
    township = case.org_code[:9]
    skipped = 0
    for e in rest:
        if e.agent_id[:9] != township:
            skipped += 1
            continue
        try:
            case = apply_event(case, e.case_id, e.kind, e.data, e.at)
        except IllegalTransition:
            skipped += 1
    return case, skipped
