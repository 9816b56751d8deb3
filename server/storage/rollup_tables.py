"""The rollup grains as tables, shared by the SQL backends: each grain of `server.model.rollups.GRAINS` is a table
of its name with its key columns and one column per metric of METRICS (a test keeps the migrations equal to this).

What is here is portable SQL (PostgreSQL has the same `ON CONFLICT ... DO UPDATE` and `excluded`): the head and tail
of an upsert that adds a delta, the full read of a table, and a delta's parameter rows in key order. Placeholders
differ between drivers, so each backend makes the VALUES part itself. Also here: which grain a reader takes for
which part of a period.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, NamedTuple

from server.model.rollups import GRAINS, METRICS, Contribution, Grain, GrainRows, grain_rows


class RollupTable(NamedTuple):
    grain: Grain
    insert_head: str  # INSERT INTO table (keys, metrics) VALUES
    upsert_tail: str  # ON CONFLICT (keys) DO UPDATE SET metric = table.metric + excluded.metric, ...
    select_all_sql: str  # every row: the keys, then the metrics in METRICS order

    @property
    def name(self) -> str:
        return self.grain.name

    @property
    def key_columns(self) -> tuple[str, ...]:
        return self.grain.key_columns

    @property
    def width(self) -> int:
        """Columns (= parameters) per row."""
        return len(self.grain.key_columns) + len(METRICS)


def _table(grain: Grain) -> RollupTable:
    name, keys = grain
    return RollupTable(
        grain, f"INSERT INTO {name} ({', '.join(keys + METRICS)}) VALUES ",
        f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET " + ", ".join(f"{m} = {name}.{m} + excluded.{m}"
                                                                        for m in METRICS),
        f"SELECT {', '.join(keys + METRICS)} FROM {name}")


ROLLUP_TABLES: tuple[RollupTable, ...] = tuple(_table(g) for g in GRAINS)
(DAILY_TABLE, MONTH_TABLE, MONTH_CHANNEL_TABLE, RESIDENCE_DAILY_TABLE, RESIDENCE_MONTH_TABLE,
 RESIDENCE_MONTH_CHANNEL_TABLE) = ROLLUP_TABLES

_COLUMN = {m: i for i, m in enumerate(METRICS)}


def parameter_rows(rows: GrainRows) -> list[tuple[object, ...]]:
    """Parameter rows (keys, then every metric) in key order: a backend with several writers takes the rows' locks
    in this one order, so two transactions that share rows never deadlock."""
    out: list[tuple[object, ...]] = []
    zeros = [0] * len(METRICS)
    for key, metrics in sorted(rows.items()):
        if metrics:
            values = zeros.copy()
            for metric, n in metrics.items():
                values[_COLUMN[metric]] = n
            out.append((*key, *values))
    return out


def delta_rows(deltas: Contribution) -> list[list[tuple[object, ...]]]:
    """The parameter rows each table of ROLLUP_TABLES (in that order) adds for these daily deltas, inside the
    transaction that stores the change."""
    tables = grain_rows(deltas)
    return [parameter_rows(tables[t.name]) for t in ROLLUP_TABLES]


def table_rows(table: RollupTable, rows: Iterable[Sequence[Any]]) -> GrainRows:
    """Rows as `select_all_sql` reads them, back as grain rows (zero metrics, and rows of zeros, left out)."""
    n = len(table.key_columns)
    out: GrainRows = {}
    for r in rows:
        metrics = {m: v for m, v in zip(METRICS, r[n:], strict=True) if v}
        if metrics:
            out[tuple(r[:n])] = metrics
    return out


def split_period(date_from: str, date_to: str) -> tuple[tuple[str, str] | None, list[tuple[str, str]]]:
    """The whole months inside [date_from, date_to] as (first month, last month) or None, and the leftover day
    ranges at either end: a reader takes the months from the monthly grain and the rest from the daily one, and
    the sums are the same as from the days alone.

    Here, beside the tables, not with the figures: which rows cover a period is a question of how the rollups are
    stored (a backend without month tables would not ask it); the figures see only a period's sums."""
    first, last = date.fromisoformat(date_from), date.fromisoformat(date_to)
    start = first if first.day == 1 else _next_month(first)
    end_next = _next_month(last) if last.day == calendar.monthrange(last.year, last.month)[1] else last.replace(day=1)
    if start >= end_next:  # no whole month inside
        return None, [(date_from, date_to)]
    days = []
    if first < start:
        days.append((date_from, _day_before(start)))
    if end_next <= last:
        days.append((end_next.isoformat(), date_to))
    return (start.isoformat()[:7], _day_before(end_next)[:7]), days


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _day_before(day: date) -> str:
    return date.fromordinal(day.toordinal() - 1).isoformat()
