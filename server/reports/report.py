"""Report tables as county and prefecture reports print them, for any period (`GET /api/v1/report`):
- `months`: one row per unit one level down (the hall's and the centre's rows included), one column per month;
- `items`: one row per service item (事项) with cases in the period, one column per unit one level down.
Each cell is one figure (`figure`, default 受理量) with row and column totals. The month table sums the rollups
(`Overview`'s sums and `figures_from`: the same numbers as the dashboard); the item table counts the cases behind
the figure by the rule of the case lists, since the rollups do not keep items."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from protocol.messages import OrgUnit
from protocol.vocabulary import LEVEL_PREFIX_LEN, Level
from server.errors import invalid_filter
from server.model.figures import (
    Definition,
    Definitions,
    Period,
    add_counters,
    definitions_named,
    figures_from,
    months_of,
)
from server.model.reference import Reference
from server.reports.overview import Overview, children_of, row_ref
from server.reports.scope import OrgRef, Scope
from server.storage.dashboard import CaseFilter, DashboardStore

REPORT_TABLES = {"months": "月度分单位统计", "items": "分事项分单位统计"}
# Figures a month table may show: every count and rate of `Figures` but the open-case ones (not by month).
MONTH_FIGURES = {
    "accepted": "受理量", "completed": "办结量", "completed_on_time": "按时办结", "completed_late": "超期办结",
    "in_progress": "在办", "rejected": "不予受理", "withdrawn": "撤回", "online": "网上受理",
    "trips_le1": "最多跑一次办结", "evaluations": "评价数", "good_ratings": "好评", "bad_ratings": "差评",
    "consultations": "咨询量", "completion_rate": "办结率", "on_time_rate": "按时办结率", "online_share": "网上办理率",
    "one_trip_share": "最多跑一次率", "good_rating_rate": "好评率"}
# Figures an item table may show: the counts that have a case list (the rule that counts an item's cases).
ITEM_FIGURES = {k: MONTH_FIGURES[k] for k in (
    "accepted", "completed", "completed_on_time", "completed_late", "in_progress", "rejected", "withdrawn", "online",
    "trips_le1", "evaluations", "good_ratings", "bad_ratings")}


class ReportColumn(msgspec.Struct, omit_defaults=False):
    key: str  # YYYY-MM, or a unit's code
    label: str


class ReportRow(msgspec.Struct, omit_defaults=False):
    key: str  # a unit's code, or an item's code
    label: str
    cells: list[float | int | None]
    total: float | int | None
    org: OrgRef | None = None  # the unit of a month table's row


class ReportResponse(msgspec.Struct, omit_defaults=False):
    """`GET /api/v1/report`: a table of one figure, units by months or items by units, with totals."""

    table: str
    title: str
    figure: str
    figure_label: str
    org: OrgRef
    period: Period
    basis: str
    row_header: str
    columns: list[ReportColumn]
    rows: list[ReportRow]
    total: ReportRow  # the column totals, and the grand total
    definitions: list[Definition]


class Reports:
    def __init__(self, overview: Overview, store: DashboardStore, reference: Reference, definitions: Definitions
                 ) -> None:
        self._overview = overview
        self._store = store
        self._reference = reference
        self._definitions = definitions

    async def report(self, scope: Scope, params: Mapping[str, str]) -> ReportResponse:
        table = params.get("table", "months")
        if table not in REPORT_TABLES:
            raise invalid_filter("table", f"没有「{table}」这种报表：应为 months（月度分单位）或 items（分事项分单位）")
        figures = MONTH_FIGURES if table == "months" else ITEM_FIGURES
        figure = params.get("figure", "accepted")
        if figure not in figures:
            raise invalid_filter("figure", f"报表不能显示「{figure}」：可选 {'、'.join(figures)}")
        level, units = self._rows(scope)
        org = self._overview.scope_ref(scope)
        head = (f"{org.name}{scope.period.label}{REPORT_TABLES[table]}（{figures[figure]}）")
        if table == "months":
            return await self._months(scope, head, figure, level, units, org)
        return await self._items(scope, head, figure, level, units, org)

    def _rows(self, scope: Scope) -> tuple[Level, list[OrgUnit]]:
        """The units one level down (as the overview's table lists them), or the unit itself when it has none."""
        below = None if scope.is_centre or scope.is_hall else children_of(scope.unit, self._reference)
        if below is None:
            return Level(scope.unit.level), [scope.unit]
        level, units = below
        return level, self._overview.rows_of(units, level, scope.basis)

    async def _months(self, scope: Scope, title: str, figure: str, level: Level, units: list[OrgUnit],
                      org: OrgRef) -> ReportResponse:
        p, d = scope.period, self._definitions
        n = len(scope.prefix) if units == [scope.unit] else LEVEL_PREFIX_LEN[level]
        keys = [scope.prefix] if units == [scope.unit] else [u.code[:n] for u in units]
        sums = await self._store.figure_sums(n, scope.prefix, p.date_from, p.date_to, ("unit", "month"), units=keys,
                                             basis=scope.basis)
        months = months_of(p.date_from, p.date_to)

        def value(counters: Mapping[str, int]) -> float | int | None:
            return getattr(figures_from(counters, d), figure)

        rows: list[ReportRow] = []
        by_month: dict[str, dict[str, int]] = {m: {} for m in months}
        everything: dict[str, int] = {}
        for u, k in zip(units, keys, strict=True):
            row_total: dict[str, int] = {}
            cells = []
            for m in months:
                c = sums.get((k, m), {})
                add_counters(row_total, c)
                add_counters(by_month[m], c)
                cells.append(value(c))
            add_counters(everything, row_total)
            ref = org if units == [scope.unit] else row_ref(u, level, scope.basis)
            rows.append(ReportRow(u.code, ref.name, cells, value(row_total), ref))
        total = ReportRow("", "合计", [value(by_month[m]) for m in months], value(everything))
        return ReportResponse("months", title, figure, MONTH_FIGURES[figure], org, p, scope.basis, "单位",
                              [ReportColumn(m, f"{int(m[5:])}月" if len(months) <= 12 else m) for m in months],
                              rows, total, definitions_named(d))

    async def _items(self, scope: Scope, title: str, figure: str, level: Level, units: list[OrgUnit],
                     org: OrgRef) -> ReportResponse:
        p = scope.period
        single = units == [scope.unit]
        n = len(scope.prefix) if single else LEVEL_PREFIX_LEN[level]
        keys = [scope.prefix] if single else [u.code[:n] for u in units]
        where = CaseFilter(prefix=scope.prefix, figure=figure, date_from=p.date_from, date_to=p.date_to,
                           good_ratings=self._definitions.good_ratings, basis=scope.basis)
        counts = await self._store.item_counts(where, n)
        items = sorted({item for (unit, item) in counts if unit in set(keys)})
        refs = [org] if single else [row_ref(u, level, scope.basis) for u in units]
        rows = []
        for code in items:
            cells: list[float | int | None] = [counts.get((k, code), 0) for k in keys]
            item = self._reference.items.get(code)
            rows.append(ReportRow(code, item.name if item else code, cells, sum(c or 0 for c in cells)))
        column_totals: list[float | int | None] = [sum(counts.get((k, code), 0) for code in items) for k in keys]
        total = ReportRow("", "合计", column_totals, sum(c or 0 for c in column_totals))
        return ReportResponse("items", title, figure, ITEM_FIGURES[figure], org, p, scope.basis, "事项",
                              [ReportColumn(u.code, r.name) for u, r in zip(units, refs, strict=True)], rows, total,
                              definitions_named(self._definitions))

