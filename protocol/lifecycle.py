"""The case lifecycle: one pure function that applies an event to a case, used by both sides.

The agent calls `apply_event` before it stores a staff action (an illegal transition becomes a clear error for the
staff member); the server folds every case's events through the same function (an event illegal at its place in the
order is skipped and counted, so the outcome is still a function of the set of events).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import msgspec

from protocol import messages as m
from protocol.vocabulary import BAD_RATINGS, OPEN_STATES, CaseState, EventKind

CHINA_TZ = timezone(timedelta(hours=8))


class IllegalTransition(Exception):
    """The event does not fit the case's current state. `message` is in plain Chinese for staff."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Case(msgspec.Struct):
    """The current state of one case (办件), as both sides keep it."""

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
    due_on: str | None = None  # None: the calendar does not reach the due date yet ("calendar missing")
    supplements: list[list[str | None]] = []  # [requested_on, received_on or None] per 补正
    missing: list[str] = []  # the last one-time notice's list
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

    @property
    def is_on_time(self) -> bool | None:
        """按时办结: completed no later than the due date; None while unknown (open, or no due date)."""
        if self.completed_on is None or self.due_on is None:
            return None
        return self.completed_on <= self.due_on

    @property
    def is_bad_rating(self) -> bool:
        return self.rating is not None and self.rating in BAD_RATINGS


def corrected_at(at: str, offset_ms: int) -> datetime:
    """The event time on the server's clock, in China time: the PC's time minus its measured offset."""
    local = datetime.fromisoformat(at)
    return (local - timedelta(milliseconds=offset_ms)).astimezone(CHINA_TZ)


def china_seconds(when: datetime) -> str:
    """`when` as `apply_event` takes it: China time, ISO 8601 to the second (2026-03-02T09:00:00+08:00)."""
    return when.astimezone(CHINA_TZ).isoformat(timespec="seconds")


def apply_event(case: Case | None, case_id: str, kind: EventKind, data: m.Strict, at: str) -> Case:
    """Return the case after `kind` happened at `at` (the corrected time: `china_seconds`). Raises
    `IllegalTransition`; never mutates."""
    day = at[:10]  # the date in China time
    if kind is EventKind.ACCEPTED:
        if case is not None:
            raise IllegalTransition("already_accepted", "该办件已受理,不能重复受理")
        assert isinstance(data, m.AcceptedData)
        return Case(
            case_id=case_id,
            case_no=data.case_no,
            org_code=data.org_code,
            village_code=data.village_code,
            item_code=data.item_code,
            channel=data.channel.value,
            applicant_name=data.applicant_name,
            cert_type=data.cert_type,
            cert_no=data.cert_no,
            phone=data.phone,
            promised_days=data.promised_days,
            due_on=data.due_on,
            trips=data.trips,
            staff=data.staff,
            accepted_at=at,
            accepted_on=day,
            last_at=at,
        )
    if case is None:
        raise IllegalTransition("unknown_case", "没有找到该办件,请先受理")
    state = CaseState(case.state)
    changes: dict[str, object] = {"last_at": max(case.last_at, at)}
    if kind is EventKind.UPDATED:
        assert isinstance(data, m.UpdatedData)
        for field in data.__struct_fields__:
            value = getattr(data, field)
            if value is not None:
                changes[field] = value.value if field == "channel" else value
    elif kind is EventKind.SUPPLEMENT_REQUESTED:
        assert isinstance(data, m.SupplementRequestedData)
        _require(state is CaseState.IN_PROGRESS, "not_in_progress", "只有办理中的办件可以要求补正")
        changes.update(state=CaseState.SUSPENDED.value, missing=list(data.missing),
                       supplements=[*case.supplements, [day, None]])
    elif kind is EventKind.SUPPLEMENT_RECEIVED:
        assert isinstance(data, m.SupplementReceivedData)
        _require(state is CaseState.SUSPENDED, "not_suspended", "该办件没有等待补正材料")
        supplements = [list(s) for s in case.supplements]
        supplements[-1][1] = day
        changes.update(state=CaseState.IN_PROGRESS.value, supplements=supplements, due_on=data.due_on,
                       trips=case.trips + data.trips)
    elif kind is EventKind.COMPLETED:
        assert isinstance(data, m.CompletedData)
        _require(state is CaseState.IN_PROGRESS, "not_in_progress",
                 "只有办理中的办件可以办结" + ("(该办件正在等待补正材料)" if state is CaseState.SUSPENDED else ""))
        changes.update(state=CaseState.COMPLETED.value, completed_at=at, completed_on=day,
                       result=data.result.value, note=data.note, trips=case.trips + data.trips)
    elif kind in (EventKind.REJECTED, EventKind.WITHDRAWN):
        assert isinstance(data, m.RejectedData | m.WithdrawnData)
        verb = "不予受理" if kind is EventKind.REJECTED else "撤回"
        _require(state in OPEN_STATES, "closed", f"已办结、已撤回或不予受理的办件不能{verb}")
        new_state = CaseState.REJECTED if kind is EventKind.REJECTED else CaseState.WITHDRAWN
        changes.update(state=new_state.value, closed_on=day, reason=data.reason)
    elif kind is EventKind.EVALUATED:
        assert isinstance(data, m.EvaluatedData)
        _require(state is CaseState.COMPLETED, "not_completed", "办结之后才能评价")
        _require(case.rating is None, "already_rated", "每个办件只能评价一次(一事一评)")
        changes.update(rating=data.rating, rated_on=day, comment=data.comment)
    elif kind is EventKind.FOLLOWED_UP:
        _require(case.is_bad_rating, "not_bad_rating", "只有差评需要回访")
        _require(case.followed_up_on is None, "already_followed_up", "该差评已回访")
        changes.update(followed_up_on=day)
    else:
        raise IllegalTransition("not_a_case_event", f"{kind} 不是办件事件")
    return msgspec.structs.replace(case, **changes)


def _require(condition: bool, code: str, message: str) -> None:
    if not condition:
        raise IllegalTransition(code, message)
