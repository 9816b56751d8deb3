"""Builds the county's `WorkCalendar` from the `chinesecalendar` package plus county overrides.

Layers, each overriding the one before:

1. `chinesecalendar` (import name `chinese_calendar`): statutory holidays and make-up working days (调休) for every
   year it knows (1.11.0: 2004-2026; other years raise NotImplementedError).
2. `extra_years` from county config: a whole year's schedule as published by the State Council each November,
   for a year the package does not know yet (e.g. 2027), or a correction replacing a year it does. Such a year
   becomes known; the known years must stay contiguous.
3. Regional days: `regional_holidays` (藏历新年, 火把节, 彝族年 ...) and `extra_workdays`, which the national calendar
   does not know. They must fall in known years, so a typo cannot make an unloaded year look complete.

The version is `WorkCalendar.digest()`: a short hash of the content, so the same data gives the same version on every
rebuild and agents can tell whether theirs is current.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import TypedDict

import chinese_calendar

from protocol.workdays import WorkCalendar

# Years probed for package data. The package validates against the span of its own table and exposes no "known
# years" call, so we ask it about 1 January of each candidate year; the span is generous so that a package upgrade
# that adds years is picked up without a code change.
_PROBE_YEARS = range(1990, 2100)


class YearSchedule(TypedDict):
    """One year's national schedule from config: days off (whole spans allowed) and make-up working days."""

    holidays: Iterable[date]
    workdays: Iterable[date]


def package_years() -> range:
    """The contiguous years `chinese_calendar` has data for; RuntimeError if the package reports a gap."""
    known: list[int] = []
    for year in _PROBE_YEARS:
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
        except NotImplementedError:
            continue
        known.append(year)
    if not known or known != list(range(known[0], known[-1] + 1)):
        raise RuntimeError(f"chinese_calendar reports no contiguous span of years: {known}")
    return range(known[0], known[-1] + 1)


def package_calendar() -> WorkCalendar:
    """The national calendar exactly as `chinese_calendar` defines it, version = content digest."""
    years = package_years()
    holidays: set[date] = set()
    workdays: set[date] = set()
    day, end = date(years.start, 1, 1), date(years.stop - 1, 12, 31)
    # Ask the package day by day (≈0.2 s for 23 years) rather than reading its tables: is_workday is its public
    # definition, and the tables also list weekend days inside holiday spans.
    while day <= end:
        is_weekend = day.weekday() >= 5
        is_workday = chinese_calendar.is_workday(day)
        if is_weekend and is_workday:
            workdays.add(day)
        elif not is_weekend and not is_workday:
            holidays.add(day)
        day += timedelta(days=1)
    draft = WorkCalendar("", years.start, years.stop - 1, frozenset(holidays), frozenset(workdays))
    return WorkCalendar(draft.digest(), draft.first_year, draft.last_year, draft.holidays, draft.workdays)


def build_calendar(
    regional_holidays: Iterable[date] = (),
    extra_workdays: Iterable[date] = (),
    extra_years: Mapping[int, YearSchedule] | None = None,
) -> WorkCalendar:
    """The county calendar: package data, then `extra_years`, then regional overrides (see the module docstring).

    Raises ValueError for an override outside the known years, a year that would leave a gap, or a day listed as
    both holiday and workday.
    """
    calendar = package_calendar()
    extra_years = extra_years or {}
    # Ascending order lets 2027 then 2028 extend the range one year at a time; descending for years before it.
    later = sorted(y for y in extra_years if y >= calendar.first_year)
    earlier = sorted((y for y in extra_years if y < calendar.first_year), reverse=True)
    for year in later + earlier:
        schedule = extra_years[year]
        calendar = calendar.with_year(year, schedule["holidays"], schedule["workdays"])
    return calendar.with_overrides(regional_holidays, extra_workdays)
