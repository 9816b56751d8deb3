// Pieces the views share: the period picker, export links, headline cards, sortable tables.
import { h, num, pct, routeTo, apiQuery } from "./dom.js";
import { t } from "./i18n.js";

const thisYear = new Date().getFullYear();

const PICKER_FIELDS = ["from", "to", "period", "as_of"];

// Whether the period picker shows the server's message for these `fields` itself (no banner needed then).
export function onPicker(fields) {
  return PICKER_FIELDS.some((k) => fields?.[k]);
}

// A period form: year, then 全年 / a quarter / a month, or a custom range. Calls onChange(query) with
// {period} or {from, to}. A range the server could not use is not sent: the picker says on the dates what is wrong.
// `fields` are the server's per-filter messages (an address typed by hand), shown the same way.
export function periodPicker(query, onChange, fields = {}) {
  const period = query.period || (query.from ? "" : String(thisYear));
  const year = period ? period.slice(0, 4) : (query.from || String(thisYear)).slice(0, 4);
  const part = period.length > 4 ? period.slice(5) : "";
  const yearSel = h("select", { id: "p-year", "aria-label": t("period.year") },
    ...Array.from({ length: 8 }, (_, i) => String(thisYear - i)).map((y) =>
      h("option", { value: y, selected: y === year }, t("period.year_n", { y }))));
  const parts = [["", t("period.whole_year")], ...[1, 2, 3, 4].map((q) => [`Q${q}`, t(`period.q${q}`)]),
    ...Array.from({ length: 12 }, (_, i) => [String(i + 1).padStart(2, "0"), t("period.month_n", { m: i + 1 })]),
    ["range", t("period.range")]];
  const partSel = h("select", { id: "p-part", "aria-label": t("period.part") },
    ...parts.map(([v, label]) => h("option", { value: v, selected: v === (query.from || query.to ? "range" : part) }, label)));
  const from = h("input", { type: "date", id: "p-from", value: query.from || `${year}-01-01`, "aria-label": t("period.from"),
    "aria-describedby": "p-error" });
  const to = h("input", { type: "date", id: "p-to", value: query.to || `${year}-12-31`, "aria-label": t("period.to"),
    "aria-describedby": "p-error" });
  const range = h("span", { class: "range", hidden: partSel.value !== "range" }, from, h("span", {}, t("period.to_sep")), to);
  const error = h("p", { class: "field-error", id: "p-error", role: "alert" });
  const showError = (message, inputs = []) => {
    error.textContent = message || "";
    for (const el of [yearSel, partSel, from, to]) el.setAttribute("aria-invalid", String(inputs.includes(el)));
  };
  const serverField = PICKER_FIELDS.find((k) => fields[k]);
  if (serverField) showError(fields[serverField], { from: [from], to: [to], period: [partSel] }[serverField] || []);
  const apply = () => {
    if (partSel.value === "range") {
      range.hidden = false;
      if (!from.value || !to.value) {
        showError(t(from.value ? "period.to_missing" : "period.from_missing"), [from.value ? to : from]);
        return;
      }
      if (from.value > to.value) {
        showError(t("period.reversed", { from: from.value, to: to.value }), [from, to]);
        return;
      }
      showError(null);
      onChange({ from: from.value, to: to.value });
      return;
    }
    range.hidden = true;
    showError(null);
    onChange({ period: partSel.value ? `${yearSel.value}-${partSel.value}` : yearSel.value });
  };
  for (const el of [yearSel, partSel, from, to]) el.addEventListener("change", apply);
  return h("form", { class: "period", onsubmit: (e) => e.preventDefault() },
    h("span", { class: "period-label" }, t("period.label")), yearSel, partSel, range, error);
}

// A name as a table cell shows it: one line, an ellipsis when long, the whole text as its tooltip, so that a long
// name never pushes the other columns away.
export function clipped(text) {
  return h("span", { class: "clip", title: text }, text);
}

// A case number as the link to the case's own page (办件详情).
export function caseLink(c) {
  return h("a", { href: `#/case/${c.case_id}`, class: "mono case-link", dataset: { caseId: c.case_id } }, c.case_no || c.case_id);
}

// Links that download a table as XLSX and CSV, with the view's own query.
export function exportLinks(table, query) {
  const link = (format) => h("a", { class: "button secondary", href: `/api/v1/export/${table}?${apiQuery({ ...query, format })}`,
    download: "", dataset: { export: `${table}-${format}` } }, t(`export.${format}`));
  return h("span", { class: "exports" }, link("xlsx"), link("csv"));
}

// A figure as a link to the list of cases behind it (figures without a case list stay plain numbers).
export function figureLink(value, figure, query) {
  if (!figure || !value) return num(value);
  return h("a", { href: routeTo("cases", { ...query, figure }), class: "figure-link", dataset: { figure } }, num(value));
}

