"""`GET /api/v1/stats`: figures per org unit of a level for a date range, in the API's fixed row shape.

The figures are the dashboard's (`server.reports.overview.Overview.unit_figures`, every figure from
`server.model.figures`): one path and one rounding for both, the good rating levels as the county's `[figures]`
settings say. This module only checks the query and maps `Figures` to `StatsRow`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import NamedTuple

from protocol.messages import StatsResponse, StatsRow
from protocol.vocabulary import LEVEL_PREFIX_LEN, Level, level_of
from server.errors import ApiError
from server.model.reference import Reference
from server.reports.overview import Overview, UnitFigures

PARAMS = ("level", "from", "to", "org")


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


async def compute_stats(overview: Overview, reference: Reference, query: StatsQuery) -> StatsResponse:
    """One row per org unit of the level under the prefix, including units with zero figures, in code order: the
    dashboard's figures of those units (`Overview.unit_figures`), in the API's shape."""
    units = reference.units_under(query.prefix, query.level)
    rows = await overview.unit_figures(query.prefix, query.date_from, query.date_to, query.level, units)
    return StatsResponse(level=query.level.value, date_from=query.date_from, date_to=query.date_to, org=query.org,
                         rows=[_row(r) for r in rows])


def _row(unit: UnitFigures) -> StatsRow:
    f = unit.figures
    return StatsRow(code=unit.org.code, name=unit.org.name, level=unit.org.level, accepted=f.accepted,
                    completed=f.completed, completed_on_time=f.completed_on_time, on_time_rate=f.on_time_rate,
                    rejected=f.rejected, withdrawn=f.withdrawn, evaluations=f.evaluations,
                    good_ratings=f.good_ratings, good_rating_rate=f.good_rating_rate)
