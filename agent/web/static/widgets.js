// Pieces several views show: the case table and state / flag badges.
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { item } from "./reference.js";

export function stateBadge(state) {
  return h("span", { class: `badge state-${state}` }, t(`state.${state}`));
}

export function flagBadge(flag) {
  return flag ? h("span", { class: `badge flag-${flag}` }, t(`flag.${flag}`)) : null;
}

export function itemName(code) {
  return item(code)?.name || code;
}

// A name or title as a table shows it: on one line, cut with an ellipsis when long, the whole text as its tooltip
// (and on the case's page), so that a long name never pushes the columns off the table.
export function clipped(text) {
  return h("span", { class: "clip", title: text }, text);
}

// The due date, or a dash while the clock is stopped or the calendar does not reach it (the flag says which).
export function dueText(c) {
  const stopped = c.state === "suspended" && c.flag !== "overdue";
  return c.due_on && !stopped ? c.due_on : t("due.none");
}

// A table of cases; each case number is a link, so Tab + Enter opens a case from the keyboard.
export function caseTable(cases, { withFlag = false } = {}) {
  const head = h("tr", {},
    h("th", { scope: "col" }, t("col.case_no")),
    h("th", { scope: "col" }, t("col.item")),
    h("th", { scope: "col" }, t("col.applicant")),
    h("th", { scope: "col" }, t("col.accepted_on")),
    h("th", { scope: "col" }, t("col.due_on")),
    h("th", { scope: "col" }, t("col.state")),
    withFlag ? h("th", { scope: "col" }, t("col.flag")) : null);
  const rows = cases.map((c) => h("tr", { class: c.flag ? `row-${c.flag}` : null, dataset: { caseId: c.case_id } },
    h("td", {}, h("a", { href: `#/case/${c.case_id}`, class: "mono" }, c.case_no)),
    h("td", {}, clipped(itemName(c.item_code))),
    h("td", {}, clipped(c.applicant_name)),
    h("td", {}, c.accepted_on),
    h("td", { class: "nowrap" }, dueText(c)),
    h("td", {}, stateBadge(c.state)),
    withFlag ? h("td", {}, flagBadge(c.flag)) : null));
  return h("table", { class: "cases" }, h("thead", {}, head), h("tbody", {}, rows));
}

// Bad ratings waiting for their follow-up (回访): who, how they rated, since when.
export function followUpTable(cases) {
  return h("table", { class: "cases" },
    h("thead", {}, h("tr", {}, ["col.case_no", "col.applicant", "col.rating", "col.rated_on"].map((key) =>
      h("th", { scope: "col" }, t(key))))),
    h("tbody", {}, cases.map((c) => h("tr", { dataset: { caseId: c.case_id } },
      h("td", {}, h("a", { href: `#/case/${c.case_id}`, class: "mono" }, c.case_no)),
      h("td", {}, clipped(c.applicant_name)),
      h("td", { class: "nowrap" }, h("span", { class: "badge flag-overdue" }, t(`rating.${c.rating}`))),
      h("td", { class: "nowrap" }, c.rated_on)))));
}