// Headline cards: [label key, value text, note, figure for the case list, tone]
// items: [key, value, note, href, tone, definition label (the county's choice of definition, shown beside the name)]
export function cards(items) {
  return h("ul", { class: "cards" }, ...items.map(([key, value, note, href, tone, defined]) =>
    h("li", { class: `card${tone ? ` card-${tone}` : ""}`, dataset: { card: key } },
      h("span", { class: "card-label" }, t(`fig.${key}`), defined ? h("span", { class: "defined", dataset: { definedAs: key } }, `(${defined})`) : null),
      href ? h("a", { href, class: "card-value" }, value) : h("strong", { class: "card-value" }, value),
      note ? h("small", {}, note) : null)));
}

// A table whose columns sort on click. columns: [{key, label, num?, render?(row)}]; rows: objects.
export function sortableTable(columns, rows, { sort, order = "asc", onSort, caption, rowClass } = {}) {
  const head = h("tr", {}, ...columns.map((c) => {
    const sorted = sort === c.key;
    const th = h("th", { scope: "col", class: c.num ? "num" : null, "aria-sort": sorted ? (order === "asc" ? "ascending" : "descending") : null },
      onSort && c.sortable !== false
        ? h("button", { type: "button", class: "sort", onclick: () => onSort(c.key, sorted && order === "asc" ? "desc" : "asc") },
          c.label, h("span", { class: "arrow", "aria-hidden": "true" }, sorted ? (order === "asc" ? "▲" : "▼") : ""))
        : c.label);
    if (c.title) th.title = c.title;
    return th;
  }));
  const body = rows.map((row) => h("tr", { class: rowClass ? rowClass(row) : null },
    ...columns.map((c) => h("td", { class: c.num ? "num" : null }, c.render ? c.render(row) : row[c.key] ?? "—"))));
  return h("table", { class: "data" }, caption ? h("caption", {}, caption) : null, h("thead", {}, head), h("tbody", {}, ...body));
}

// The figure columns of unit, category and channel tables, each count a link to its cases.
// The short name of the county's definition of a figure ("÷办结量"), or "" when it has one definition only.
export function definedAs(definitions, figure) {
  return definitions.find((d) => d.figure === figure)?.label || "";
}

export function figureColumns(query, orgOf, definitions) {
  const note = (figure) => definitions.find((d) => d.figure === figure)?.text;
  const named = (figure) => `${t(`fig.${figure}`)}(${definedAs(definitions, figure)})`;
  const link = (figure, field) => (row) => figureLink(row.figures[field], figure, { ...query, ...orgOf(row) });
  const rate = (field) => (row) => pct(row.figures[field]);
  return [
    { key: "accepted", label: t("fig.accepted"), num: true, render: link("accepted", "accepted") },
    { key: "completed", label: t("fig.completed"), num: true, render: link("completed", "completed") },
    { key: "on_time_rate", label: t("fig.on_time_rate"), num: true, render: rate("on_time_rate") },
    { key: "completed_late", label: t("fig.completed_late"), num: true, render: link("completed_late", "completed_late") },
    { key: "in_progress", label: t("fig.in_progress"), num: true, render: link("in_progress", "in_progress") },
    { key: "overdue_open", label: t("fig.overdue_open"), num: true, render: link("overdue_open", "overdue_open") },
    { key: "rejected", label: t("fig.rejected"), num: true, render: link("rejected", "rejected") },
    { key: "online_share", label: named("online_share"), num: true, title: note("online_share"), render: rate("online_share") },
    { key: "one_trip_share", label: t("fig.one_trip_share"), num: true, render: rate("one_trip_share") },
    { key: "evaluations", label: t("fig.evaluations"), num: true, render: link("evaluations", "evaluations") },
    { key: "active_evaluation_rate", label: named("active_evaluation_rate"), num: true, title: note("active_evaluation_rate"), render: rate("active_evaluation_rate") },
    { key: "good_rating_rate", label: named("good_rating_rate"), num: true, title: note("good_rating_rate"), render: rate("good_rating_rate") },
    { key: "bad_pending", label: t("fig.bad_pending"), num: true, render: link("bad_pending", "bad_pending") },
    { key: "consultations", label: t("fig.consultations"), num: true, render: (row) => num(row.figures.consultations) },
  ];
}

export function sortRows(rows, key, order) {
  const value = (r) => (r.figures && key in r.figures ? r.figures[key] : r[key]);
  return [...rows].sort((a, b) => {
    const x = value(a) ?? -Infinity;
    const y = value(b) ?? -Infinity;
    const c = typeof x === "string" ? x.localeCompare(y, "zh-CN") : x - y;
    return order === "asc" ? c : -c;
  });
}

export function definitionsNote(definitions) {
  return h("ul", { class: "definitions" }, ...definitions.map((d) => h("li", { dataset: { definition: d.figure } }, d.text)));
}
