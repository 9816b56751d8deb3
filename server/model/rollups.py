"""Rollups: what one case contributes to the per-(org unit, day, category, channel) counters; pure.

A case's contribution is a function of its current state alone, so a change of state becomes a delta
`contributions(new) - contributions(old)`: late, reordered or corrected events fix the figures instead of counting
twice (design: "Server state is a function of the set of events"). `county-server rollups verify` recomputes every
row from the cases with these same functions.

Definition choices, kept here in one place (see `shared/domain/glossary.md`):
- accepted counts on the acceptance day, except cases that ended 不予受理 (rejected): those were never accepted.
- completed_on_time / completed_late need a due date; a case without one ("calendar missing") counts in neither.
- good ratings are 非常满意, 满意 and 基本满意 (5, 4, 3): `GOOD_RATINGS`, the default of the county's
  `[figures] good_includes_basic` setting (`server.model.figures` applies the setting; the counters keep every level).
- in_progress counts on the acceptance day the cases still open now; bad_pending on the rating day the bad ratings
  not yet followed up: both leave their day when the case moves on, like every other counter.

Coarser grains (`GRAINS`) are kept by the same deltas in the same transaction: `grain_rows(deltas)` says what each
adds (a store writes them: `server.storage.rollup_tables`). `rollups_month` sums the days of a month per unit at
three depths (county 6, township 9, handled-at unit 12 digits), `rollups_month_channel` the same without the
category, so a year's county or township figures read a few thousand rows, not millions. No SQL here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from protocol.lifecycle import Case
from protocol.vocabulary import BAD_RATINGS, OPEN_STATES, CaseState

METRICS: tuple[str, ...] = (
    "accepted",  # 受理量, on accepted_on
    "completed",  # 办结量, on completed_on
    "completed_on_time",  # 按时办结
    "completed_late",  # 超期办结
    "trips_le1",  # completed with trips <= 1 (最多跑一次)
    "rejected",  # 不予受理, on closed_on
    "withdrawn",  # 撤回, on closed_on
    "rated",  # 评价数, on rated_on
    "rated_5",
    "rated_4",
    "rated_3",
    "rated_2",
    "rated_1",
    "bad_followed_up",  # 差评回访, on followed_up_on
    "consultations",  # 咨询量
    "in_progress",  # 在办: accepted, still open (办理中 or 补正中), on accepted_on
    "bad_pending",  # 差评待回访: a bad rating not yet followed up, on rated_on
)
KEY_COLUMNS: tuple[str, ...] = ("org_code", "day", "category", "channel")
GOOD_RATINGS: tuple[int, ...] = (5, 4, 3)
CONSULTATION_CATEGORY = "咨询"

_OPEN = frozenset(s.value for s in OPEN_STATES)

Key = tuple[str, str, str, str]  # (org_code, day YYYY-MM-DD, category, channel)
Contribution = dict[Key, dict[str, int]]

def add_case(total: Contribution, case: Case | None, category: str, sign: int = 1) -> None:
    """Add `sign` to every counter this case counts in, keyed by where it was handled (case.org_code), day,
    category and channel. `sign` -1 takes a former state of the case away: ingest adds the new state and takes the
    old one away, and counters that did not change sum to zero (`without_zeros` drops them)."""
    if case is None:
        return
    org, channel, state = case.org_code, case.channel, case.state
    if state != CaseState.REJECTED:
        _add(total, (org, case.accepted_on, category, channel), sign, "accepted",
             "in_progress" if state in _OPEN else None)
    if state == CaseState.COMPLETED and case.completed_on is not None:
        on_time = case.is_on_time
        _add(total, (org, case.completed_on, category, channel), sign, "completed",
             None if on_time is None else "completed_on_time" if on_time else "completed_late",
             "trips_le1" if case.trips <= 1 else None)
    elif state == CaseState.REJECTED and case.closed_on is not None:
        _add(total, (org, case.closed_on, category, channel), sign, "rejected")
    elif state == CaseState.WITHDRAWN and case.closed_on is not None:
        _add(total, (org, case.closed_on, category, channel), sign, "withdrawn")
    if case.rating is not None and case.rated_on is not None:
        _add(total, (org, case.rated_on, category, channel), sign, "rated", _RATED[case.rating],
             "bad_pending" if case.rating in BAD_RATINGS and case.followed_up_on is None else None)
    if case.followed_up_on is not None:
        _add(total, (org, case.followed_up_on, category, channel), sign, "bad_followed_up")


_RATED = {n: f"rated_{n}" for n in range(1, 6)}


def _add(total: Contribution, key: Key, sign: int, *metrics: str | None) -> None:
    row = total.get(key)
    if row is None:
        row = total[key] = {}
    for metric in metrics:
        if metric is not None:
            row[metric] = row.get(metric, 0) + sign


def contributions(case: Case | None, category: str) -> Contribution:
    """The counters this case adds to (`add_case` into an empty total): only non-zero counters appear."""
    out: Contribution = {}
    add_case(out, case, category)
    return out


def consultation_contribution(org_code: str, day: str, channel: str) -> Contribution:
    return {(org_code, day, CONSULTATION_CATEGORY, channel): {"consultations": 1}}


def add_into(total: Contribution, part: Contribution) -> None:
    """Accumulate `part` into `total` in place (used to merge a batch's deltas into one upsert per row)."""
    for key, metrics in part.items():
        row = total.setdefault(key, {})
        for metric, n in metrics.items():
            row[metric] = row.get(metric, 0) + n


def total_of(parts: Iterable[Contribution]) -> Contribution:
    total: Contribution = {}
    for part in parts:
        add_into(total, part)
    return without_zeros(total)


def without_zeros(c: Contribution) -> Contribution:
    """The same counters with zeros, and keys left with none, dropped."""
    out: Contribution = {}
    for key, metrics in c.items():
        kept = {m: n for m, n in metrics.items() if n}
        if kept:
            out[key] = kept
    return out


# ---- coarser grains ------------------------------------------------------------------------------------------

class Grain(NamedTuple):
    """One rollup grain: its name (a store keeps it as a table of that name) and its key fields; every metric of
    METRICS is counted per key."""

    name: str
    key_columns: tuple[str, ...]


# A month row exists per unit prefix: the county (6 digits), the township = centre + villages (9), and the unit
# where the case was handled (12: a village station, or the centre itself as <township>000).
UNIT_LENGTHS: tuple[int, ...] = (6, 9, 12)
DAILY = Grain("rollups", KEY_COLUMNS)
MONTH = Grain("rollups_month", ("unit", "month", "category", "channel"))
# The month rows again with the categories summed: a table of 174 townships for a year reads ~10,000 rows of this
# instead of ~36,000 of rollups_month (bench/dashboard_bench.py).
MONTH_CHANNEL = Grain("rollups_month_channel", ("unit", "month", "channel"))
GRAINS: tuple[Grain, ...] = (DAILY, MONTH, MONTH_CHANNEL)  # the one place a new grain is added

GrainRows = dict[tuple[str, ...], dict[str, int]]


def month_deltas(daily: Contribution) -> Contribution:
    """The daily contribution (or delta) summed per (unit prefix, month, category, channel)."""
    out: Contribution = {}
    for (org, day, category, channel), metrics in daily.items():
        month = day[:7]
        for n in UNIT_LENGTHS:
            row = out.setdefault((org[:n], month, category, channel), {})
            for metric, v in metrics.items():
                row[metric] = row.get(metric, 0) + v
    return without_zeros(out)


def _channel_rows(month: Contribution) -> GrainRows:
    out: GrainRows = {}
    for (unit, month_key, _category, channel), metrics in month.items():
        row = out.setdefault((unit, month_key, channel), {})
        for metric, v in metrics.items():
            row[metric] = row.get(metric, 0) + v
    return {k: kept for k, m in out.items() if (kept := {x: n for x, n in m.items() if n})}


def grain_rows(daily: Contribution) -> dict[str, GrainRows]:
    """What every grain holds (or, for a delta, must add), by grain name, given daily contributions."""
    daily = without_zeros(daily)
    month = month_deltas(daily)
    # Comprehensions, not dict(): a grain's rows have keys of any length, the daily ones of four.
    return {DAILY.name: {k: m for k, m in daily.items()}, MONTH.name: {k: m for k, m in month.items()},
            MONTH_CHANNEL.name: _channel_rows(month)}
