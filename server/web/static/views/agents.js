// 终端状态: every registered township PC with its last contact, pending events, clock offset and version; PCs
// silent longer than the configured time are marked.
import { h, api, num, banner, secondsText } from "../dom.js";
import { t } from "../i18n.js";
import { exportLinks, sortableTable, sortRows } from "../widgets.js";

export async function renderAgents(view) {
  const resp = await api("GET", "/api/v1/agents");
  if (!resp.ok) {
    view.append(banner(resp.body.detail || resp.body.message));
    return;
  }
  const r = resp.body;
  const silent = r.rows.filter((a) => a.is_silent).length;
  view.append(h("div", { class: "view-head" }, h("h1", {}, t("agents.title")), h("span", { class: "period-text" }, t("agents.count", { n: r.rows.length }))),
    silent ? banner(t("agents.silent_warning", { n: silent, hours: r.silent_after_hours }), "warn") : h("p", { class: "hint" }, t("agents.all_fine", { hours: r.silent_after_hours })));
  const holder = h("div", { class: "table-scroll" });
  let sort = "is_silent";
  let order = "desc";
  const columns = [
    { key: "township_name", label: t("col.township") },
    { key: "name", label: t("agents.name") },
    { key: "agent_id", label: t("agents.id"), render: (a) => h("span", { class: "mono" }, a.agent_id) },
    { key: "last_push_at", label: t("agents.last_push"), render: (a) => (a.last_push_at ? chinaTime(a.last_push_at) : t("agents.never")) },
    { key: "hours_since_push", label: t("agents.hours"), num: true, render: (a) => (a.hours_since_push === null ? "—" : a.hours_since_push.toFixed(1)) },
    { key: "pending", label: t("agents.pending"), num: true, render: (a) => num(a.pending) },
    { key: "clock_offset_ms", label: t("agents.offset"), num: true, render: (a) => offset(a.clock_offset_ms) },
    { key: "software_version", label: t("agents.version") },
    { key: "protocol_version", label: t("agents.protocol"), num: true, render: (a) => (a.protocol_version < 2 ? h("span", { class: "badge flag-due_soon", title: t("agents.old_protocol") }, `${a.protocol_version} ${t("agents.old")}`) : String(a.protocol_version)) },
    { key: "digest_agrees", label: t("agents.digest"), render: (a) => (a.digest_agrees === null ? "—" : a.digest_agrees ? t("agents.agrees") : h("strong", { class: "late" }, t("agents.differs"))) },
    { key: "pull_lag", label: t("agents.pull_lag"), num: true, render: (a) => (a.pull_lag === null ? "—" : num(a.pull_lag)) },
    { key: "refused", label: t("agents.refused"), num: true, title: t("agents.refused_hint"), render: (a) => [
      a.refused ? h("strong", { class: "late", dataset: { refused: a.refused } }, num(a.refused)) : "0", " / ",
      a.conflicts ? h("a", { href: `#/conflicts?state=all&org=${a.township_code}`, dataset: { conflicts: a.conflicts } }, num(a.conflicts)) : "0"] },
    { key: "open_conflicts", label: t("agents.conflicts"), num: true, render: (a) => (a.open_conflicts ? h("a", { href: `#/conflicts?org=${a.township_code}` }, num(a.open_conflicts)) : "0") },
    { key: "is_silent", label: t("agents.state"), render: (a) => (a.revoked_at ? h("span", { class: "badge" }, t("agents.revoked")) : a.is_silent ? h("span", { class: "badge flag-overdue" }, t("agents.silent")) : h("span", { class: "badge state-completed" }, t("agents.ok"))) },
  ];
  const draw = () => holder.replaceChildren(sortableTable(columns, sortRows(r.rows, sort, order), {
    sort, order, onSort: (k, o) => { sort = k; order = o; draw(); }, rowClass: (a) => (a.is_silent ? "row-overdue" : null) }));
  draw();
  view.append(h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h2", {}, t("agents.list")), exportLinks("agents", {})), holder));
}

// The server records UTC; counties read China time.
const CHINA = new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit",
  day: "2-digit", hour: "2-digit", minute: "2-digit" });

function chinaTime(iso) {
  return CHINA.format(new Date(iso));
}

function offset(ms) {
  if (ms === null || ms === undefined) return "—";
  const text = `${secondsText(ms)} s`;
  return Math.abs(ms) > 60000 ? h("strong", { class: "late" }, text) : text;
}
