// Work lists across the county: open cases overdue and due soon; bad ratings awaiting their follow-up.
import { h, api, num, routeQuery, routeTo, banner } from "../dom.js";
import { t } from "../i18n.js";
import { caseLink, clipped, exportLinks, sortableTable } from "../widgets.js";
import { caseList } from "./cases.js";

export async function renderOpen(view) {
  const query = routeQuery();
  const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10); // China's date, whatever the browser's zone
  const asOf = query.as_of || today;
  view.append(h("div", { class: "view-head" }, h("h1", {}, t("open.title")), h("span", { class: "period-text" }, t("open.as_of", { date: asOf }))),
    h("p", { class: "hint" }, t("open.hint")));
  const overdue = h("section", { class: "panel", id: "overdue" });
  const soon = h("section", { class: "panel", id: "due-soon" });
  view.append(overdue, soon);
  const base = { org: query.org, as_of: asOf };
  await caseList(overdue, { ...base, figure: "overdue_open", sort: query.sort, order: query.order, offset: query.offset }, { route: "open", title: t("open.overdue") });
  await caseList(soon, { ...base, figure: "due_soon" }, { route: "open", title: t("open.due_soon") });
}

// 差评回访: one row per bad rating still waiting, with its last day under the county rule; overdue ones first.
export async function renderBad(view) {
  const query = routeQuery();
  const state = query.state === "pending" ? "pending" : "overdue";
  const params = { state, limit: "500", ...(query.org ? { org: query.org } : {}), ...(query.as_of ? { as_of: query.as_of } : {}) };
  const resp = await api("GET", `/api/v1/follow-ups?${new URLSearchParams(params)}`);
  view.append(h("div", { class: "view-head" }, h("h1", {}, t("bad.title"))), h("p", { class: "hint" }, t("bad.hint")));
  if (!resp.ok) {
    view.append(banner(resp.body.detail || resp.body.message));
    return;
  }
  const r = resp.body;
  const toggle = h("select", { id: "f-state", "aria-label": t("bad.state") },
    ...["overdue", "pending"].map((s) => h("option", { value: s, selected: s === state }, t(`bad.state_${s}`))));
  toggle.addEventListener("change", () => { location.hash = routeTo("bad", { ...query, state: toggle.value }); });
  const columns = [
    { key: "case_no", label: t("col.case_no"), render: (f) => caseLink(f) },
    { key: "township_name", label: t("col.township"), render: (f) => clipped(f.township_name) },
    { key: "item_name", label: t("col.item"), render: (f) => clipped(f.item_name) },
    { key: "staff", label: t("col.staff"), render: (f) => (f.staff ? clipped(f.staff) : "—") },
    { key: "rating_label", label: t("col.rating"), render: (f) => h("span", { class: "bad-rating" }, f.rating_label) },
    { key: "step_label", label: t("bad.step") },
    { key: "channel_label", label: t("bad.channel") },
    { key: "comment", label: t("col.comment"), sortable: false, render: (f) => (f.comment ? h("span", { class: "wrap comment" }, f.comment) : "—") },
    { key: "rated_on", label: t("bad.rated_on") },
    { key: "follow_up_due", label: t("bad.due"), render: (f) => f.follow_up_due || t("bad.no_due") },
    { key: "days_overdue", label: t("col.days_overdue"), num: true, render: (f) => (f.days_overdue ? h("strong", { class: "late" }, f.days_overdue) : "—") },
  ];
  const holder = h("section", { class: "panel", id: "follow-ups" },
    h("div", { class: "panel-head" }, toggle,
      h("span", { class: "count", dataset: { total: r.total, overdue: r.overdue } }, t("bad.count", { n: num(r.total), overdue: num(r.overdue), days: r.follow_up_workdays, date: r.as_of })),
      exportLinks("follow_ups", params)),
    h("div", { class: "table-scroll" }, r.rows.length
      ? sortableTable(columns, r.rows, { rowClass: (f) => (f.days_overdue ? "row-overdue" : null) })
      : h("p", { class: "empty" }, t("bad.none"))));
  view.append(holder);
}
