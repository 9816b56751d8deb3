"""Which cases stand behind a figure, as an SQL predicate both SQL backends share (`?` placeholders; PostgreSQL
numbers them), and the code ranges the dashboard reads by."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from server.model.rollups import RESIDENCE, UNIT_LENGTHS
from server.storage.dashboard import CASE_FIGURES, CaseFilter
from server.storage.rollup_tables import (
    DAILY_TABLE,
    MONTH_CHANNEL_TABLE,
    MONTH_TABLE,
    RESIDENCE_DAILY_TABLE,
    RESIDENCE_MONTH_CHANNEL_TABLE,
    RESIDENCE_MONTH_TABLE,
    split_period,
)

OPEN = "state IN ('in_progress', 'suspended')"  # the exact predicate of the partial index cases_open_due


def upper_bound(prefix: str) -> str:
    """The exclusive upper bound of codes starting with `prefix` (digits: the last one + 1, 9 -> ':')."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def case_where(f: CaseFilter, json_field: Callable[..., str]) -> tuple[str, list[Any]]:
    """The SQL predicate of the cases behind one figure (`?` placeholders): the same rules as
    `server.model.rollups.contributions`. `json_field(key, integer)` reads a key of the case body in the dialect."""
    assert f.figure in CASE_FIGURES, f.figure
    code = HOME if f.basis == RESIDENCE else "org_code"
    terms = [f"{code} >= ?", f"{code} < ?"]
    params: list[Any] = [f.prefix, upper_bound(f.prefix)]

    def period(column: str) -> None:
        if f.date_from is not None:
            terms.append(f"{column} >= ?")
            params.append(f.date_from)
        if f.date_to is not None:
            terms.append(f"{column} <= ?")
            params.append(f.date_to)

    figure = f.figure
    if figure in ("accepted", "online", "in_progress"):
        terms.append(OPEN if figure == "in_progress" else "state <> 'rejected'")
        if figure == "online":
            terms.append("channel = 'online'")
        period("accepted_on")
    elif figure.startswith("completed") or figure == "trips_le1":
        terms.append("state = 'completed'")
        terms.append({"completed": "true", "completed_on_time": "is_on_time = 1", "completed_late": "is_on_time = 0",
                      "completed_no_due_date": "is_on_time IS NULL",
                      "trips_le1": f"{json_field('trips', True)} <= 1"}[figure])
        period("completed_on")
    elif figure in ("rejected", "withdrawn"):
        terms.append(f"state = '{figure}'")
        period("closed_on")
    elif figure in ("evaluations", "good_ratings", "bad_ratings", "bad_pending", "bad_followed_up"):
        terms.append({"evaluations": "rating IS NOT NULL",
                      "good_ratings": f"rating IN ({', '.join(str(int(r)) for r in f.good_ratings)})",
                      "bad_ratings": "rating IN (1, 2)",
                      "bad_pending": "rating IN (1, 2) AND followed_up_on IS NULL",
                      "bad_followed_up": "rating IN (1, 2) AND followed_up_on IS NOT NULL"}[figure])
        period("rated_on")
    else:  # overdue_open, due_soon: open cases against as_of, whatever the period
        terms += [OPEN, "due_on < ?" if figure == "overdue_open" else "due_on >= ? AND due_on <= ?"]
        params += [f.as_of] if figure == "overdue_open" else [f.as_of, f.due_until]
    if f.category is not None:
        terms.append("category = ?")
        params.append(f.category)
    if f.channel is not None:
        terms.append("channel = ?")
        params.append(f.channel)
    return " AND ".join(terms), params



# Where the applicant lives, as `server.model.rollups.residence_of` says: the village, else the unit's county code.
HOME = "COALESCE(village_code, substr(org_code, 1, 6) || '000000')"


def sum_queries(unit_len: int, prefix: str, date_from: str, date_to: str, by: Sequence[str],
                units: Sequence[str] | None, basis: str) -> list[tuple[str, list[str], str, list[Any]]]:
    """The reads of `DashboardStore.figure_sums`, as (table, grouped columns, predicate, parameters) with `?`
    placeholders: whole months from a monthly grain, the days at either end from a daily one, by where cases were
    handled or (`basis` residence) where applicants live. Month rows exist per county (6), township (9) and unit
    (12): a prefecture's or province's units (4, 2) sum their counties' rows."""
    months, day_ranges = split_period(date_from, date_to)
    n = int(unit_len)
    out: list[tuple[str, list[str], str, list[Any]]] = []
    marks = ", ".join("?" * len(units or ()))
    if months is not None:
        depth = max(n, UNIT_LENGTHS[0])
        cols = [f"substr(unit, 1, {n})" if g == "unit" and depth != n else g for g in by]
        # without a category in the grouping, the month rows with the categories summed do (3-5x fewer rows)
        table = ((RESIDENCE_MONTH_CHANNEL_TABLE if "category" not in by else RESIDENCE_MONTH_TABLE)
                 if basis == RESIDENCE else MONTH_CHANNEL_TABLE if "category" not in by else MONTH_TABLE).name
        params: list[Any]
        if units is not None and depth == n:
            where, params = f"unit IN ({marks})", list(units)
        elif depth == len(prefix):
            where, params = "unit = ?", [prefix]
        else:
            where, params = "unit >= ? AND unit < ? AND length(unit) = ?", [prefix, upper_bound(prefix), depth]
            if units is not None:
                where += f" AND substr(unit, 1, {n}) IN ({marks})"
                params += list(units)
        out.append((table, cols, f"{where} AND month >= ? AND month <= ?", [*params, *months]))
    code, daily = ("res_code", RESIDENCE_DAILY_TABLE.name) if basis == RESIDENCE else ("org_code", DAILY_TABLE.name)
    for day_from, day_to in day_ranges:
        cols = [{"unit": f"substr({code}, 1, {n})", "month": "substr(day, 1, 7)"}.get(g, g) for g in by]
        where = f"{code} >= ? AND {code} < ? AND day >= ? AND day <= ?"
        params = [prefix, upper_bound(prefix), day_from, day_to]
        if units is not None:
            where += f" AND substr({code}, 1, {n}) IN ({marks})"
            params += list(units)
        out.append((daily, cols, where, params))
    return out
