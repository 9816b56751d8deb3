"""`GET /api/v1/stats`: figures per org unit of a level for a date range, in the API's fixed row shape.

The figures are the dashboard's (`server.reports.overview.Overview.unit_figures`, every figure from
`server.model.figures`): one path and one rounding for both, the good rating levels as the county's `[figures]`
settings say. This module only checks the query and maps `Figures` to `StatsRow`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import NamedTuple

from protocol.messages import FigureDefinition, StatsResponse, StatsRow
from protocol.vocabulary import LEVEL_PREFIX_LEN, Level, level_of
from server.errors import ApiError
from server.model.figures import definitions_named
from server.model.reference import Reference
from server.model.rollups import BASES, HANDLED
from server.reports.overview import Overview, UnitFigures

PARAMS = ("level", "from", "to", "org", "basis")


class StatsQuery(NamedTuple):
    level: Level
    date_from: str
    date_to: str
    org: str | None  # as given
    prefix: str  # digits every unit in the answer starts with
    basis: str = HANDLED  # handled: where the case was handled; residence: where the applicant lives


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
    top = reference.root_prefix
    org = params.get("org")
    prefix = top
    if org is not None:
        if not (org.isdigit() and len(org) in (2, 4, 6, 9, 12)):
            raise ApiError("bad_request", f"org={org!r}: expected a 2-, 4-, 6-, 9- or 12-digit division code or "
                                          "prefix")
        prefix = org[:LEVEL_PREFIX_LEN[level_of(org)]] if len(org) == 12 else org
        if not prefix.startswith(top):
            raise ApiError("bad_request", f"org={org}: not in this server's area ({top})")
        if len(prefix) > LEVEL_PREFIX_LEN[level]:
            raise ApiError("bad_request", f"org={org} is deeper than level={level.value}: ask for a deeper level "
                                          "or a shorter org prefix")
    if len(prefix) > LEVEL_PREFIX_LEN[level]:
        raise ApiError("bad_request", f"level={level.value} is above this server's area ({prefix}): ask for a "
                                      "deeper level")
    basis = params.get("basis", HANDLED)
    if basis not in BASES:
        raise ApiError("bad_request", f"basis={basis!r}: expected handled (where the case was handled) or "
                                      "residence (where the applicant lives)")
    return StatsQuery(level, days["from"], days["to"], org, prefix, basis)


async def compute_stats(overview: Overview, reference: Reference, query: StatsQuery) -> StatsResponse:
    """One row per org unit of the level under the prefix, including units with zero figures, in code order: the
    dashboard's figures of those units (`Overview.unit_figures`), in the API's shape. The halls above the level
    are rows too (a county's hall among its townships: `Reference.table_units`; by residence its row holds the
    cases whose applicant's village is unknown); the townships' centres are not rows of the village level."""
    units = [u for u in reference.table_units(query.prefix, query.level)
             if not (query.level is Level.VILLAGE and u.level == Level.TOWNSHIP)]
    rows = await overview.unit_figures(query.prefix, query.date_from, query.date_to, query.level, units,
                                       basis=query.basis)
    return StatsResponse(level=query.level.value, date_from=query.date_from, date_to=query.date_to, org=query.org,
                         rows=[_row(r) for r in rows], basis=query.basis,
                         definitions=[FigureDefinition(d.figure, d.choice, d.text, d.label)
                                      for d in definitions_named(overview.definitions)])


def _row(unit: UnitFigures) -> StatsRow:
    f = unit.figures
    return StatsRow(code=unit.org.code, name=unit.org.name, level=unit.org.level, accepted=f.accepted,
                    completed=f.completed, completed_on_time=f.completed_on_time, on_time_rate=f.on_time_rate,
                    rejected=f.rejected, withdrawn=f.withdrawn, evaluations=f.evaluations,
                    good_ratings=f.good_ratings, good_rating_rate=f.good_rating_rate, online=f.online,
                    online_completed=f.online_completed, online_share=f.online_share,
                    active_evaluation_rate=f.active_evaluation_rate)
