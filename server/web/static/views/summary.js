// 年度综述: the sentence a county yearbook prints, written from the data, and the table behind it.
import { h, api, num, pct, routeQuery, routeTo, banner } from "../dom.js";
import { t } from "../i18n.js";
import { onPicker, periodPicker, exportLinks, sortableTable, definitionsNote } from "../widgets.js";

export async function renderSummary(view) {
  const query = routeQuery();
  const scope = Object.fromEntries(Object.entries({ org: query.org, period: query.period || (query.from ? "" : String(new Date().getFullYear())), from: query.from, to: query.to }).filter(([, v]) => v));
  const resp = await api("GET", `/api/v1/summary?${new URLSearchParams(scope)}`);
  if (!resp.ok) {
    view.append(...[h("div", { class: "view-head" }, h("h1", {}, t("nav.summary"))),
      resp.body.fields ? periodPicker(query, (p) => { location.hash = routeTo("summary", { org: query.org, ...p }); }, resp.body.fields) : null,
      onPicker(resp.body.fields) ? null : banner(resp.body.detail || resp.body.message)].filter(Boolean));
    return;
  }
  const r = resp.body;
  view.append(
    h("div", { class: "view-head" }, h("h1", {}, t("summary.title", { org: r.org.name })), h("span", { class: "period-text" }, r.period.label)),
    periodPicker(query, (p) => { location.hash = routeTo("summary", { org: query.org, ...p }); }),
    h("section", { class: "panel" }, h("h2", {}, t("summary.sentence")),
      h("blockquote", { class: "yearbook", id: "yearbook-sentence" }, r.sentence),
      h("p", { class: "hint" }, t("summary.sentence_hint"))),
    h("section", { class: "panel" },
      h("div", { class: "panel-head" }, h("h2", {}, t("summary.table")), exportLinks("summary", scope)),
      sortableTable([
        { key: "label", label: t("col.category") },
        { key: "accepted", label: t("fig.accepted"), num: true, render: (x) => num(x.accepted) },
        { key: "completed", label: t("fig.completed"), num: true, render: (x) => num(x.completed) },
        { key: "completed_on_time", label: t("fig.completed_on_time"), num: true, render: (x) => num(x.completed_on_time) },
        { key: "on_time_rate", label: t("fig.on_time_rate"), num: true, render: (x) => pct(x.on_time_rate) },
        { key: "in_progress", label: t("fig.in_progress"), num: true, render: (x) => num(x.in_progress) },
      ], [...r.rows, r.total], { rowClass: (x) => (x.category === "合计" ? "total" : null) }),
      h("p", { class: "hint" }, t("summary.more", { consultations: num(r.consultations), evaluations: num(r.evaluations), good: pct(r.good_rating_rate) }))),
    definitionsNote(r.definitions));
}
