"""Working-day arithmetic over a hand-written calendar (the State Council schedules for 2025 and 2026).

The server tests check the same dates against the `chinesecalendar` package; these tests need only the data.
"""

from datetime import date

import pytest

from protocol.workdays import (
    CalendarMissing,
    CasePaused,
    WorkCalendar,
    due_date,
    due_date_or_none,
    working_days_between,
)

D = date.fromisoformat

# Weekday holidays and weekend make-up working days (调休), 国务院办公厅 notices for 2025 and 2026.
HOLIDAYS = {
    2025: "01-01 01-28 01-29 01-30 01-31 02-03 02-04 04-04 05-01 05-02 05-05 06-02 10-01 10-02 10-03 10-06 10-07 10-08",
    2026: "01-01 01-02 02-16 02-17 02-18 02-19 02-20 02-23 04-06 05-01 05-04 05-05 06-19 09-25 10-01 10-02 10-05 "
    "10-06 10-07",
}
WORKDAYS = {2025: "01-26 02-08 04-27 09-28 10-11", 2026: "01-04 02-14 02-28 05-09 09-20 10-10"}

# 藏历新年, Lhasa 2026: 02-15 to 02-26 (the Spring Festival days inside it are national holidays already).
LHASA_LOSAR_2026 = [date(2026, 2, d) for d in range(15, 27)]


def days(table: dict[int, str]) -> frozenset[date]:
    return frozenset(D(f"{year}-{md}") for year, text in table.items() for md in text.split())


@pytest.fixture
def calendar() -> WorkCalendar:
    return WorkCalendar("test", 2025, 2026, days(HOLIDAYS), days(WORKDAYS))


# --- the calendar itself -------------------------------------------------------------------------------------------


def test_spring_festival_2026_days_off_and_make_up_saturdays(calendar):
    assert calendar.is_workday(D("2026-02-14"))  # Saturday, 调休
    assert calendar.is_workday(D("2026-02-28"))  # Saturday, 调休
    for d in ["2026-02-15", "2026-02-16", "2026-02-20", "2026-02-21", "2026-02-22", "2026-02-23"]:
        assert not calendar.is_workday(D(d)), d
    assert calendar.is_workday(D("2026-02-24"))
    assert not calendar.is_workday(D("2026-03-01"))  # a plain Sunday


def test_national_day_2025_and_2026(calendar):
    assert calendar.is_workday(D("2025-09-28")) and calendar.is_workday(D("2025-10-11"))
    assert not any(calendar.is_workday(D(f"2025-10-0{d}")) for d in range(1, 9))
    assert calendar.is_workday(D("2026-09-20")) and calendar.is_workday(D("2026-10-10"))
    assert not any(calendar.is_workday(D(f"2026-10-0{d}")) for d in range(1, 8))
    assert calendar.is_workday(D("2026-10-08"))


def test_a_day_outside_the_known_years_raises_calendar_missing(calendar):
    assert calendar.is_known(D("2026-12-31")) and not calendar.is_known(D("2027-01-01"))
    with pytest.raises(CalendarMissing) as info:
        calendar.is_workday(D("2027-01-04"))
    assert info.value.day == D("2027-01-04")
    assert "2027" in str(info.value)


def test_json_round_trip_is_compact_and_sorted(calendar):
    obj = calendar.to_json()
    assert obj["holidays"][:2] == ["2025-01-01", "2025-01-28"]
    assert obj["workdays"] == sorted(obj["workdays"])
    assert WorkCalendar.from_json(obj) == calendar


@pytest.mark.parametrize(
    "change",
    [
        {"holidays": ["2026-02-31"]},
        {"holidays": ["2026-02-14"]},  # a Saturday is not a weekday holiday
        {"workdays": ["2026-02-16"]},  # a Monday is not a make-up day
        {"holidays": ["2027-01-01"]},  # outside the known years
        {"first_year": "2025"},
        {"last_year": True},
        {"version": None},
        {"holidays": None},
    ],
)
def test_from_json_refuses_malformed_or_non_canonical_data(calendar, change):
    with pytest.raises(ValueError):
        WorkCalendar.from_json({**calendar.to_json(), **change})


def test_from_json_refuses_a_missing_key(calendar):
    obj = calendar.to_json()
    del obj["workdays"]
    with pytest.raises(ValueError):
        WorkCalendar.from_json(obj)


def test_digest_depends_on_the_days_not_the_version(calendar):
    relabelled = WorkCalendar("other", 2025, 2026, calendar.holidays, calendar.workdays)
    assert relabelled.digest() == calendar.digest()
    assert calendar.with_overrides([D("2026-03-02")], []).digest() != calendar.digest()


# --- overrides -----------------------------------------------------------------------------------------------------


