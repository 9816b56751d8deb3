"""The checks of a push that need no database: the body's shape, each event's data per kind, its time, its org
scope and catalog item. They run for any number of batches at once, before the fold (`server.ingest.batch`).

An event that fails a check is refused (with a code of `protocol.codes`), never the batch; only a body that is not
a batch of the pushing agent's is an error (`ApiError`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, NamedTuple

import msgspec

from protocol.causal import FoldEvent, order_key
from protocol.messages import DATA_TYPES, MAX_SEQ, Event, PushRequest, Strict
from protocol.vocabulary import Level
from server.errors import ApiError
from server.model.event_time import time_window
from server.model.reference import Reference
from server.storage.base import AgentRecord, StoredEvent

log = logging.getLogger(__name__)

# An offset beyond this is logged: the PC's clock is badly wrong (times are still corrected by the offset).
SKEW_WARN_MS = 5 * 60 * 1000
# One pass for a well-formed batch, event data left raw until the checks decode it per kind (perf-notes: typed
# decoding is about as fast as untyped; converting 1,000 dicts afterwards was a fifth of the ingest's Python time).
_fast_push = msgspec.json.Decoder(PushRequest[Event[msgspec.Raw]])
_DATA_DECODERS = {kind: msgspec.json.Decoder(t) for kind, t in DATA_TYPES.items()}
# The kinds whose data name org units or catalog items (`scope_problem`).
_SCOPED_KINDS = frozenset(k for k, t in DATA_TYPES.items()
                          if {"org_code", "village_code", "item_code"} & set(t.__struct_fields__))
_encode = msgspec.json.encode

RawEvent = Event[msgspec.Raw] | dict[str, Any]


class Candidate(NamedTuple):
    """An event that passed the checks needing no database: its row, its typed data and its place in the fold."""

    stored: StoredEvent
    data: Strict
    fold: FoldEvent
    event: Event[Any]  # as sent, for a refusal


class Refused(NamedTuple):
    """An event refused, by the checks or the fold: what the answer and the `refused_events` row say."""

    event_id: str | None  # None (or seq None): the event was too malformed to name itself; answered, not stored
    seq: int | None
    code: str
    detail: str
    raw: Any  # the event as sent


class CheckedPush(NamedTuple):
    """A push after the checks: what goes on to the fold, what was refused, and what the agent said of itself."""

    agent: AgentRecord
    candidates: list[Candidate]
    refused: list[Refused]
    software_version: str | None
    pending: int | None
    events: int  # in the push, as sent (the quotas count them)
    body_bytes: int  # the request body after decompression (the quotas count them)
    protocol_version: int = 1
    pull_cursor: str | None = None
    digest_agrees: bool | None = None


def decode_push(agent: AgentRecord, body: bytes) -> PushRequest[Any]:
    """The request body (JSON, decompressed) as a batch of `agent`'s. Raises `ApiError` for a body that is not a
    batch of this agent's; a malformed event is left for `check_push` to refuse alone."""
    batch: PushRequest[Any]
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
    return batch


def check_push(agent: AgentRecord, request: PushRequest[Any], reference: Reference, body_bytes: int = 0
               ) -> CheckedPush:
    """Every event of `request` checked (`request.agent_id` already matched the agent's token)."""
    candidates: list[Candidate] = []
    refused: list[Refused] = []
    agent_id, township = agent.agent_id, agent.township_code
    max_offset = 0
    window = time_window(datetime.now(UTC))
    for raw in request.events:  # once per event: kept lean
        checked = _check_event(raw, agent_id, township, reference, window)
        if isinstance(checked, Refused):
            refused.append(checked)
            continue
        candidates.append(checked)
        offset = checked.stored.offset_ms
        if offset > max_offset or -offset > max_offset:
            max_offset = abs(offset)
    if max_offset > SKEW_WARN_MS:
        log.warning("push clock skew agent_id=%s max_offset_ms=%d", agent_id, max_offset)
    return CheckedPush(agent, candidates, refused, request.software_version, request.pending, len(request.events),
                       body_bytes, request.protocol_version, request.pull_cursor, request.digest_agrees)


def _check_event(raw: RawEvent, agent_id: str, township: str, reference: Reference, window: tuple[str, str]
                 ) -> Candidate | Refused:
    if isinstance(raw, Event):  # the whole batch decoded in one pass; data still raw JSON
        ev, data_json = raw, raw.data
    else:
        try:
            ev = msgspec.convert(raw, Event)
        except msgspec.ValidationError as exc:
            event_id, seq = raw.get("event_id"), raw.get("seq")
            return Refused(event_id if isinstance(event_id, str) else None,
                           seq if type(seq) is int and 1 <= seq <= MAX_SEQ else None, "invalid_event", str(exc), raw)
        data_json = msgspec.Raw(_encode(ev.data))
    kind = ev.kind
    try:
        data = _DATA_DECODERS[kind].decode(data_json)
        key, at = order_key(ev.at, ev.offset_ms, ev.event_id)
    except msgspec.ValidationError as exc:
        return Refused(ev.event_id, ev.seq, "invalid_event", f"{exc} (in `data` of {kind})", raw)
    except (ValueError, OverflowError) as exc:  # OverflowError: the offset moves it past year 1 or 9999
        return Refused(ev.event_id, ev.seq, "invalid_event", f"`at` is not a valid time: {exc}", raw)
    earliest, latest = window
    if not earliest <= key[:29] <= latest:
        return Refused(ev.event_id, ev.seq, "implausible_time",
                       f"the corrected time {key[:29]} is outside {earliest} .. {latest}", raw)
    if kind in _SCOPED_KINDS:
        problem = scope_problem(township, data, reference)
        if problem is not None:
            return Refused(ev.event_id, ev.seq, *problem, raw)
    case_id, parents = ev.case_id, ev.parents
    return Candidate(
        StoredEvent(ev.event_id, agent_id, ev.seq, case_id, kind, ev.at, ev.offset_ms, key, bytes(data_json),
                    None if parents is None else _encode(parents), ev.replaces, ev.staff_id),
        data, FoldEvent(ev.event_id, agent_id, ev.seq, case_id, kind, data, key, at,
                        None if parents is None else tuple(parents), ev.replaces), ev)


def scope_problem(township: str, data: Strict, reference: Reference) -> tuple[str, str] | None:
    """(code, detail) when the data names an org unit outside the agent's township, an unknown unit, a village
    code that is not a village, or an item outside the catalog; None when in scope. A hall's PC (township = the
    first 9 digits of a county's, prefecture's or province's code) handles cases at the hall and takes applicants
    living anywhere in the area the hall serves (`Reference.residence_prefix`)."""
    org_units = reference.org_units
    for field in ("org_code", "village_code"):
        code = getattr(data, field, None)
        if code is None:
            continue
        area = township if field == "org_code" else reference.residence_prefix(township)
        if not code.startswith(area):
            return "wrong_township", f"{field} {code} is outside {'township' if area == township else 'area'} {area}"
        unit = org_units.get(code)
        if unit is None:
            return "unknown_org", f"{field} {code} is not in the county's org units"
        if field == "village_code" and unit.level != Level.VILLAGE:
            return "unknown_org", f"village_code {code} is not a village or community"
    item_code = getattr(data, "item_code", None)
    if item_code is not None and item_code not in reference.items:
        return "unknown_item", f"item_code {item_code} is not in the county's catalog"
    return None
