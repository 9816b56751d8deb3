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
- ratings: a case has several (one per step and channel, `protocol.lifecycle`); `rated` and its breakdowns count
  ratings on their rating day, `rated_cases` counts a case once, on its first rating day. A bad rating's follow-up
  is on time when done by its `follow_up_due` (a rating without one is neither on time nor late).

Coarser grains (`GRAINS`) are kept by the same deltas in the same transaction: `grain_rows(deltas)` says what each
adds (a store writes them: `server.storage.rollup_tables`). `rollups_month` sums the days of a month per unit at
three depths (county 6, township 9, handled-at unit 12 digits), `rollups_month_channel` the same without the
category, so a year's county or township figures read a few thousand rows, not millions. No SQL here.

Two bases (`BASES`): every counter is kept by where the case was **handled** (`org_code`: the hall, centre or
village station that accepted it) and by where the applicant **lives** (`village_code`; a case without one counts
at its handling unit's county code, in the county's total but in no township or village). A contribution's key
carries both codes; each grain keeps one of them (`rollups`, `rollups_month`, `rollups_month_channel` the handled
one, `rollups_residence`, `rollups_residence_month` the residence).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from protocol.lifecycle import Case, ratings_of
from protocol.vocabulary import BAD_RATINGS, OPEN_STATES, CaseState

METRICS: tuple[str, ...] = (
    "accepted",  # 受理量, on accepted_on
    "completed",  # 办结量, on completed_on
    "completed_on_time",  # 按时办结
    "completed_late",  # 超期办结
    "trips_le1",  # completed with trips <= 1 (最多跑一次)
    "rejected",  # 不予受理, on closed_on
    "withdrawn",  # 撤回, on closed_on
    "rated",  # 评价数: ratings (several per case), each on its rating day
    "rated_5",
    "rated_4",
    "rated_3",
    "rated_2",
    "rated_1",
    "bad_followed_up",  # 差评回访, on the follow-up day
    "consultations",  # 咨询量
    "in_progress",  # 在办: accepted, still open (办理中 or 补正中), on accepted_on
    "bad_pending",  # 差评待回访: a bad rating not yet followed up, on its rating day
    "rated_cases",  # 已评价办件: a case with at least one rating, on its first rating day
    "rated_by_resident",  # ratings the resident entered (主动评价), on the rating day
    "bad_followed_up_on_time",  # 差评 followed up by its follow_up_due, on the follow-up day
    "rated_via_window",  # ratings by channel (评价渠道), on the rating day: 窗口评价器
    "rated_via_phone",  # 手机
    "rated_via_online",  # 网上
    "rated_via_callback",  # 电话回访
    "rated_at_intake",  # ratings by step, on the rating day: 接件
    "rated_at_acceptance",  # 受理
    "rated_at_completion",  # 办结
    "rated_at_case",  # 整个办件
)
KEY_COLUMNS: tuple[str, ...] = ("org_code", "day", "category", "channel")  # the daily table's (handled) keys
GOOD_RATINGS: tuple[int, ...] = (5, 4, 3)
CONSULTATION_CATEGORY = "咨询"

_OPEN = frozenset(s.value for s in OPEN_STATES)

Key = tuple[str, str, str, str, str]  # (org_code, day YYYY-MM-DD, category, channel, residence code)
Contribution = dict[Key, dict[str, int]]
HANDLED, RESIDENCE = "handled", "residence"
BASES = (HANDLED, RESIDENCE)


def unknown_residence(org_code: str) -> str:
    """Where a case without the applicant's village counts by residence: its handling unit's county code."""
    return org_code[:6] + "000000"


def residence_of(case: Case) -> str:
    return case.village_code or unknown_residence(case.org_code)


