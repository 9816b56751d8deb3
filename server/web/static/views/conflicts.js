// 县级未采纳: events the county could not apply at their place in the causal order (two windows acted on one case
// offline), with the action that was applied instead, per township, open or settled. Staff settle them on their PC
// (redo on the current state, or accept the county's); the county sees the outcome here.
import { h, api, banner, num, routeQuery, routeTo } from "../dom.js";
import { t } from "../i18n.js";
import { caseLink, exportLinks, sortableTable, sortRows } from "../widgets.js";

const STATES = ["open", "settled", "all"];

export async function renderConflicts(view) {
  const query = routeQuery();
  const state = STATES.includes(query.state) ? query.state : "open";
  const org = query.org || "";
  const [resp, tree] = await Promise.all([
    api("GET", `/api/v1/conflicts?${new URLSearchParams({ state, limit: "500", ...(org ? { org } : {}) })}`),
    api("GET", "/api/v1/org-units")]);
  if (!resp.ok) {
    view.append(banner(resp.body.detail || resp.body.message));
    return;
  }
  const r = resp.body;
  const township = h("select", { id: "c-org", "aria-label": t("conflicts.township") },
    h("option", { value: "" }, t("conflicts.all_townships")),
    ...(tree.ok ? tree.body.children : []).map((u) => h("option", { value: u.code.slice(0, 9), selected: u.code.slice(0, 9) === org }, u.name)));
  township.addEventListener("change", () => { location.hash = routeTo("conflicts", { state, org: township.value }); });
  const tabs = h("nav", { class: "tabs", "aria-label": t("conflicts.state") }, ...STATES.map((s) =>
    h("a", { href: routeTo("conflicts", { state: s, org }), "aria-current": s === state ? "page" : null, dataset: { state: s } }, t(`conflicts.${s}`))));
  view.append(h("div", { class: "view-head" }, h("h1", {}, t("conflicts.title")), h("span", { class: "period-text" }, t("conflicts.count", { n: r.total }))),
    h("p", { class: "hint" }, t("conflicts.hint")), h("div", { class: "toolbar" }, tabs, township));
  const holder = h("div", { class: "table-scroll" });
  let sort = "detected_at";
  let order = "desc";
  const who = (name, id) => name || h("span", { class: "mono" }, id || "—");
  const columns = [
    { key: "township_name", label: t("col.township") },
    { key: "case_no", label: t("conflicts.case_no"), render: caseLink },
    { key: "kind_label", label: t("conflicts.lost"), render: (c) => [h("strong", {}, c.kind_label), " · ", who(c.agent_name, c.agent_id), " · ", c.at.slice(0, 16).replace("T", " ")] },
    { key: "message", label: t("conflicts.reason"), render: (c) => h("span", { class: "wrap" }, c.message) },
    { key: "lost_to_kind_label", label: t("conflicts.applied"), render: (c) => (c.lost_to ? [c.lost_to_kind_label, " · ", who(c.lost_to_agent_name, c.lost_to_agent_id), " · ", (c.lost_to_at || "").slice(0, 16).replace("T", " ")] : t("conflicts.no_lost_to")) },
    { key: "detected_at", label: t("conflicts.detected"), render: (c) => chinaTime(c.detected_at) },
    { key: "is_open", label: t("agents.state"), render: (c) => (c.is_open ? h("span", { class: "badge flag-overdue" }, t("conflicts.open_one")) : h("span", { class: "badge state-completed" }, c.outcome_label || t("conflicts.settled_one"))) },
  ];
  const draw = () => holder.replaceChildren(r.rows.length ? sortableTable(columns, sortRows(r.rows, sort, order), {
    sort, order, onSort: (k, o) => { sort = k; order = o; draw(); }, rowClass: (c) => (c.is_open ? "row-overdue" : null) })
    : h("p", { class: "empty" }, t("conflicts.none")));
  draw();
  const more = r.total > r.rows.length ? h("p", { class: "hint" }, t("conflicts.more", { shown: num(r.rows.length), total: num(r.total) })) : null;
  view.append(h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h2", {}, t("conflicts.list")),
    exportLinks("conflicts", { state, org })), holder, more));
}

const CHINA = new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit",
  day: "2-digit", hour: "2-digit", minute: "2-digit" });

function chinaTime(iso) {
  return iso ? CHINA.format(new Date(iso)) : "";
}
