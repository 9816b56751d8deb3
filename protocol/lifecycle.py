"""The case lifecycle: one pure function that applies an event to a case, used by both sides.

The agent calls `apply_event` before it stores a staff action (an illegal transition becomes a clear error for the
staff member); both sides fold a case's events through it in the causal order of `protocol.causal` (an event illegal
at its place in that order is a conflict, so the outcome is still a function of the set of events).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import msgspec

from protocol import corrections
from protocol import messages as m
from protocol.vocabulary import (
    BAD_RATINGS,
    OPEN_STATES,
    RATING_CHANNEL_LABELS,
    RATING_STEP_LABELS,
    STEPS_AFTER_COMPLETION,
    CaseState,
    EventKind,
)

CHINA_TZ = timezone(timedelta(hours=8))
_ACCEPTED = EventKind.ACCEPTED  # read once: an enum member lookup costs on every access (Python 3.11)
_EVALUATED = EventKind.EVALUATED


class IllegalTransition(Exception):
    """The event does not fit the case's current state. `message` is in plain Chinese for staff."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Rating(msgspec.Struct, omit_defaults=True):
    """One rating of a case as the resident gave it (好差评): `id` is its `evaluated` event's id."""

    id: str
    rating: int  # 5 非常满意 .. 1 非常不满意
    on: str  # the rating day, China time
    step: str = "case"  # `vocabulary.RatingStep`
    channel: str = "window"  # `vocabulary.RatingChannel`
    entered_by: str = "staff"  # `vocabulary.EnteredBy`
    comment: str | None = None
    follow_up_due: str | None = None  # a bad rating's last day for its follow-up (回访)
    followed_up_on: str | None = None

    @property
    def is_bad(self) -> bool:
        return self.rating in BAD_RATINGS

    @property
    def is_pending(self) -> bool:
        """A bad rating still waiting for its follow-up."""
        return self.rating in BAD_RATINGS and self.followed_up_on is None


class Case(msgspec.Struct):
    """The current state of one case (办件), as both sides keep it.

    Ratings: `ratings` holds every rating in the order applied. `rating`, `rated_on`, `comment` and `followed_up_on`
    summarise them for lists and indexes: the lowest level given, the first rating day (the day the case counts as
    rated), the last comment, and the last follow-up day once no bad rating waits (None while one does)."""

    case_id: str
    case_no: str
    org_code: str
    item_code: str
    channel: str
    applicant_name: str
    cert_type: str
    cert_no: str
    promised_days: int
    accepted_at: str
    accepted_on: str
    state: str = CaseState.IN_PROGRESS
    village_code: str | None = None
    phone: str | None = None
    staff: str | None = None
    item_version: str | None = None  # the catalog version of the item it was accepted under
    due_on: str | None = None  # None: the calendar does not reach the due date yet ("calendar missing")
    supplements: list[list[str | None]] = []  # [requested_on, received_on or None] per 补正
    missing: list[str] = []  # the last one-time notice's list
    supplement_note: str | None = None  # the last one-time notice's note
    trips: int = 1
    completed_at: str | None = None
    completed_on: str | None = None
    result: str | None = None
    note: str | None = None
    closed_on: str | None = None  # rejected or withdrawn on
    reason: str | None = None
    rating: int | None = None
    rated_on: str | None = None
    comment: str | None = None
    followed_up_on: str | None = None
    last_at: str = ""  # corrected time of the last applied event
    ratings: list[Rating] = []

    @property
    def is_on_time(self) -> bool | None:
        """按时办结: completed no later than the due date; None while unknown (open, or no due date)."""
        if self.completed_on is None or self.due_on is None:
            return None
        return self.completed_on <= self.due_on

    @property
    def is_bad_rating(self) -> bool:
        return self.rating is not None and self.rating in BAD_RATINGS


def ratings_of(case: Case) -> list[Rating]:
    """The case's ratings; a case stored before ratings per step (not refolded yet) has its one rating in the summary
    fields: of the whole case, entered by staff, at the window."""
    if case.ratings or case.rating is None or case.rated_on is None:
        return case.ratings
    return [Rating(id="", rating=case.rating, on=case.rated_on, comment=case.comment,
                   followed_up_on=case.followed_up_on if case.rating in BAD_RATINGS else None)]


def corrected_at(at: str, offset_ms: int) -> datetime:
    """The event time on the server's clock, in China time: the PC's time minus its measured offset."""
    local = datetime.fromisoformat(at)
    return (local - timedelta(milliseconds=offset_ms)).astimezone(CHINA_TZ)


def china_seconds(when: datetime) -> str:
    """`when` as `apply_event` takes it: China time, ISO 8601 to the second (2026-03-02T09:00:00+08:00)."""
    return when.astimezone(CHINA_TZ).isoformat(timespec="seconds")