def test_regional_losar_holiday_closes_the_lhasa_working_days(calendar):
    lhasa = calendar.with_overrides(LHASA_LOSAR_2026, [])
    assert calendar.is_workday(D("2026-02-24")) and not lhasa.is_workday(D("2026-02-24"))
    assert not lhasa.is_workday(D("2026-02-26"))
    assert lhasa.is_workday(D("2026-02-27")) and lhasa.is_workday(D("2026-02-14"))
    # Weekend days in the span change nothing and are not stored.
    assert D("2026-02-21") not in lhasa.holidays
    assert lhasa.version == lhasa.digest()
    assert due_date(calendar, D("2026-02-13"), 2) == D("2026-02-24")
    assert due_date(lhasa, D("2026-02-13"), 2) == D("2026-02-27")


def test_a_regional_holiday_wins_over_a_make_up_saturday_and_an_extra_workday_over_a_holiday(calendar):
    # Hypothetical county decisions, to pin precedence.
    county = calendar.with_overrides([D("2026-02-28")], [D("2026-02-23"), D("2026-03-07")], version="v2")
    assert not county.is_workday(D("2026-02-28"))
    assert county.is_workday(D("2026-02-23")) and county.is_workday(D("2026-03-07"))
    assert county.version == "v2"


def test_overrides_are_refused_outside_the_known_years_or_when_contradictory(calendar):
    with pytest.raises(ValueError, match="2027"):
        calendar.with_overrides([D("2027-02-08")], [])
    with pytest.raises(ValueError, match="both"):
        calendar.with_overrides([D("2026-03-02")], [D("2026-03-02")])


def test_with_year_extends_the_range_only_without_gaps(calendar):
    with pytest.raises(ValueError, match="2028"):
        calendar.with_year(2028, [], [])
    with pytest.raises(ValueError, match="not in 2027"):
        calendar.with_year(2027, [D("2026-12-31")], [])
    extended = calendar.with_year(2027, [D("2027-01-01"), D("2027-01-02")], [])
    assert (extended.first_year, extended.last_year) == (2025, 2027)
    assert extended.holidays - calendar.holidays == {D("2027-01-01")}  # the Saturday is dropped


def test_with_year_replaces_a_known_year_entirely(calendar):
    corrected = calendar.with_year(2026, [D("2026-03-02")], [D("2026-03-07")])
    assert {d for d in corrected.holidays if d.year == 2026} == {D("2026-03-02")}
    assert corrected.is_workday(D("2026-02-16"))
    assert not corrected.is_workday(D("2025-10-01"))


# --- due dates -----------------------------------------------------------------------------------------------------


def test_the_acceptance_day_is_not_counted(calendar):
    assert due_date(calendar, D("2026-03-02"), 1) == D("2026-03-03")
    assert due_date(calendar, D("2026-03-02"), 5) == D("2026-03-09")


def test_acceptance_on_a_sunday_counts_from_monday(calendar):
    assert due_date(calendar, D("2026-03-01"), 1) == D("2026-03-02")


def test_due_dates_across_spring_festival_2026_use_the_make_up_saturdays(calendar):
    accepted = D("2026-02-13")
    expected = ["2026-02-14", "2026-02-24", "2026-02-25", "2026-02-26", "2026-02-27", "2026-02-28", "2026-03-02"]
    assert [due_date(calendar, accepted, n) for n in range(1, 8)] == [D(d) for d in expected]


def test_due_dates_across_national_day_2025_and_2026(calendar):
    assert due_date(calendar, D("2025-09-26"), 1) == D("2025-09-28")
    assert due_date(calendar, D("2025-09-26"), 4) == D("2025-10-09")
    assert due_date(calendar, D("2025-09-26"), 6) == D("2025-10-11")
    # 2026: Mid-Autumn Friday 09-25 and National Day 10-01..10-07.
    assert due_date(calendar, D("2026-09-18"), 6) == D("2026-09-28")
    assert due_date(calendar, D("2026-09-18"), 9) == D("2026-10-08")
    assert due_date(calendar, D("2026-09-18"), 11) == D("2026-10-10")


def test_an_instant_item_is_due_the_day_it_is_accepted(calendar):
    assert due_date(calendar, D("2026-02-16"), 0) == D("2026-02-16")  # even on a holiday (e.g. online)
    assert due_date(calendar, D("2026-03-02"), 0) == D("2026-03-02")


def test_an_instant_item_needs_no_calendar_data(calendar):
    assert due_date(calendar, D("2027-03-01"), 0) == D("2027-03-01")


def test_working_days_between_inverts_due_date(calendar):
    assert working_days_between(calendar, D("2026-02-13"), D("2026-02-27")) == 5
    assert working_days_between(calendar, D("2026-02-27"), D("2026-02-13")) == 0
    for n in range(1, 30):
        assert working_days_between(calendar, D("2026-09-18"), due_date(calendar, D("2026-09-18"), n)) == n


