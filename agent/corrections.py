"""Correcting a quarantined event: staff fix what the county refused, and the event is sent again.

The corrected event keeps the refused one's case_id, kind, `at`, `offset_ms` and `parents` (the action happened then,
on that state; only its data was wrong), names the refused one in `replaces`, and gets a new event_id and the next
seq. The refused event is marked resent and never sent again. In the causal order the correction takes the refused
event's place: events made after it that named it follow the correction (`protocol.causal`), so the case is folded
as the county will fold it.

Accepted and consulted events go through the same checks as a new entry (`cases.accept`, `consultations.consult`),
so a correction is held to the rules of the form; their derived fields (case number, promised days, due date) are
computed again, never typed. Pure: the service reads and writes around it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import msgspec

from agent import cases, consultations
from agent.errors import InvalidInput
from agent.explain import invalid_input
from agent.records import Consultation, OutboxEvent, StoredEvent
from agent.reference import Reference
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
        return in_place_of(event, old), None
    if kind is EventKind.CONSULTED:
        form = {k: merged[k] for k in allowed if k in merged}
        row, event = consultations.consult(form, ref, consultation_id=old.case_id, stamp=stamp)
        return in_place_of(event, old), row
    try:
        data = decode_event_data(kind, merged)
    except msgspec.ValidationError as e:
        raise invalid_input(e) from None
    return cases.event_for(old.case_id, kind, data, stamp, parents=old.parents, replaces=old.event_id), None


def in_place_of(event: OutboxEvent, old: StoredEvent) -> OutboxEvent:
    """`event` (made by `cases.accept` or `consultations.consult`) as the correction of `old`."""
    return replace(event, parents=old.parents, replaces=old.event_id)