def add_case(total: Contribution, case: Case | None, category: str, sign: int = 1) -> None:
    """Add `sign` to every counter this case counts in, keyed by where it was handled (case.org_code), day,
    category and channel. `sign` -1 takes a former state of the case away: ingest adds the new state and takes the
    old one away, and counters that did not change sum to zero (`without_zeros` drops them)."""
    if case is None:
        return
    org, channel, state, home = case.org_code, case.channel, case.state, residence_of(case)
    if state != CaseState.REJECTED:
        _add(total, (org, case.accepted_on, category, channel, home), sign, "accepted",
             "in_progress" if state in _OPEN else None)
    if state == CaseState.COMPLETED and case.completed_on is not None:
        on_time = case.is_on_time
        _add(total, (org, case.completed_on, category, channel, home), sign, "completed",
             None if on_time is None else "completed_on_time" if on_time else "completed_late",
             "trips_le1" if case.trips <= 1 else None)
    elif state == CaseState.REJECTED and case.closed_on is not None:
        _add(total, (org, case.closed_on, category, channel, home), sign, "rejected")
    elif state == CaseState.WITHDRAWN and case.closed_on is not None:
        _add(total, (org, case.closed_on, category, channel, home), sign, "withdrawn")
    ratings = ratings_of(case) if case.rating is not None else ()
    if ratings:
        _add(total, (org, ratings[0].on, category, channel, home), sign, "rated_cases")
    for r in ratings:
        _add(total, (org, r.on, category, channel, home), sign, "rated", _RATED[r.rating],
             "rated_by_resident" if r.entered_by == "resident" else None, _VIA.get(r.channel), _AT.get(r.step),
             "bad_pending" if r.rating in BAD_RATINGS and r.followed_up_on is None else None)
        if r.followed_up_on is not None:
            on_time = r.follow_up_due is not None and r.followed_up_on <= r.follow_up_due
            _add(total, (org, r.followed_up_on, category, channel, home), sign, "bad_followed_up",
                 "bad_followed_up_on_time" if on_time else None)


_RATED = {n: f"rated_{n}" for n in range(1, 6)}
_VIA = {c: f"rated_via_{c}" for c in ("window", "phone", "online", "callback")}
_AT = {s: f"rated_at_{s}" for s in ("intake", "acceptance", "completion", "case")}


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
    """A consultation names no applicant's village: by residence it counts at the unit's county code."""
    return {(org_code, day, CONSULTATION_CATEGORY, channel, unknown_residence(org_code)): {"consultations": 1}}


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
# The same by where the applicant lives (migration 0035): the days, and the months at the three depths.
RESIDENCE_DAILY = Grain("rollups_residence", ("res_code", "day", "category", "channel"))
RESIDENCE_MONTH = Grain("rollups_residence_month", ("unit", "month", "category", "channel"))
# ... and with the categories summed (migration 0036), as for the handled basis: a table of units reads 3x fewer rows.
RESIDENCE_MONTH_CHANNEL = Grain("rollups_residence_month_channel", ("unit", "month", "channel"))
GRAINS: tuple[Grain, ...] = (DAILY, MONTH, MONTH_CHANNEL, RESIDENCE_DAILY, RESIDENCE_MONTH,
                             RESIDENCE_MONTH_CHANNEL)  # the one place a new grain is added

GrainRows = dict[tuple[str, ...], dict[str, int]]


def _project(c: Contribution, code_at: int) -> GrainRows:
    """The contribution per (one of its two codes, day, category, channel)."""
    out: GrainRows = {}
    for key, metrics in c.items():
        row = out.setdefault((key[code_at], key[1], key[2], key[3]), {})
        for metric, v in metrics.items():
            row[metric] = row.get(metric, 0) + v
    return _without_zero_rows(out)


def _without_zero_rows(rows: GrainRows) -> GrainRows:
    return {k: kept for k, m in rows.items() if (kept := {x: n for x, n in m.items() if n})}


def month_deltas(daily: GrainRows) -> GrainRows:
    """Daily rows (or deltas) keyed (code, day, category, channel) summed per (unit prefix, month, category,
    channel)."""
    out: GrainRows = {}
    for (org, day, category, channel), metrics in daily.items():
        month = day[:7]
        for n in UNIT_LENGTHS:
            row = out.setdefault((org[:n], month, category, channel), {})
            for metric, v in metrics.items():
                row[metric] = row.get(metric, 0) + v
    return _without_zero_rows(out)


def _channel_rows(month: GrainRows) -> GrainRows:
    out: GrainRows = {}
    for (unit, month_key, _category, channel), metrics in month.items():
        row = out.setdefault((unit, month_key, channel), {})
        for metric, v in metrics.items():
            row[metric] = row.get(metric, 0) + v
    return _without_zero_rows(out)


def grain_rows(deltas: Contribution) -> dict[str, GrainRows]:
    """What every grain holds (or, for a delta, must add), by grain name, given daily contributions."""
    handled, residence = _project(deltas, 0), _project(deltas, 4)
    month, residence_month = month_deltas(handled), month_deltas(residence)
    return {DAILY.name: handled, MONTH.name: month, MONTH_CHANNEL.name: _channel_rows(month),
            RESIDENCE_DAILY.name: residence, RESIDENCE_MONTH.name: residence_month,
            RESIDENCE_MONTH_CHANNEL.name: _channel_rows(residence_month)}
