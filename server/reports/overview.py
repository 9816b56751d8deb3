"""Figures per org unit and period for the dashboard and the API: one unit with its breakdowns, trend and the units
one level down; a whole level as a table; the yearbook summary. Sums come from the rollups (monthly grain for whole
months, days at the edges), open-overdue counts from the open cases, every figure from `server.model.figures`.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from protocol.messages import OrgUnit
from protocol.vocabulary import CHILD_LEVEL, LEVEL_PREFIX_LEN, Level, level_of
from server.errors import invalid_filter
from server.model.figures import (
    CATEGORY_LABELS,
    CHANNEL_LABELS,
    Definition,
    Definitions,
    Figures,
    ItemFigures,
    Period,
    add_counters,
    definitions_named,
    figures_from,
    item_figures,
    months_of,
    yearbook_sentence,
)
from server.model.reference import CATEGORIES, Reference
from server.model.rollups import HANDLED, RESIDENCE
from server.reports.scope import OrgRef, Scope, org_ref
from server.storage.dashboard import DashboardStore

UNKNOWN_RESIDENCE = "居住地未填"  # the row of cases whose applicant's village was not recorded, by residence


class UnitFigures(msgspec.Struct, omit_defaults=False):
    org: OrgRef
    figures: Figures


class Breakdown(msgspec.Struct, omit_defaults=False):
    key: str
    label: str
    figures: Figures


class OverviewResponse(msgspec.Struct, omit_defaults=False):
    """`GET /api/v1/overview`: one org unit for one period."""

    org: OrgRef
    path: list[OrgRef]  # county .. this unit
    period: Period
    as_of: str
    definitions: list[Definition]
    basis: str  # handled (by where handled) or residence (by where the applicant lives)
    figures: Figures
    by_category: list[Breakdown]
    by_channel: list[Breakdown]
    trend: list[Breakdown]  # per month of the period, key YYYY-MM
    children: list[UnitFigures]  # townships of a county; the centre and villages of a township; none for a village
    items: ItemFigures  # catalogue items: not case figures


class UnitsResponse(msgspec.Struct, omit_defaults=False):
    """`GET /api/v1/units`: every unit of a level under an org, with the total of the org."""

    level: str
    org: OrgRef
    period: Period
    as_of: str
    definitions: list[Definition]
    basis: str
    total: Figures
    rows: list[UnitFigures]


class SummaryRow(msgspec.Struct, omit_defaults=False):
    category: str
    label: str
    accepted: int
    completed: int
    completed_on_time: int
    on_time_rate: float | None
    in_progress: int


class SummaryResponse(msgspec.Struct, omit_defaults=False):
    """`GET /api/v1/summary`: the yearbook sentence and the table behind it."""

    org: OrgRef
    period: Period
    sentence: str
    rows: list[SummaryRow]
    total: SummaryRow
    consultations: int
    evaluations: int
    good_rating_rate: float | None
    definitions: list[Definition]


def path_of(unit: OrgUnit, reference: Reference) -> list[OrgRef]:
    chain = [unit]
    while chain[-1].parent is not None and chain[-1].parent in reference.org_units:
        chain.append(reference.org_units[chain[-1].parent])
    return [org_ref(u) for u in reversed(chain)]


def children_of(unit: OrgUnit, reference: Reference) -> tuple[Level, list[OrgUnit]] | None:
    """The units one level down: counties of a prefecture, townships of a county, each with the hall of the unit
    when it has one; the centre itself (its 12-digit code) and the villages of a township. None for a village."""
    level = CHILD_LEVEL.get(Level(unit.level))
    if level is None:
        return None
    prefix = unit.code[:LEVEL_PREFIX_LEN[Level(unit.level)]]
    units = [u for u in reference.table_units(prefix, level)
             if u is unit or LEVEL_PREFIX_LEN[Level(u.level)] >= LEVEL_PREFIX_LEN[level]]
    return level, units


def row_ref(unit: OrgUnit, level: Level, basis: str) -> OrgRef:
    """A unit as a row of a table of `level`: a hall listed among the units below it is the hall itself (by
    residence: the cases whose applicant's village is unknown, which count at the county's code)."""
    ref = org_ref(unit)
    if level_of(unit.code) is not level and unit.kind == "hall":
        name = f"{unit.name}（{UNKNOWN_RESIDENCE}）" if basis == RESIDENCE else f"{unit.name}政务服务大厅"
        return OrgRef(ref.code, name, ref.level, "hall")
    return ref


class Overview:
    """The dashboard's figures; one instance per app (holds the store, reference and definitions)."""

    def __init__(self, store: DashboardStore, reference: Reference, definitions: Definitions) -> None:
        self._store = store
        self._reference = reference
        self.definitions = definitions

    async def overview(self, scope: Scope) -> OverviewResponse:
        p, unit = scope.period, scope.unit
        n = len(scope.prefix)
        sums = await self._store.figure_sums(n, scope.prefix, p.date_from, p.date_to, ("month", "category", "channel"),
                                             units=[scope.prefix], basis=scope.basis)
        total: dict[str, int] = {}
        parts: dict[str, dict[str, dict[str, int]]] = {"month": {}, "category": {}, "channel": {}}
        for (month, category, channel), counters in sums.items():
            add_counters(total, counters)
            for group, key in (("month", month), ("category", category), ("channel", channel)):
                add_counters(parts[group].setdefault(key, {}), counters)
        d = self.definitions
        children: list[UnitFigures] = []
        below = None if scope.is_centre or scope.is_hall else children_of(unit, self._reference)
        if below is not None:
            children = await self._unit_rows(scope, below[0], self.rows_of(below[1], below[0], scope.basis))
            overdue = sum(c.figures.overdue_open for c in children)
        else:
            overdue = (await self._store.open_overdue_counts(n, scope.prefix, scope.as_of, scope.basis)
                       ).get(scope.prefix, 0)
        categories = [*CATEGORIES, *sorted(k for k in parts["category"] if k not in CATEGORIES and k != "咨询")]
        return OverviewResponse(
            org=self.scope_ref(scope), path=self._path(scope), period=p, as_of=scope.as_of,
            definitions=definitions_named(d), basis=scope.basis, figures=figures_from(total, d, overdue_open=overdue),
            by_category=[Breakdown(c, CATEGORY_LABELS.get(c, c), figures_from(parts["category"].get(c, {}), d))
                         for c in categories],
            by_channel=[Breakdown(c, label, figures_from(parts["channel"].get(c, {}), d))
                        for c, label in CHANNEL_LABELS.items()],
            trend=[Breakdown(m, f"{int(m[5:])}月", figures_from(parts["month"].get(m, {}), d))
                   for m in months_of(p.date_from, p.date_to)],
            children=children, items=item_figures(self._reference.items_as_of(p.date_to), d))

    @staticmethod
    def rows_of(units: list[OrgUnit], level: Level, basis: str) -> list[OrgUnit]:
        """By residence a township's centre has no row among villages: an applicant lives in a village."""
        if basis != RESIDENCE or level is not Level.VILLAGE:
            return units
        return [u for u in units if u.level != Level.TOWNSHIP]

    @staticmethod
    def scope_ref(scope: Scope) -> OrgRef:
        ref = org_ref(scope.unit)
        if scope.is_hall:
            return OrgRef(ref.code, f"{ref.name}政务服务大厅", ref.level, "hall")
        return OrgRef(ref.code, f"{ref.name}便民服务中心", ref.level, "centre") if scope.is_centre else ref

    def _path(self, scope: Scope) -> list[OrgRef]:
        path = path_of(scope.unit, self._reference)
        return [*path, self.scope_ref(scope)] if scope.is_centre else path

    async def units(self, scope: Scope, level: Level) -> UnitsResponse:
        unit = scope.unit
        if LEVEL_PREFIX_LEN[level] < len(scope.prefix):
            raise invalid_filter("level", f"层级 {level.value} 不在 {unit.name} 之下：请选更下一级")
        units = self.rows_of(self._reference.table_units(scope.prefix, level), level, scope.basis)
        rows = await self._unit_rows(scope, level, units)
        total: dict[str, int] = {}
        sums = await self._store.figure_sums(len(scope.prefix), scope.prefix, scope.period.date_from,
                                             scope.period.date_to, (), units=[scope.prefix], basis=scope.basis)
        for counters in sums.values():
            add_counters(total, counters)
        overdue = sum(r.figures.overdue_open for r in rows)
        return UnitsResponse(level=level.value, org=self.scope_ref(scope), period=scope.period, as_of=scope.as_of,
                             definitions=definitions_named(self.definitions), basis=scope.basis,
                             total=figures_from(total, self.definitions, overdue_open=overdue), rows=rows)

    async def unit_figures(self, prefix: str, date_from: str, date_to: str, level: Level, units: Sequence[OrgUnit],
                           as_of: str | None = None, basis: str = HANDLED) -> list[UnitFigures]:
        """The figures of each of `units` (all under `prefix`, at `level`) for [date_from, date_to], in the order
        given; open cases overdue on `as_of` too, when it is given. A unit of a level above may be one of the units
        (`Reference.table_units`): a township's centre among villages, a hall among the units below it, counted at
        its code's first digits: the cases handled there itself."""
        n = LEVEL_PREFIX_LEN[level]
        keys = [u.code[:n] for u in units]
        sums = await self._store.figure_sums(n, prefix, date_from, date_to, ("unit",), units=keys, basis=basis)
        overdue = {} if as_of is None else await self._store.open_overdue_counts(n, prefix, as_of, basis)
        return [UnitFigures(row_ref(u, level, basis), figures_from(sums.get((k,), {}), self.definitions,
                                                                   overdue_open=overdue.get(k, 0)))
                for u, k in zip(units, keys, strict=True)]

    async def _unit_rows(self, scope: Scope, level: Level, units: list[OrgUnit]) -> list[UnitFigures]:
        p = scope.period
        return await self.unit_figures(scope.prefix, p.date_from, p.date_to, level, units, scope.as_of, scope.basis)

    async def summary(self, scope: Scope) -> SummaryResponse:
        o = await self.overview(scope)
        rows = [SummaryRow(b.key, b.label, b.figures.accepted, b.figures.completed, b.figures.completed_on_time,
                           b.figures.on_time_rate, b.figures.in_progress) for b in o.by_category]
        f = o.figures
        return SummaryResponse(
            org=o.org, period=o.period,
            sentence=yearbook_sentence(o.period, {b.key: b.figures for b in o.by_category}, f, o.org.name),
            rows=rows, total=SummaryRow("合计", "合计", f.accepted, f.completed, f.completed_on_time, f.on_time_rate,
                                        f.in_progress),
            consultations=f.consultations, evaluations=f.evaluations, good_rating_rate=f.good_rating_rate,
            definitions=o.definitions)
