"""Today's work (今日工作): which open cases need attention, by the county's working-day calendar. Pure.

One flag per open case, in the order the page lists them:

- `overdue` (已超期): the due date has passed. So has a case whose supplement was requested after its due date had
  passed: the pause cannot move a passed due date (protocol/workdays.py).
- `due_today` (今日到期).
- `due_soon` (两个工作日内到期): due on one of the next `DUE_SOON_WORKING_DAYS` working days after today.
- None: on track.
- `paused` (补正中): the clock is stopped until the supplement materials arrive.
- `calendar_missing` (日历缺失): no due date yet, because the county's calendar does not reach it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from enum import StrEnum

from protocol.lifecycle import Case
from protocol.vocabulary import CaseState
from protocol.workdays import CalendarMissing, WorkCalendar, working_days_between

DUE_SOON_WORKING_DAYS = 2  # issue 3: "due within 2 working days"


class Flag(StrEnum):
    OVERDUE = "overdue"
    DUE_TODAY = "due_today"
    DUE_SOON = "due_soon"
    PAUSED = "paused"
    CALENDAR_MISSING = "calendar_missing"


_RANK: dict[Flag | None, int] = {Flag.OVERDUE: 0, Flag.DUE_TODAY: 1, Flag.DUE_SOON: 2, None: 3, Flag.PAUSED: 4,
                                 Flag.CALENDAR_MISSING: 5}


def flag_of(case: Case, today: date, calendar: WorkCalendar | None) -> Flag | None:
    """The flag of one open case on `today`. Closed cases get None."""
    if case.state == CaseState.SUSPENDED:
        requested_on = case.supplements[-1][0] if case.supplements else None
        if case.due_on is not None and requested_on is not None and requested_on > case.due_on:
            return Flag.OVERDUE
        return Flag.PAUSED
    if case.state != CaseState.IN_PROGRESS:
        return None
    if case.due_on is None:
        return Flag.CALENDAR_MISSING
    due = date.fromisoformat(case.due_on)
    if due < today:
        return Flag.OVERDUE
    if due == today:
        return Flag.DUE_TODAY
    if calendar is None:
        return None
    try:
        left = working_days_between(calendar, today, due)
    except CalendarMissing:  # today or the due date lies outside the calendar: no claim either way
        return None
    return Flag.DUE_SOON if left <= DUE_SOON_WORKING_DAYS else None


def worklist(cases: Iterable[Case], today: date, calendar: WorkCalendar | None) -> list[tuple[Case, Flag | None]]:
    """Open cases with their flags: overdue first, then by due date; paused and calendar-missing cases last."""
    flagged = [(c, flag_of(c, today, calendar)) for c in cases]
    return sorted(flagged, key=lambda cf: (_RANK[cf[1]], cf[0].due_on or "", cf[0].accepted_at))


def counts(flagged: Iterable[tuple[Case, Flag | None]]) -> dict[str, int]:
    """How many cases carry each flag, every flag present (0 when none), plus `open`."""
    tally = Counter(flag for _, flag in flagged)
    return {"open": sum(tally.values())} | {flag.value: tally[flag] for flag in Flag}
