// Work lists across the county: open cases overdue and due soon; bad ratings awaiting their follow-up.
import { h, routeQuery } from "../dom.js";
import { t } from "../i18n.js";
import { caseList } from "./cases.js";

export async function renderOpen(view) {
  const query = routeQuery();
  const today = new Date().toISOString().slice(0, 10);
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

export async function renderBad(view) {
  const query = routeQuery();
  view.append(h("div", { class: "view-head" }, h("h1", {}, t("bad.title"))), h("p", { class: "hint" }, t("bad.hint")));
  const holder = h("section", { class: "panel" });
  view.append(holder);
  await caseList(holder, { org: query.org, figure: "bad_pending", sort: query.sort, order: query.order, offset: query.offset }, { route: "bad" });
}
