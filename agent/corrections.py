"""Correcting a quarantined event: staff fix what the county refused, and the event is sent again.

The corrected event keeps the refused one's case_id, kind, `at` and `offset_ms` (the action happened then; only its
data was wrong) and gets a new event_id and the next seq. The refused event is marked resent and never sent again.
The local case row is rebuilt by replaying the case's events in their original order with the correction in the
refused event's place, so the page shows the case as the county will fold it. Dismissed and resent events are left
out of the replay: the county never stored them.

Accepted and consulted events go through the same checks as a new entry (`cases.accept`, `consultations.consult`),
so a correction is held to the rules of the form; their derived fields (case number, promised days, due date) are
computed again, never typed. Pure: the service reads and writes around it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from agent import cases, consultations
from agent.errors import InvalidInput
from agent.explain import invalid_input
from agent.records import Consultation, OutboxEvent, StoredEvent
from agent.reference import Reference
from protocol.lifecycle import Case, IllegalTransition, apply_event, china_seconds, corrected_at
from protocol.messages import DATA_TYPES, decode_event_data
from protocol.vocabulary import EventKind

# Derived by the agent, never corrected by hand.
_DERIVED = frozenset({"case_no", "promised_days", "due_on"})


def editable_fields(kind: EventKind) -> tuple[str, ...]:
    if kind is EventKind.ACCEPTED:
        return cases.ACCEPT_FIELDS
    if kind is EventKind.CONSULTED:
        return consultations.FIELDS
    return tuple(f for f in DATA_TYPES[kind].__struct_fields__ if f not in _DERIVED)


def corrected(old: StoredEvent, changes: dict[str, Any], ref: Reference,
              stamp: cases.Stamp) -> tuple[OutboxEvent, Consultation | None]:
    """The corrected copy of `old`: its data with `changes` applied, checked like a new entry.

    A change to None removes an optional field. Raises InvalidInput naming the fields at fault. `stamp` must carry a
    new event_id and the old event's time and offset.
    """
    kind = EventKind(old.kind)
    if not isinstance(changes, dict):
        raise InvalidInput("更正内容应为 JSON 对象")
    allowed = editable_fields(kind)
    fixed = set(changes) - set(allowed)
    if fixed:
        raise InvalidInput("这些字段不能更正: " + ", ".join(sorted(fixed)), {f: "不能更正此字段" for f in fixed})
    merged = {k: v for k, v in {**old.data, **changes}.items() if v is not None}
    if kind is EventKind.ACCEPTED:
        form = {k: merged[k] for k in allowed if k in merged}
        _, event = cases.accept(form, ref, case_id=old.case_id, case_no=old.data["case_no"], stamp=stamp)
        return event, None
    if kind is EventKind.CONSULTED:
        form = {k: merged[k] for k in allowed if k in merged}
        row, event = consultations.consult(form, ref, consultation_id=old.case_id, stamp=stamp)
        return event, row
    try:
        data = decode_event_data(kind, merged)
    except msgspec.ValidationError as e:
        raise invalid_input(e) from None
    return cases.event_for(old.case_id, kind, data, stamp), None


def replay(history: list[StoredEvent], replaced: str, by: OutboxEvent) -> Case | None:
    """The case after its events in seq order, with event `replaced` swapped for `by`. None for a consultation.

    Raises InvalidInput when the correction makes a later action of the case illegal.
    """
    case: Case | None = None
    for e in history:
        if e.status in ("dismissed", "resent"):
            continue
        kind, data, at, offset_ms = EventKind(e.kind), e.data, e.at, e.offset_ms
        if e.event_id == replaced:
            kind, data, at, offset_ms = EventKind(by.kind), msgspec.json.decode(by.data), by.at, by.offset_ms
        if kind is EventKind.CONSULTED:
            return None
        try:
            case = apply_event(case, by.case_id, kind, decode_event_data(kind, data),
                               china_seconds(corrected_at(at, offset_ms)))
        except IllegalTransition as error:
            raise InvalidInput(f"更正后,该办件之后的操作不再成立: {error.message}") from None
    return case
