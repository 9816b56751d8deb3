"""The county calendar built from the real `chinesecalendar` package, plus regional days and loaded years."""

from datetime import date, timedelta

import chinese_calendar
import pytest

from protocol.workdays import CalendarMissing, due_date, working_days_between
from server.model.calendar import build_calendar, package_calendar, package_years

D = date.fromisoformat


@pytest.fixture(scope="module")
def national():
    return package_calendar()


def test_the_package_years_start_in_2004_and_reach_2026():
    years = package_years()
    assert years.start == 2004 and years[-1] >= 2026


def test_every_known_day_agrees_with_the_package(national):
    day = date(national.first_year, 1, 1)
    while day.year <= national.last_year:
        assert national.is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_spring_festival_2026(national):
    assert {d for d in national.holidays if d.month == 2 and d.year == 2026} == {
        D("2026-02-16"),
        D("2026-02-17"),
        D("2026-02-18"),
        D("2026-02-19"),
        D("2026-02-20"),
        D("2026-02-23"),
    }
    assert D("2026-02-14") in national.workdays and D("2026-02-28") in national.workdays


def test_national_day_2025_and_2026(national):
    assert {D("2025-09-28"), D("2025-10-11"), D("2026-09-20"), D("2026-10-10")} <= national.workdays
    assert {D(f"2025-10-0{d}") for d in (1, 2, 3, 6, 7, 8)} <= national.holidays
    assert {D(f"2026-10-0{d}") for d in (1, 2, 5, 6, 7)} <= national.holidays
    assert national.is_workday(D("2026-10-08"))


def test_due_dates_agree_with_the_package_find_workday(national):
    # find_workday(n, d) is the n-th working day after d when d is a working day; from a day off it counts the
    # first working day as 0, so our "N-th working day after acceptance" is find_workday(n - 1, d) there.
    day = D("2025-01-01")
    while day <= D("2025-12-31"):
        for n in (1, 2, 5, 10, 20):
            shift = 0 if chinese_calendar.is_workday(day) else 1
            assert due_date(national, day, n) == chinese_calendar.find_workday(n - shift, day), (day, n)
        day += timedelta(days=1)


def test_without_overrides_the_county_calendar_is_the_national_one(national):
    assert build_calendar() == national
    assert national.version == national.digest() and len(national.version) == 12


def test_regional_losar_holidays_for_lhasa_2026(national):
    losar = [date(2026, 2, d) for d in range(15, 27)]
    lhasa = build_calendar(regional_holidays=losar)
    assert not lhasa.is_workday(D("2026-02-24")) and national.is_workday(D("2026-02-24"))
    assert due_date(lhasa, D("2026-02-13"), 2) == D("2026-02-27")
    assert lhasa.version != national.version
    assert build_calendar(regional_holidays=losar).version == lhasa.version


def test_a_year_the_package_does_not_know_can_be_loaded_from_config(national):
    beyond = package_years()[-1] + 1
    accepted = date(beyond - 1, 12, 20)
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(beyond, 1, 4))
    with pytest.raises(CalendarMissing) as info:
        due_date(national, accepted, 15)
    assert info.value.day.year == beyond

    # A hypothetical schedule: New Year's Day off (given as a span, as the notice lists it).
    new_year = [date(beyond, 1, 1), date(beyond, 1, 2), date(beyond, 1, 3)]
    county = build_calendar(
        regional_holidays=[date(beyond, 2, 1)], extra_years={beyond: {"holidays": new_year, "workdays": []}}
    )
    assert county.last_year == beyond
    due = due_date(county, accepted, 15)
    assert due.year == beyond
    assert working_days_between(county, accepted, due) == 15
    assert not county.is_workday(date(beyond, 1, 1))


def test_config_cannot_leave_a_gap_or_override_an_unloaded_year(national):
    beyond = package_years()[-1] + 1
    with pytest.raises(ValueError):
        build_calendar(extra_years={beyond + 1: {"holidays": [], "workdays": []}})
    with pytest.raises(ValueError):
        build_calendar(regional_holidays=[date(beyond, 2, 8)])
    # Two years in one go are fine.
    both = {y: {"holidays": [], "workdays": []} for y in (beyond + 1, beyond)}
    assert build_calendar(extra_years=both).last_year == beyond + 1


def test_config_can_correct_a_year_the_package_knows():
    corrected = build_calendar(extra_years={2026: {"holidays": [D("2026-02-16")], "workdays": []}})
    assert corrected.is_workday(D("2026-02-17"))
    assert not corrected.is_workday(D("2026-02-14"))  # the make-up Saturday went with the replaced schedule