def apply_event(case: Case | None, case_id: str, kind: EventKind, data: m.Strict, at: str, event_id: str = "") -> Case:
    """Return the case after `kind` happened at `at` (the corrected time: `china_seconds`). `event_id` names the
    rating an `evaluated` event adds. Raises `IllegalTransition`; never mutates."""
    day = at[:10]  # the date in China time
    if kind is _ACCEPTED:
        if case is not None:
            raise IllegalTransition("already_accepted", "该办件已受理,不能重复受理")
        assert isinstance(data, m.AcceptedData)
        return Case(
            case_id=case_id,
            case_no=data.case_no,
            org_code=data.org_code,
            village_code=data.village_code,
            item_code=data.item_code,
            channel=str(data.channel),
            applicant_name=data.applicant_name,
            cert_type=data.cert_type,
            cert_no=data.cert_no,
            phone=data.phone,
            promised_days=data.promised_days,
            due_on=data.due_on,
            trips=data.trips,
            staff=data.staff,
            item_version=data.item_version,
            accepted_at=at,
            accepted_on=day,
            last_at=at,
        )
    if case is None:
        raise IllegalTransition("unknown_case", "没有找到该办件,请先受理")
    if kind is _EVALUATED:
        return _evaluated(case, data, at if at > case.last_at else case.last_at, day, event_id)
    step = _STEPS.get(kind)
    if step is None:
        raise IllegalTransition("not_a_case_event", f"{kind} 不是办件事件")
    return step(case, data, at if at > case.last_at else case.last_at, at, day)


# One step per kind of event on an accepted case: (case, data, last_at, at, day) -> the case after it.
Step = Callable[[Case, m.Strict, str, str, str], Case]
_IN_PROGRESS, _SUSPENDED, _COMPLETED = CaseState.IN_PROGRESS.value, CaseState.SUSPENDED.value, CaseState.COMPLETED.value


def _updated(case: Case, data: m.Strict, last_at: str, at: str, day: str) -> Case:
    assert isinstance(data, m.UpdatedData)
    # A closed or rated case counts in figures: it changes only by a correction, with its reason (and grant).
    _require(not corrections.is_settled(case), "correction_required",
             "该办件已办结、不予受理、撤回或已评价，不能直接修改：请用「更正」并写明原因")
    changes: dict[str, object] = {"last_at": last_at}
    if data.item_code is not None and data.item_code != case.item_code:
        changes["item_version"] = None  # another item: its version, when given, follows (older agents give none)
    for field in data.__struct_fields__:
        value = getattr(data, field)
        if value is not None:
            changes[field] = value.value if field == "channel" else value
    return msgspec.structs.replace(case, **changes)


def _corrected(case: Case, data: m.Strict, last_at: str, at: str, day: str) -> Case:
    assert isinstance(data, m.CorrectedData)
    changes = corrections.changes_of(data)
    _require(bool(changes), "empty_correction", "这次更正没有修改任何字段")
    blocked = corrections.needs_grant(case, changes)
    if blocked and data.grant is None:
        raise IllegalTransition("correction_needs_grant", corrections.needs_grant_message(blocked))
    return msgspec.structs.replace(case, last_at=last_at, **changes)


def _supplement_requested(case: Case, data: m.Strict, last_at: str, at: str, day: str) -> Case:
    assert isinstance(data, m.SupplementRequestedData)
    _require(case.state == _IN_PROGRESS, "not_in_progress", "只有办理中的办件可以要求补正")
    return msgspec.structs.replace(case, last_at=last_at, state=_SUSPENDED, missing=list(data.missing),
                                   supplement_note=data.note, supplements=[*case.supplements, [day, None]])


def _supplement_received(case: Case, data: m.Strict, last_at: str, at: str, day: str) -> Case:
    assert isinstance(data, m.SupplementReceivedData)
    _require(case.state == _SUSPENDED, "not_suspended", "该办件没有等待补正材料")
    supplements = [list(s) for s in case.supplements]
    supplements[-1][1] = day
    return msgspec.structs.replace(case, last_at=last_at, state=_IN_PROGRESS, supplements=supplements,
                                   due_on=data.due_on, trips=case.trips + data.trips)


def _completed(case: Case, data: m.Strict, last_at: str, at: str, day: str) -> Case:
    assert isinstance(data, m.CompletedData)
    if case.state != _IN_PROGRESS:
        raise IllegalTransition("not_in_progress", "只有办理中的办件可以办结"
                                + ("(该办件正在等待补正材料)" if case.state == _SUSPENDED else ""))
    return msgspec.structs.replace(case, last_at=last_at, state=_COMPLETED, completed_at=at, completed_on=day,
                                   result=str(data.result), note=data.note, trips=case.trips + data.trips)


