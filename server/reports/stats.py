"""Figures per org unit and period, summed from the rollups (a prefix and a date range: milliseconds at millions of
cases). Rates are computed here, once: on_time_rate = completed_on_time / completed, good_rating_rate =
good ratings / evaluations, the good levels as the county's `[figures] good_includes_basic` says (default
`rollups.GOOD_RATINGS`, the same as the dashboard's); None when the denominator is 0."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import NamedTuple

from protocol.messages import StatsResponse, StatsRow
from protocol.vocabulary import LEVEL_PREFIX_LEN, Level, level_of
from server.errors import ApiError
from server.model.reference import Reference
from server.model.rollups import GOOD_RATINGS
from server.storage.base import Store

PARAMS = ("level", "from", "to", "org")
RATE_DIGITS = 4


class StatsQuery(NamedTuple):
    level: Level
    date_from: str
    date_to: str
    org: str | None  # as given
    prefix: str  # digits every unit in the answer starts with


def parse_stats_query(params: Mapping[str, str], reference: Reference) -> StatsQuery:
    """Check the query string; raises ApiError(bad_request) saying what to fix."""
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise ApiError("bad_request", f"unknown parameter(s) {', '.join(unknown)}; allowed: {', '.join(PARAMS)}")
    levels = ", ".join(level.value for level in Level)
    try:
        level = Level(params.get("level", ""))
    except ValueError:
        raise ApiError("bad_request", f"level={params.get('level', '')!r}: expected one of {levels}") from None
    days = {}
    for name in ("from", "to"):
        value = params.get(name, "")
        try:
            if len(value) != 10:
                raise ValueError
            days[name] = date.fromisoformat(value).isoformat()
        except ValueError:
            raise ApiError("bad_request", f"{name}={value!r}: expected a date YYYY-MM-DD") from None
    if days["from"] > days["to"]:
        raise ApiError("bad_request", f"from={days['from']} is after to={days['to']}")
    county = reference.county.code[:6]
    org = params.get("org")
    prefix = county
    if org is not None:
        if not (org.isdigit() and len(org) in (6, 9, 12)):
            raise ApiError("bad_request", f"org={org!r}: expected a 6-, 9- or 12-digit division code or prefix")
        prefix = org[:LEVEL_PREFIX_LEN[level_of(org)]] if len(org) == 12 else org
        if not prefix.startswith(county):
            raise ApiError("bad_request", f"org={org}: not in this county ({county})")
        if len(prefix) > LEVEL_PREFIX_LEN[level]:
            raise ApiError("bad_request", f"org={org} is deeper than level={level.value}: ask for a deeper level "
                                          "or a shorter org prefix")
    return StatsQuery(level, days["from"], days["to"], org, prefix)


async def compute_stats(store: Store, reference: Reference, query: StatsQuery,
                        good_ratings: tuple[int, ...] = GOOD_RATINGS) -> StatsResponse:
    """One row per org unit of the level under the prefix, including units with zero figures, in code order."""
    n = LEVEL_PREFIX_LEN[query.level]
    sums = await store.rollup_sums(n, query.prefix, query.date_from, query.date_to)
    rows = []
    for unit in reference.units_under(query.prefix, query.level):
        s = sums.get(unit.code[:n], {})
        completed, on_time, rated = s.get("completed", 0), s.get("completed_on_time", 0), s.get("rated", 0)
        good = sum(s.get(f"rated_{r}", 0) for r in good_ratings)
        rows.append(StatsRow(
            code=unit.code, name=unit.name, level=unit.level, accepted=s.get("accepted", 0), completed=completed,
            completed_on_time=on_time, on_time_rate=_rate(on_time, completed), rejected=s.get("rejected", 0),
            withdrawn=s.get("withdrawn", 0), evaluations=rated, good_ratings=good,
            good_rating_rate=_rate(good, rated)))
    return StatsResponse(level=query.level.value, date_from=query.date_from, date_to=query.date_to, org=query.org,
                         rows=rows)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, RATE_DIGITS) if whole else None
