"""Working-day arithmetic over a calendar given as data (工作日计算).

The county server builds a `WorkCalendar` from the `chinesecalendar` package plus county overrides and sends it to
agents as JSON; agents compute due dates offline from that data alone. Nothing here guesses: a walk that needs a day
outside the years the calendar knows raises `CalendarMissing`, and the case is flagged until the county loads the
next year's schedule (行政许可法 Art. 82: limits count working days, statutory holidays excluded).

A day is a working day when it is a make-up working day (调休), or a Monday–Friday that is not a holiday. The data
is kept canonical: `holidays` holds only weekdays and `workdays` only Saturdays and Sundays, so each day has exactly
one reading and two calendars with the same days off compare (and hash) equal.

Due date (承诺时限 / 法定时限): the N-th working day strictly after the acceptance date; the acceptance day itself is
never counted, even when it is a working day. N = 0 (即办件, instant item) gives the acceptance day itself.

Supplement pauses (补正) follow one rule, applied in order of request date:

* The working days strictly after acceptance, up to and including the day the supplement is requested, are
  consumed: the centre worked the case that day and issued the one-time notice (一次性告知).
* The clock then stops. When the materials arrive, the remaining R working days run exactly as for a case accepted
  on the arrival day: the due date is the R-th working day strictly after `received_on` (local rules restart the
  clock the day after the materials arrive). R = 0 gives the arrival day itself, as for an instant item.
* A request made after the due date has passed does not move it: the case was already overdue. A request made on
  the due date itself still stops the clock (R = 0).
* While the latest supplement is outstanding (`received_on` is None) the due date is unknown:
  `due_date_or_none` returns None and `due_date` raises `CasePaused`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

ONE_DAY = timedelta(days=1)

Pause = tuple[date, date | None]
"""One supplement (补正): (requested_on, received_on), received_on None while the materials are outstanding."""


class CalendarMissing(Exception):
    """The working calendar has no data for `day`; load that year's schedule on the county server."""

    def __init__(self, day: date, first_year: int, last_year: int) -> None:
        self.day = day
        super().__init__(
            f"working calendar has no data for {day.isoformat()} (it knows {first_year}-{last_year}); "
            f"load the {day.year} holiday schedule on the county server"
        )


class CasePaused(Exception):
    """The clock is stopped for a supplement requested on `requested_on` whose materials have not arrived."""

    def __init__(self, requested_on: date) -> None:
        self.requested_on = requested_on
        super().__init__(f"clock stopped: supplement requested on {requested_on.isoformat()} is outstanding")


def _is_weekend(day: date) -> bool:
    return day.weekday() >= 5