def _closed(new_state: CaseState, verb: str) -> Step:
    def step(case: Case, data: m.Strict, last_at: str, at: str, day: str) -> Case:
        assert isinstance(data, m.RejectedData | m.WithdrawnData)
        _require(case.state in OPEN_STATES, "closed", f"已办结、已撤回或不予受理的办件不能{verb}")
        return msgspec.structs.replace(case, last_at=last_at, state=new_state.value, closed_on=day,
                                       reason=data.reason)
    return step


_STEP_NAMES, _CHANNEL_NAMES = RATING_STEP_LABELS, RATING_CHANNEL_LABELS


def _evaluated(case: Case, data: m.Strict, last_at: str, day: str, event_id: str) -> Case:
    """One more rating: of a step (接件 and 受理 any time after acceptance; 办结 and the whole case once completed), at
    most one per step and channel (一次一评: one per occasion and way of rating)."""
    assert isinstance(data, m.EvaluatedData)
    step, channel = data.step.value, data.channel.value
    if data.step in STEPS_AFTER_COMPLETION:
        _require(case.state == _COMPLETED, "not_completed", "办结之后才能评价"
                 + ("" if data.step.value == "case" else "办结环节"))
    if any(r.step == step and r.channel == channel for r in case.ratings):
        raise IllegalTransition("already_rated", f"该办件已通过{_CHANNEL_NAMES[channel]}评价过(一事一评)"
                                if step == "case" else
                                f"该办件的{_STEP_NAMES[step]}环节已通过{_CHANNEL_NAMES[channel]}评价过(一次一评)")
    rating = Rating(id=event_id, rating=data.rating, on=day, step=step, channel=channel,
                    entered_by=data.entered_by.value, comment=data.comment,
                    follow_up_due=data.follow_up_due if data.rating in BAD_RATINGS else None)
    return _with_ratings(msgspec.structs.replace(case, last_at=last_at), [*case.ratings, rating])


def _followed_up(case: Case, data: m.Strict, last_at: str, at: str, day: str) -> Case:
    assert isinstance(data, m.FollowedUpData)
    ratings = case.ratings
    if data.rating_id is None:  # an older agent: the earliest bad rating still waiting
        _require(any(r.is_bad for r in ratings), "not_bad_rating", "只有差评需要回访")
        index = next((i for i, r in enumerate(ratings) if r.is_pending), -1)
        _require(index >= 0, "already_followed_up", "该差评已回访")
    else:
        index = next((i for i, r in enumerate(ratings) if r.id == data.rating_id), -1)
        _require(index >= 0, "unknown_rating", "没有找到要回访的评价")
        _require(ratings[index].is_bad, "not_bad_rating", "只有差评需要回访")
        _require(ratings[index].followed_up_on is None, "already_followed_up", "该差评已回访")
    done = [*ratings]
    done[index] = msgspec.structs.replace(ratings[index], followed_up_on=day)
    return _with_ratings(msgspec.structs.replace(case, last_at=last_at), done)


def _with_ratings(case: Case, ratings: list[Rating]) -> Case:
    """The case with `ratings` and their summary fields (see `Case`)."""
    follow_ups = [r.followed_up_on for r in ratings if r.followed_up_on is not None]
    pending = any(r.is_pending for r in ratings)
    return msgspec.structs.replace(
        case, ratings=ratings, rating=min(r.rating for r in ratings), rated_on=ratings[0].on,
        comment=next((r.comment for r in reversed(ratings) if r.comment), None),
        followed_up_on=max(follow_ups) if follow_ups and not pending else None)


def _settled(case: Case, data: m.Strict, last_at: str, at: str, day: str) -> Case:
    return case  # marks a conflict settled (`protocol.causal`); the case itself does not change


_STEPS: dict[EventKind, Step] = {
    EventKind.UPDATED: _updated,
    EventKind.CORRECTED: _corrected,
    EventKind.SUPPLEMENT_REQUESTED: _supplement_requested,
    EventKind.SUPPLEMENT_RECEIVED: _supplement_received,
    EventKind.COMPLETED: _completed,
    EventKind.REJECTED: _closed(CaseState.REJECTED, "不予受理"),
    EventKind.WITHDRAWN: _closed(CaseState.WITHDRAWN, "撤回"),
    EventKind.FOLLOWED_UP: _followed_up,
    EventKind.SETTLED: _settled,
}


def _require(condition: bool, code: str, message: str) -> None:
    if not condition:
        raise IllegalTransition(code, message)
