// Today's work: open cases by due date with their flags (computed by the agent in Python), bad ratings to follow
// up, and today's consultations.
import { api, fromTemplate, h, time } from "../dom.js";
import { t } from "../i18n.js";
import { caseTable, clipped, followUpTable } from "../widgets.js";

const COUNTERS = ["overdue", "due_today", "due_soon", "paused", "calendar_missing"];

export async function renderToday(main) {
  const { ok, body } = await api("GET", "/api/today");
  if (!ok) {
    main.replaceChildren(h("p", { class: "banner error" }, body.message));
    return;
  }
  const { fragment, slots } = fromTemplate("today");
  slots.today.textContent = body.today;
  slots.counters.replaceChildren(
    h("li", { class: "counter counter-open" }, h("strong", {}, body.counts.open), h("span", {}, t("today.open"))),
    ...COUNTERS.map((flag) => h("li", { class: `counter counter-${flag}${body.counts[flag] ? "" : " zero"}` },
      h("strong", {}, body.counts[flag]), h("span", {}, t(`flag.${flag}`)))));
  slots["calendar-note"].textContent = body.calendar
    ? t("today.calendar_note", { first: body.calendar.first_year, last: body.calendar.last_year })
    : t("today.no_calendar");
  slots.cases.replaceChildren(body.cases.length ? caseTable(body.cases, { withFlag: true })
    : h("p", { class: "empty" }, t("today.empty")));
  slots["follow-ups"].replaceChildren(body.follow_ups.length ? followUpTable(body.follow_ups)
    : h("p", { class: "empty" }, t("today.follow_ups_empty")));
  slots.consultations.textContent = t("today.consultations_count", { n: body.consultations.length });
  slots["consultation-list"].replaceChildren(...body.consultations.slice(-5).reverse().map((c) =>
    h("li", {}, h("span", { class: "mono muted" }, time(c.at)), " ", clipped(c.topic))));
  main.replaceChildren(fragment);
}