def test_a_negative_limit_is_refused(calendar):
    with pytest.raises(ValueError):
        due_date(calendar, D("2026-03-02"), -1)


# --- supplement pauses (补正) ---------------------------------------------------------------------------------------


def test_a_supplement_pause_moves_the_due_date(calendar):
    # 5 days from Mon 03-02: 03, 04 consumed up to the request; 3 remain after the materials arrive on Tue 03-10.
    assert due_date(calendar, D("2026-03-02"), 5, [(D("2026-03-04"), D("2026-03-10"))]) == D("2026-03-13")


def test_a_supplement_requested_on_the_acceptance_day_consumes_nothing(calendar):
    assert due_date(calendar, D("2026-03-02"), 5, [(D("2026-03-02"), D("2026-03-05"))]) == D("2026-03-12")


def test_a_supplement_requested_on_the_due_date_leaves_zero_days_after_the_materials_arrive(calendar):
    assert due_date(calendar, D("2026-03-02"), 5, [(D("2026-03-09"), D("2026-03-11"))]) == D("2026-03-11")


def test_a_supplement_requested_after_the_due_date_does_not_move_it(calendar):
    assert due_date(calendar, D("2026-03-02"), 5, [(D("2026-03-10"), D("2026-03-12"))]) == D("2026-03-09")
    # due Friday 03-06; a request dated the Saturday after is already late
    assert due_date(calendar, D("2026-03-02"), 4, [(D("2026-03-07"), D("2026-03-10"))]) == D("2026-03-06")


def test_an_instant_item_paused_on_the_day_is_due_when_the_materials_arrive(calendar):
    assert due_date(calendar, D("2026-03-02"), 0, [(D("2026-03-02"), D("2026-03-04"))]) == D("2026-03-04")


def test_two_supplements_in_any_order(calendar):
    pauses = [(D("2026-03-03"), D("2026-03-04")), (D("2026-03-05"), D("2026-03-09"))]
    assert due_date(calendar, D("2026-03-02"), 5, pauses) == D("2026-03-12")
    assert due_date(calendar, D("2026-03-02"), 5, pauses[::-1]) == D("2026-03-12")


def test_the_clock_resumes_on_a_make_up_saturday(calendar):
    # Tue 02-10, 3 days; request Wed 02-11 (1 consumed), materials Fri 02-13: Sat 02-14 then Tue 02-24.
    assert due_date(calendar, D("2026-02-10"), 3, [(D("2026-02-11"), D("2026-02-13"))]) == D("2026-02-24")


def test_an_outstanding_supplement_leaves_no_due_date(calendar):
    pauses = [(D("2026-03-03"), D("2026-03-04")), (D("2026-03-06"), None)]
    assert due_date_or_none(calendar, D("2026-03-02"), 5, pauses) is None
    with pytest.raises(CasePaused) as info:
        due_date(calendar, D("2026-03-02"), 5, pauses)
    assert info.value.requested_on == D("2026-03-06")


def test_an_outstanding_supplement_after_the_due_date_leaves_it_standing(calendar):
    assert due_date_or_none(calendar, D("2026-03-02"), 5, [(D("2026-03-10"), None)]) == D("2026-03-09")


@pytest.mark.parametrize(
    "pauses",
    [
        [(D("2026-03-01"), D("2026-03-03"))],  # before acceptance
        [(D("2026-03-05"), D("2026-03-04"))],  # received before requested
        [(D("2026-03-03"), D("2026-03-06")), (D("2026-03-05"), D("2026-03-09"))],  # overlapping
        [(D("2026-03-03"), None), (D("2026-03-05"), D("2026-03-09"))],  # open, then another
    ],
)
def test_impossible_pauses_are_refused(calendar, pauses):
    with pytest.raises(ValueError):
        due_date_or_none(calendar, D("2026-03-02"), 5, pauses)


# --- walking off the end of the data ---------------------------------------------------------------------------------


def test_a_walk_into_2027_raises_until_the_2027_schedule_is_loaded(calendar):
    # Fri 2026-12-25 + 5: 12-28 .. 12-31 are four; the fifth needs 2027.
    with pytest.raises(CalendarMissing) as info:
        due_date(calendar, D("2026-12-25"), 5)
    assert info.value.day == D("2027-01-01")
    assert due_date(calendar, D("2026-12-25"), 4) == D("2026-12-31")
    # A hypothetical 2027 schedule with New Year's Day off.
    loaded = calendar.with_year(2027, [D("2027-01-01")], [])
    assert due_date(loaded, D("2026-12-25"), 5) == D("2027-01-04")


def test_a_pause_ending_beyond_the_data_raises_calendar_missing(calendar):
    with pytest.raises(CalendarMissing):
        due_date(calendar, D("2026-12-21"), 5, [(D("2026-12-22"), D("2027-01-05"))])
