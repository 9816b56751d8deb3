// 审计日志 (the auditor only): who did what, when (China time), from where, with what outcome; filters by days,
// account, operation and outcome; export to Excel or CSV with the same filters. Newest first.
import { h, api, apiQuery, banner, num, routeQuery, routeTo } from "../dom.js";
import { t } from "../i18n.js";
import { sortableTable } from "../widgets.js";

const OUTCOMES = ["ok", "refused", "failed"];
const PAGE = 100;

export async function renderAudit(view) {
  const query = routeQuery();
  const filters = { from: query.from || "", to: query.to || "", actor: query.actor || "", action: query.action || "", outcome: query.outcome || "" };
  const offset = Math.max(0, Number(query.offset) || 0);
  const resp = await api("GET", `/api/v1/audit?${apiQuery({ ...filters, limit: String(PAGE), offset: String(offset) })}`);
  view.append(h("div", { class: "view-head" }, h("h1", {}, t("audit.title")),
    resp.ok ? h("span", { class: "period-text" }, t("audit.count", { n: num(resp.body.total), days: resp.body.retention_days })) : null));
  const field = (name, attrs) => h("label", {}, t(`audit.${name}`), h("input", { name, value: filters[name], ...attrs }));
  const outcome = h("select", { name: "outcome" }, h("option", { value: "" }, t("audit.any")),
    ...OUTCOMES.map((o) => h("option", { value: o, selected: o === filters.outcome }, t(`audit.outcome_${o}`))));
  const form = h("form", { class: "toolbar", id: "audit-filter" },
    field("from", { type: "date" }), field("to", { type: "date" }), field("actor", { type: "text", size: "14" }),
    field("action", { type: "text", size: "14", placeholder: "login" }),
    h("label", {}, t("audit.outcome"), outcome), h("button", { type: "submit" }, t("audit.filter")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    location.hash = routeTo("audit", data);
  });
  view.append(h("p", { class: "hint" }, t("audit.hint")), form);
  if (!resp.ok) {
    view.append(banner(resp.body.detail || resp.body.message));
    return;
  }
  const r = resp.body;
  const columns = [
    { key: "at_china", label: t("audit.at") },
    { key: "actor", label: t("audit.actor"), render: (e) => [e.actor, e.role ? h("span", { class: "hint" }, ` ${t(`role.${e.role}`, {})}`) : null] },
    { key: "address", label: t("audit.address"), render: (e) => h("span", { class: "mono" }, e.address) },
    { key: "action_label", label: t("audit.action") },
    { key: "target", label: t("audit.target"), render: (e) => h("span", { class: "mono wrap" }, e.target || "—") },
    { key: "outcome_label", label: t("audit.outcome"), render: (e) => h("span", { class: `badge ${e.outcome === "ok" ? "state-completed" : "flag-overdue"}` }, e.outcome_label) },
    { key: "detail", label: t("audit.detail"), render: (e) => h("span", { class: "mono wrap" }, e.detail || "") },
  ];
  const link = (format) => h("a", { class: "button secondary", href: `/api/v1/audit/export?${apiQuery({ ...filters, format })}`,
    download: "", dataset: { export: `audit-${format}` } }, t(`export.${format}`));
  const pager = h("p", { class: "hint" },
    offset > 0 ? h("a", { href: routeTo("audit", { ...filters, offset: Math.max(0, offset - PAGE) }) }, t("audit.newer")) : null, " ",
    offset + r.rows.length < r.total ? h("a", { href: routeTo("audit", { ...filters, offset: offset + PAGE }) }, t("audit.older")) : null);
  view.append(h("section", { class: "panel" },
    h("div", { class: "panel-head" }, h("h2", {}, t("audit.list")), h("span", { class: "exports" }, link("xlsx"), link("csv"))),
    h("div", { class: "table-scroll" }, r.rows.length ? sortableTable(columns, r.rows, { sort: "at_china", order: "desc", onSort: () => {} })
      : h("p", { class: "empty" }, t("audit.none"))), pager));
}
