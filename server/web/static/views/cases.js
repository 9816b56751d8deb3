// The cases behind a figure (and the work lists, which are figures too): sortable, a page at a time, exportable.
// Certificate numbers arrive masked from the server.
import { h, api, num, routeQuery, routeTo, banner } from "../dom.js";
import { t, has } from "../i18n.js";
import { caseLink, clipped, exportLinks, sortableTable } from "../widgets.js";

const RATED = ["evaluations", "good_ratings", "bad_ratings", "bad_pending", "bad_followed_up"];

const PAGE = 100;

export function caseColumns(figure) {
  const open = figure === "overdue_open" || figure === "due_soon";
  const rated = RATED.includes(figure); // room for the resident's comment: every such case is completed
  return [
    { key: "case_no", label: t("col.case_no"), render: caseLink },
    { key: "org_code", label: t("col.township"), render: (c) => clipped(c.township_name) },
    { key: "org_name", label: t("col.handled_at"), sortable: false, render: (c) => clipped(c.org_name) },
    { key: "item_name", label: t("col.item"), sortable: false, render: (c) => clipped(c.item_name) },
    rated ? null : { key: "channel_label", label: t("col.channel"), sortable: false },
    rated ? null : { key: "state_label", label: t("col.state"), sortable: false, render: (c) => h("span", { class: `badge state-${c.state}` }, c.state_label) },
    { key: "accepted_on", label: t("col.accepted_on") },
    rated ? null : { key: "due_on", label: t("col.due_on") },
    open ? { key: "days_overdue", label: t("col.days_overdue"), num: true, sortable: false, render: (c) => (c.days_overdue ? h("strong", { class: "late" }, c.days_overdue) : "—") }
      : { key: "completed_on", label: t("col.completed_on"), render: (c) => c.completed_on || c.closed_on || "—" },
    { key: "applicant_name", label: t("col.applicant"), sortable: false, render: (c) => clipped(c.applicant_name) },
    { key: "cert_no_masked", label: t("col.cert_no"), sortable: false, render: (c) => h("span", { class: "mono" }, c.cert_no_masked) },
    { key: "staff", label: t("col.staff"), render: (c) => (c.staff ? clipped(c.staff) : "—") },
    { key: "materials", label: t("col.materials"), sortable: false, render: (c) => h("a", { href: routeTo("materials", { case_id: c.case_id, case_no: c.case_no }) }, t("materials.open")) },
    open ? null : { key: "closed_by", label: t("col.closed_by"), sortable: false, render: (c) => (c.closed_by ? clipped(c.closed_by) : "—") },
    open ? null : { key: "rated_on", label: t("col.rating"), render: (c) => (c.rating ? h("span", { class: c.rating <= 2 ? "bad-rating" : null }, c.rating_label || t(`rating.${c.rating}`)) : "—") },
    rated ? { key: "comment", label: t("col.comment"), sortable: false, render: (c) => (c.comment ? h("span", { class: "wrap comment" }, c.comment) : "—") } : null,
  ].filter(Boolean);
}

// Renders the list for `query` into `holder`; figure, org, period, as_of, sort, order and offset come from it.
export async function caseList(holder, query, { route = "cases", title } = {}) {
  const resp = await api("GET", `/api/v1/cases?${new URLSearchParams(Object.entries({ limit: PAGE, ...query }).filter(([, v]) => v !== undefined && v !== ""))}`);
  if (!resp.ok) {
    holder.replaceChildren(banner(resp.body.detail || resp.body.message));
    return null;
  }
  const r = resp.body;
  const nav = (changes) => { location.hash = routeTo(route, { ...query, ...changes }); };
  const offset = r.offset;
  const pager = h("p", { class: "pager" },
    t("cases.showing", { from: r.total ? offset + 1 : 0, to: offset + r.rows.length, total: num(r.total) }),
    offset > 0 ? h("button", { type: "button", class: "secondary", onclick: () => nav({ offset: Math.max(0, offset - PAGE) }) }, t("cases.prev")) : null,
    offset + r.rows.length < r.total ? h("button", { type: "button", class: "secondary", onclick: () => nav({ offset: offset + PAGE }) }, t("cases.next")) : null);
  const table = r.rows.length
    ? sortableTable(caseColumns(r.figure), r.rows, { sort: r.sort, order: r.order, onSort: (sort, order) => nav({ sort, order, offset: 0 }),
      rowClass: (c) => (c.days_overdue ? "row-overdue" : null) })
    : h("p", { class: "empty" }, t("cases.none"));
  const exportQuery = { ...query };
  delete exportQuery.offset;
  holder.replaceChildren(
    h("div", { class: "panel-head" }, title ? h("h2", {}, title) : null, h("span", { class: "count", dataset: { total: r.total } }, t("cases.total", { n: num(r.total) })),
      exportLinks("cases", exportQuery)),
    h("div", { class: "table-scroll" }, table), pager);
  return r;
}

export async function renderCases(view) {
  const query = routeQuery();
  const figure = query.figure || "accepted";
  const label = has(`figure.${figure}`) ? t(`figure.${figure}`) : figure;
  const extra = [query.category, query.channel && t(`channel.${query.channel}`)].filter(Boolean).join(" · ");
  const period = query.period || (query.from ? `${query.from} 至 ${query.to}` : "");
  view.append(
    h("div", { class: "view-head" }, h("h1", { id: "cases-title" }, t("cases.title", { figure: label, org: "" })),
      h("span", { class: "period-text" }, [period, extra].filter(Boolean).join(" · ")),
      h("a", { href: routeTo("overview", { org: query.org, period: query.period, from: query.from, to: query.to }) }, t("cases.back"))),
    h("p", { class: "hint" }, t(`figure_hint.${figure}`)));
  const holder = h("section", { class: "panel" });
  view.append(holder);
  const r = await caseList(holder, query);
  if (r) view.querySelector("#cases-title").textContent = t("cases.title", { figure: label, org: r.org_name });
}
