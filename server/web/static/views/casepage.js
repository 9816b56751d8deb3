// 办件详情: one case with its fields (the certificate number masked by the server), its whole history (every event:
// which PC and staff member, when in China time, what a correction changed and why, a rating's comment, the
// conflicts), and the case's scanned materials (views/materials.js). 查找办件: the search that leads here.
import { h, api, banner, routeQuery, routeTo } from "../dom.js";
import { attachmentsPanel } from "./materials.js";
import { t } from "../i18n.js";
import { caseColumns } from "./cases.js";
import { sortableTable } from "../widgets.js";

function row(label, ...value) {
  return [h("dt", {}, t(label)), h("dd", {}, ...value)];
}

function facts(d) {
  const c = d.case;
  const rows = [
    row("case.item", c.item_name, " ", h("span", { class: "mono muted" }, c.item_code)),
    row("case.category", c.category),
    row("case.applicant", c.applicant_name),
    row("case.cert", d.cert_type_label, " ", h("span", { class: "mono" }, c.cert_no_masked)),
    d.phone ? row("case.phone", h("span", { class: "mono" }, d.phone)) : [],
    row("case.township", c.township_name),
    row("case.handled_at", c.org_name),
    d.village_name ? row("case.village", d.village_name) : [],
    row("case.channel", c.channel_label),
    row("case.state", h("span", { class: `badge state-${c.state}` }, c.state_label)),
    row("case.accepted_at", d.accepted_at.slice(0, 16).replace("T", " ")),
    row("case.promised", t("case.promised_days", { n: d.promised_days })),
    row("case.due_on", c.due_on || "—", c.days_overdue ? [" ", h("strong", { class: "late" }, t("case.overdue", { n: c.days_overdue }))] : null),
    c.completed_on ? row("case.completed_on", c.completed_on, " ", c.is_on_time === null ? "" : h("span", { class: c.is_on_time ? "muted" : "late" }, t(c.is_on_time ? "case.on_time" : "case.late"))) : [],
    d.result_label ? row("case.result", d.result_label, d.note ? ` · ${d.note}` : "") : [],
    c.closed_on ? row("case.closed_on", c.closed_on, d.reason ? ` · ${d.reason}` : "") : [],
    c.rating ? row("case.rating", h("span", { class: c.rating <= 2 ? "bad-rating" : null }, c.rating_label),
      c.comment ? ["：", h("q", {}, c.comment)] : "",
      c.rating <= 2 ? [" ", h("span", { class: c.followed_up_on ? "muted" : "badge flag-overdue" },
        c.followed_up_on ? t("case.followed_up", { date: c.followed_up_on }) : t("case.follow_up_needed"))] : "") : [],
    d.missing.length ? row("case.missing", d.missing.join("、")) : [],
    row("case.trips", t("case.trips_value", { n: c.trips })),
    c.staff ? row("case.staff", c.staff) : [],
  ];
  return h("dl", { class: "facts" }, ...rows.flat());
}

function detail(e) {
  const parts = [];
  if (e.kind === "corrected") {
    parts.push(h("p", {}, t("history.reason", { reason: e.reason })),
      h("ul", { class: "plain changes" }, ...e.changes.map((c) => h("li", { dataset: { field: c.field } }, c.label, "：",
        h("del", {}, c.before ?? t("history.empty")), " → ", h("ins", {}, c.after ?? t("history.empty"))))),
      e.granted ? h("p", { class: "muted" }, t("history.granted")) : null);
  } else if (e.kind === "evaluated") {
    parts.push(h("span", { class: e.rating <= 2 ? "bad-rating" : null }, e.rating_label), e.comment ? ["：", h("q", {}, e.comment)] : null);
  } else if (e.reason || e.note) {
    parts.push(e.reason || e.note);
  }
  if (e.conflict) parts.push(h("p", { class: "conflict-note" }, h("span", { class: "badge flag-overdue" }, t("history.conflict")), " ", e.conflict));
  return parts;
}

