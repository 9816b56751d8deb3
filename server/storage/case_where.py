"""The rollup reads behind the figure sums, as SQL both backends share (`?` placeholders; PostgreSQL numbers them),
and the code ranges the dashboard reads by. The predicate of the cases behind a figure is SQLite's
(`storage/sqlite/dashboard.py`), which PostgreSQL reads through its dialect translation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.model.rollups import RESIDENCE, UNIT_LENGTHS
from server.storage.rollup_tables import (
    DAILY_TABLE,
    MONTH_CHANNEL_TABLE,
    MONTH_TABLE,
    RESIDENCE_DAILY_TABLE,
    RESIDENCE_MONTH_CHANNEL_TABLE,
    RESIDENCE_MONTH_TABLE,
    split_period,
)


def upper_bound(prefix: str) -> str:
    """The exclusive upper bound of codes starting with `prefix` (digits: the last one + 1, 9 -> ':')."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


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