@dataclass(frozen=True)
class WorkCalendar:
    """Days off and make-up working days for the inclusive year range `first_year`..`last_year`.

    Construction validates that the data is canonical (holidays on weekdays, workdays on weekends, disjoint, inside
    the known years) and raises ValueError otherwise. Use `with_overrides` / `with_year` to change the data.
    """

    version: str
    first_year: int
    last_year: int
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.first_year > self.last_year:
            raise ValueError(f"first_year {self.first_year} is after last_year {self.last_year}")
        outside = sorted(d for d in self.holidays | self.workdays if not self.is_known(d))
        if outside:
            raise ValueError(f"{outside[0].isoformat()} is outside {self.first_year}-{self.last_year}")
        bad_holidays = sorted(d for d in self.holidays if _is_weekend(d))
        if bad_holidays:
            raise ValueError(f"holiday {bad_holidays[0].isoformat()} is a weekend day; list weekday holidays only")
        bad_workdays = sorted(d for d in self.workdays if not _is_weekend(d))
        if bad_workdays:
            raise ValueError(f"make-up workday {bad_workdays[0].isoformat()} is a weekday; list weekend days only")

    def is_known(self, day: date) -> bool:
        return self.first_year <= day.year <= self.last_year

    def is_workday(self, day: date) -> bool:
        """True for a working day; raises CalendarMissing for a day outside the known years."""
        if not self.is_known(day):
            raise CalendarMissing(day, self.first_year, self.last_year)
        if _is_weekend(day):
            return day in self.workdays
        return day not in self.holidays

    def digest(self) -> str:
        """Short content hash of the days (not the version): equal data gives an equal digest on every machine."""
        body = self.to_json()
        del body["version"]
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "first_year": self.first_year,
            "last_year": self.last_year,
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "workdays": sorted(d.isoformat() for d in self.workdays),
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> WorkCalendar:
        """Inverse of `to_json`; raises ValueError on a missing key, a bad date or non-canonical data."""
        try:
            version, first, last = obj["version"], obj["first_year"], obj["last_year"]
            holidays = frozenset(date.fromisoformat(s) for s in obj["holidays"])
            workdays = frozenset(date.fromisoformat(s) for s in obj["workdays"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a working calendar: {exc!r}") from exc
        # bool is an int subclass; a calendar with first_year=True is a bug upstream, not data.
        if not isinstance(version, str) or not all(type(y) is int for y in (first, last)):
            raise ValueError("version must be a string and first_year/last_year integers")
        return cls(version, first, last, holidays, workdays)

    def with_overrides(
        self, extra_holidays: Iterable[date], extra_workdays: Iterable[date], version: str | None = None
    ) -> WorkCalendar:
        """A copy with county overrides: regional days off (e.g. 藏历新年, 彝族年) and extra working days.

        An extra holiday wins over a national make-up working day and an extra workday over a national holiday.
        Days that change nothing (a holiday on a plain weekend) are dropped to keep the data canonical. Every day
        must lie in the known years (ValueError otherwise: an override must not make a year look known), and no
        day may be in both lists. `version` defaults to `digest()` of the result.
        """
        off, on = frozenset(extra_holidays), frozenset(extra_workdays)
        both = sorted(off & on)
        if both:
            raise ValueError(f"{both[0].isoformat()} is both an extra holiday and an extra workday")
        outside = sorted(d for d in off | on if not self.is_known(d))
        if outside:
            raise ValueError(
                f"override {outside[0].isoformat()} is outside {self.first_year}-{self.last_year}; load that year first"
            )
        holidays = (self.holidays - on) | {d for d in off if not _is_weekend(d)}
        workdays = (self.workdays - off) | {d for d in on if _is_weekend(d)}
        return self._replace(self.first_year, self.last_year, holidays, workdays, version)

    def with_year(
        self, year: int, holidays: Iterable[date], workdays: Iterable[date], version: str | None = None
    ) -> WorkCalendar:
        """A copy whose schedule for `year` is exactly the one given (replacing any it had), making `year` known.

        `holidays` may list whole holiday spans including weekend days, as the State Council notice does; weekend
        days are dropped. Weekday entries in `workdays` are dropped likewise. The known years must stay contiguous,
        so `year` must be known already or adjacent to the range (ValueError otherwise, naming the gap).
        """
        if not self.first_year - 1 <= year <= self.last_year + 1:
            known = f"{self.first_year}-{self.last_year}"
            raise ValueError(f"cannot load {year}: the calendar knows {known}; load the years in between first")
        off, on = frozenset(holidays), frozenset(workdays)
        strays = sorted(d for d in off | on if d.year != year)
        if strays:
            raise ValueError(f"{strays[0].isoformat()} is not in {year}")
        both = sorted(off & on)
        if both:
            raise ValueError(f"{both[0].isoformat()} is both a holiday and a workday")
        keep_holidays = {d for d in self.holidays if d.year != year}
        keep_workdays = {d for d in self.workdays if d.year != year}
        return self._replace(
            min(self.first_year, year),
            max(self.last_year, year),
            keep_holidays | {d for d in off if not _is_weekend(d)},
            keep_workdays | {d for d in on if _is_weekend(d)},
            version,
        )

    def _replace(
        self, first: int, last: int, holidays: Iterable[date], workdays: Iterable[date], version: str | None
    ) -> WorkCalendar:
        draft = WorkCalendar("", first, last, frozenset(holidays), frozenset(workdays))
        return WorkCalendar(version or draft.digest(), first, last, draft.holidays, draft.workdays)


def _advance(calendar: WorkCalendar, anchor: date, remaining: int, until: date | None = None) -> tuple[date, int]:
    """Consume working days strictly after `anchor` until `remaining` is 0 or the walk reaches `until`.

    Returns the last day reached and the days still remaining.
    """
    day = anchor
    while remaining > 0 and (until is None or day < until):
        day += ONE_DAY
        if calendar.is_workday(day):
            remaining -= 1
    return day, remaining


def _check_pauses(accepted_on: date, pauses: Sequence[Pause]) -> list[Pause]:
    ordered = sorted(pauses, key=lambda p: p[0])
    previous_end = accepted_on
    for i, (requested_on, received_on) in enumerate(ordered):
        if requested_on < previous_end:
            raise ValueError(
                f"supplement requested on {requested_on.isoformat()} before acceptance or an earlier supplement ended"
            )
        if received_on is None:
            if i != len(ordered) - 1:
                raise ValueError(f"supplement requested on {requested_on.isoformat()} is open but not the last one")
        elif received_on < requested_on:
            raise ValueError(f"supplement received {received_on.isoformat()} before it was requested")
        else:
            previous_end = received_on
    return ordered


def due_date_or_none(
    calendar: WorkCalendar, accepted_on: date, promised_days: int, pauses: Sequence[Pause] = ()
) -> date | None:
    """The due date under the module's rule, or None while an outstanding supplement stops the clock.

    Raises CalendarMissing when the walk needs a day outside the calendar's years, and ValueError for a negative
    limit or pauses that overlap, precede acceptance, end before they start, or leave an open pause before another.
    """
    if promised_days < 0:
        raise ValueError(f"promised_days must be >= 0, got {promised_days}")
    anchor, remaining = accepted_on, promised_days
    for requested_on, received_on in _check_pauses(accepted_on, pauses):
        day, remaining = _advance(calendar, anchor, remaining, until=requested_on)
        if day < requested_on:
            return day  # the limit ran out before the request: the pause cannot move a passed due date
        if received_on is None:
            return None
        anchor = received_on
    day, _ = _advance(calendar, anchor, remaining)
    return day


def due_date(calendar: WorkCalendar, accepted_on: date, promised_days: int, pauses: Sequence[Pause] = ()) -> date:
    """Like `due_date_or_none`, but raises CasePaused while a supplement is outstanding."""
    due = due_date_or_none(calendar, accepted_on, promised_days, pauses)
    if due is None:
        raise CasePaused(max(p[0] for p in pauses))
    return due


def working_days_between(calendar: WorkCalendar, start: date, end: date) -> int:
    """Working days strictly after `start` up to and including `end` (0 when end <= start).

    So `working_days_between(c, accepted_on, due_date(c, accepted_on, n)) == n` for any n >= 1 without pauses.
    """
    count, day = 0, start
    while day < end:
        day += ONE_DAY
        if calendar.is_workday(day):
            count += 1
    return count
