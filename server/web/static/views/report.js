// 报表: a table of one figure for any period, as county and prefecture reports print them: the units one level
// down by month, or the service items by unit, with totals; XLSX and CSV of the same table.
import { h, api, num, pct, routeQuery, routeTo, banner } from "../dom.js";
import { t } from "../i18n.js";
import { onPicker, periodPicker, exportLinks, sortableTable } from "../widgets.js";

const TABLES = ["months", "items"];
const FIGURES = ["accepted", "completed", "completed_on_time", "completed_late", "in_progress", "rejected",
  "withdrawn", "online", "trips_le1", "evaluations", "good_ratings", "bad_ratings", "consultations",
  "completion_rate", "on_time_rate", "online_share", "one_trip_share", "good_rating_rate"];
const ITEM_FIGURES = FIGURES.slice(0, 12);

export async function renderReport(view) {
  const query = routeQuery();
  const scope = Object.fromEntries(Object.entries({
    org: query.org, basis: query.basis, table: query.table || "months", figure: query.figure || "accepted",
    period: query.period || (query.from ? "" : String(new Date().getFullYear())), from: query.from, to: query.to,
  }).filter(([, v]) => v));
  const go = (changes) => { location.hash = routeTo("report", { ...scope, ...changes, ...(changes.period ? { from: "", to: "" } : {}), ...(changes.from ? { period: "" } : {}) }); };
  const resp = await api("GET", `/api/v1/report?${new URLSearchParams(scope)}`);
  if (!resp.ok) {
    view.append(...[h("div", { class: "view-head" }, h("h1", {}, t("nav.report"))),
      resp.body.fields ? periodPicker(query, (p) => go(p), resp.body.fields) : null,
      onPicker(resp.body.fields) ? null : banner(resp.body.detail || resp.body.message)].filter(Boolean));
    return;
  }
  const r = resp.body;
  const isRate = r.figure.endsWith("_rate") || r.figure.endsWith("_share");
  const cell = (v) => (isRate ? pct(v) : num(v));
  const select = (id, value, options, label, onChange) => h("label", { class: "report-choice" }, h("span", { class: "period-label" }, label),
    h("select", { id, onchange: (e) => onChange(e.target.value) },
      ...options.map((o) => h("option", { value: o, selected: o === value }, t(`report.${id}.${o}`)))));
  const figures = r.table === "items" ? ITEM_FIGURES : FIGURES;
  const columns = [
    { key: "label", label: r.row_header, sortable: false },
    ...r.columns.map((c, i) => ({ key: `c${i}`, label: c.label, num: true, sortable: false, render: (row) => cell(row.cells[i]) })),
    { key: "total", label: t("report.total"), num: true, sortable: false, render: (row) => cell(row.total) },
  ];
  view.append(
    h("div", { class: "view-head" }, h("h1", { id: "report-title" }, r.title), h("span", { class: "period-text" }, r.period.label)),
    periodPicker(query, (p) => go(p)),
    h("div", { class: "toolbar" },
      select("table", r.table, TABLES, t("report.table_label"), (table) => go({ table, figure: "accepted" })),
      select("figure", r.figure, figures, t("report.figure_label"), (figure) => go({ figure })),
      select("basis", r.basis, ["handled", "residence"], t("basis.label"), (basis) => go({ basis }))),
    h("section", { class: "panel" },
      h("div", { class: "panel-head" }, h("h2", {}, `${r.figure_label}（${t(`basis.${r.basis}`)}）`), exportLinks("report", scope)),
      r.rows.length ? h("div", { class: "table-scroll" }, sortableTable(columns, [...r.rows, r.total],
        { rowClass: (row) => (row.label === "合计" && row.key === "" ? "total" : null) }))
        : h("p", { class: "empty" }, t("report.empty"))));
}