function history(events) {
  const body = events.map((e) => h("tr", { class: e.conflict ? "row-overdue" : null, dataset: { kind: e.kind, eventId: e.event_id } },
    h("td", { class: "nowrap mono" }, e.at),
    h("td", {}, h("strong", {}, e.kind_label)),
    h("td", {}, e.agent_name || h("span", { class: "mono" }, e.agent_id)),
    h("td", {}, e.staff || "—"),
    h("td", { class: "wrap" }, ...detail(e)),
    h("td", { class: "nowrap mono muted" }, e.received_at)));
  return h("table", { class: "data history" },
    h("thead", {}, h("tr", {}, ...["history.at", "history.kind", "history.pc", "history.staff", "history.detail", "history.received"]
      .map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", {}, ...body));
}

function conflicts(list) {
  return h("ul", { class: "plain conflict-list" }, ...list.map((c) => h("li", { dataset: { eventId: c.event_id } },
    c.is_open ? h("span", { class: "badge flag-overdue" }, t("conflicts.open_one")) : h("span", { class: "badge state-completed" }, c.outcome_label || t("conflicts.settled_one")),
    " ", h("strong", {}, c.kind_label), " · ", c.agent_name || c.agent_id, " · ", c.at.slice(0, 16).replace("T", " "), "：", c.message)));
}

// 授权更正: a county admin lets the township's PCs correct the fields of a closed or rated case that move a figure.
function grantPanel(d) {
  const reason = h("textarea", { id: "grant-reason", name: "reason", rows: 2, maxlength: 500, "aria-describedby": "grant-error" });
  const error = h("p", { class: "field-error", id: "grant-error", role: "alert" });
  const list = h("ul", { class: "plain grants" }, ...d.grants.map(grantLine));
  const form = h("form", { class: "grant-form", onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = "";
    if (!reason.value.trim()) {
      error.textContent = t("grant.reason_required");
      reason.focus();
      return;
    }
    const resp = await api("POST", `/api/v1/cases/${d.case.case_id}/grants`, { reason: reason.value.trim() });
    if (!resp.ok) {
      error.textContent = resp.body.fields?.reason || resp.body.detail || resp.body.message;
      return;
    }
    list.append(grantLine(resp.body));
    reason.value = "";
  } },
  h("label", { for: "grant-reason" }, t("grant.reason")), reason, error,
  h("button", { type: "submit", class: "secondary" }, t("grant.submit")));
  return h("section", { class: "panel", id: "case-grants" }, h("h2", {}, t("grant.title")),
    h("p", { class: "hint" }, t("grant.hint", { fields: d.locked_fields.map((f) => t(`field.${f}`)).join("、") })), list, form);
}

function grantLine(g) {
  return h("li", { dataset: { grantId: g.grant_id } }, h("span", { class: "badge state-completed" }, t("grant.given")), " ",
    g.granted_at, " · ", g.granted_by, "：", g.reason);
}

export async function renderCasePage(view) {
  const caseId = location.hash.split("/")[2]?.split("?")[0] || "";
  const resp = await api("GET", `/api/v1/cases/${encodeURIComponent(caseId)}`);
  if (!resp.ok) {
    view.append(h("div", { class: "view-head" }, h("h1", {}, t("case.title"))), banner(resp.body.message));
    return;
  }
  const d = resp.body;
  const back = window.history.length > 1 ? h("a", { href: "#", onclick: (e) => { e.preventDefault(); window.history.back(); } }, t("case.back")) : null;
  view.append(...[
    h("div", { class: "view-head" }, h("h1", { id: "case-title" }, t("case.title"), " ", h("span", { class: "mono" }, d.case.case_no)),
      h("span", { class: `badge state-${d.case.state}` }, d.case.state_label), back),
    h("div", { class: "two-columns" },
      h("section", { class: "panel", id: "case-facts" }, h("h2", {}, t("case.facts")), facts(d)),
      h("section", { class: "panel", id: "case-conflicts" }, h("h2", {}, t("case.conflicts")),
        d.conflicts.length ? conflicts(d.conflicts) : h("p", { class: "empty" }, t("case.no_conflicts")))),
    d.locked_fields.length || d.grants.length ? grantPanel(d) : "",  // DOM append writes a null as "null"
    await attachmentsPanel(d.case.case_id),
    h("section", { class: "panel", id: "case-history" }, h("div", { class: "panel-head" }, h("h2", {}, t("case.history")),
      h("span", { class: "count" }, t("case.events", { n: d.history.length }))),
      h("div", { class: "table-scroll" }, history(d.history)))].filter(Boolean));
}

// 查找办件: one box for a case number, a name, a certificate number or its last 4, or a phone.
export function searchForm(initial = "") {
  const input = h("input", { type: "search", name: "q", id: "search-q", value: initial, maxlength: 100,
    placeholder: t("search.placeholder"), "aria-label": t("search.label") });
  return h("form", { class: "search", role: "search", onsubmit: (e) => {
    e.preventDefault();
    input.blur(); // the results take the reader's attention, not the box
    location.hash = routeTo("search", { q: input.value.trim() });
  } }, input, h("button", { type: "submit", class: "secondary" }, t("search.go")));
}

export async function renderSearch(view) {
  const query = routeQuery();
  const q = query.q || "";
  const error = h("p", { class: "field-error", id: "search-error", role: "alert" });
  view.append(h("div", { class: "view-head" }, h("h1", {}, t("search.title"))), h("p", { class: "hint" }, t("search.hint")),
    h("div", { class: "panel" }, searchForm(q), error));
  if (!q) return;
  const resp = await api("GET", `/api/v1/search?${new URLSearchParams({ q, ...(query.org ? { org: query.org } : {}) })}`);
  if (!resp.ok) {
    error.textContent = resp.body.fields?.q || resp.body.detail || resp.body.message;
    view.querySelector("#search-q").setAttribute("aria-invalid", "true");
    return;
  }
  const r = resp.body;
  view.append(h("section", { class: "panel", id: "search-results" },
    h("div", { class: "panel-head" }, h("h2", {}, t("search.results", { q: r.q })),
      h("span", { class: "count", dataset: { total: r.total } }, t(r.total >= r.limit ? "search.many" : "cases.total", { n: r.total }))),
    r.rows.length ? h("div", { class: "table-scroll" }, sortableTable(caseColumns("accepted"), r.rows)) : h("p", { class: "empty" }, t("search.none"))));
}
