// 总览: one unit (the county, a township or a village station) for a period: headline figures, the monthly trend,
// categories and channels, the units one level down (click to drill down), catalogue item figures.
import { h, api, num, pct, routeQuery, routeTo, banner, reader } from "../dom.js";
import { t } from "../i18n.js";
import { onPicker, periodPicker, exportLinks, cards, sortableTable, figureColumns, sortRows, definitionsNote, definedAs } from "../widgets.js";
import { trendChart, chartLegend } from "../chart.js";

function periodOf(query) {
  return query.from ? { from: query.from, to: query.to } : { period: query.period };
}

export async function renderOverview(view) {
  const query = routeQuery();
  const scope = { org: query.org, basis: query.basis, ...periodOf(query) };
  const resp = await api("GET", `/api/v1/overview?${new URLSearchParams(Object.entries(scope).filter(([, v]) => v))}`);
  const go = (changes) => { location.hash = routeTo("overview", { ...scope, ...changes, ...(changes.period ? { from: "", to: "" } : {}), ...(changes.from ? { period: "" } : {}) }); };
  if (!resp.ok) {
    // A filter the server cannot use (an address typed or edited by hand): say what is wrong, keep the picker.
    view.append(...[h("div", { class: "view-head" }, h("h1", {}, t("nav.overview"))),
      resp.body.fields ? periodPicker(query, (p) => go(p), resp.body.fields) : null,
      onPicker(resp.body.fields) ? null : banner(resp.body.detail || resp.body.message)].filter(Boolean));
    return;
  }
  const o = resp.body;
  const f = o.figures;
  const crumbs = h("nav", { class: "crumbs", "aria-label": t("overview.path") }, ...o.path.flatMap((p, i) => [
    i ? h("span", { class: "sep", "aria-hidden": "true" }, "›") : null,
    i === o.path.length - 1 ? h("strong", {}, p.name)
      : ["province", "prefecture", "county"].includes(p.level) && reader.info?.role === "township_viewer" ? h("span", {}, p.name)
      : h("a", { href: routeTo("overview", { ...periodOf(query), basis: query.basis, org: p.code.slice(0, { province: 2, prefecture: 4, county: 6, township: 9 }[p.level] || 12) }) }, p.name)]));
  const q = { org: query.org, basis: query.basis, ...(query.from ? { from: o.period.date_from, to: o.period.date_to } : { period: query.period || o.period.date_from.slice(0, 4) }) };
  const casesHref = (figure, extra = {}) => routeTo("cases", { ...q, figure, ...extra });
  const defined = (figure) => definedAs(o.definitions, figure);
  view.append(
    h("div", { class: "view-head" }, h("h1", {}, `${o.org.name}`), h("span", { class: "period-text" }, `${o.period.label}`), crumbs),
    h("div", { class: "toolbar" }, periodPicker(query, (p) => go(p)), basisToggle(o.basis, (basis) => go({ basis }))),
    cards([
      ["accepted", num(f.accepted), t("card.completion", { rate: pct(f.completion_rate) }), casesHref("accepted")],
      ["completed", num(f.completed), t("card.on_time", { rate: pct(f.on_time_rate) }), casesHref("completed")],
      ["completed_late", num(f.completed_late), t("card.overdue_rate", { rate: pct(f.overdue_rate) }), casesHref("completed_late"), f.completed_late ? "warn" : null],
      ["in_progress", num(f.in_progress), t("card.overdue_open", { n: num(f.overdue_open), date: o.as_of }), casesHref("in_progress"), f.overdue_open ? "alert" : null],
      ["online_share", pct(f.online_share), t("card.online", { n: num(f.online) }), casesHref("online"), null, defined("online_share")],
      ["one_trip_share", pct(f.one_trip_share), t("card.one_trip", { n: num(f.trips_le1) }), casesHref("trips_le1")],
      ["good_rating_rate", pct(f.good_rating_rate), t("card.evaluations", { n: num(f.evaluations), rate: pct(f.active_evaluation_rate), defined: defined("active_evaluation_rate") }), casesHref("evaluations"), null, defined("good_rating_rate")],
      ["bad_ratings", num(f.bad_ratings), t("card.bad", { done: num(f.bad_followed_up), pending: num(f.bad_pending) }), casesHref("bad_ratings"), f.bad_pending ? "warn" : null],
      ["consultations", num(f.consultations), t("card.rejected", { rejected: num(f.rejected), withdrawn: num(f.withdrawn) }), null],
    ]),
    definitionsNote(o.definitions),
  );
  const trend = h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h2", {}, t("overview.trend")), exportLinks("trend", q)),
    chartLegend(), trendChart(o.trend));
  const breakdown = (title, rows, table, filterKey) => h("section", { class: "panel" },
    h("div", { class: "panel-head" }, h("h2", {}, title), exportLinks(table, q)),
    sortableTable([
      { key: "label", label: t(`col.${filterKey}`) },
      { key: "accepted", label: t("fig.accepted"), num: true, render: (r) => r.figures.accepted ? h("a", { href: casesHref("accepted", { [filterKey]: r.key }) }, num(r.figures.accepted)) : "0" },
      { key: "share", label: t("col.share"), num: true, render: (r) => shareBar(r.figures.accepted, f.accepted) },
      { key: "completed", label: t("fig.completed"), num: true, render: (r) => num(r.figures.completed) },
      { key: "on_time_rate", label: t("fig.on_time_rate"), num: true, render: (r) => pct(r.figures.on_time_rate) },
    ], rows));
  view.append(trend, h("div", { class: "two-columns" },
    breakdown(t("overview.categories"), o.by_category, "categories", "category"),
    breakdown(t("overview.channels"), o.by_channel, "channels", "channel")));
  if (o.children.length) {
    const level = { province: "prefecture", prefecture: "county", county: "township" }[o.org.level] || "village"; // the rows'
    const title = t({ province: "overview.prefectures", prefecture: "overview.counties", county: "overview.townships" }[o.org.level] || "overview.villages");
    const holder = h("div", {});
    // a township's row of the county table is the whole township (9 digits); in a township's table the centre's row
    // is the centre itself (its 12-digit code) and the others are village stations; a hall's row is the hall itself
    // (its 9 digits)
    const rowDigits = { prefecture: 4, county: 6, township: 9, village: 12 }[level];
    const orgOf = (row) => ({ org: row.org.kind === "hall" ? row.org.code.slice(0, 9) : row.org.code.slice(0, rowDigits), basis: query.basis });
    let sort = "code";
    let order = "asc";
    const draw = () => {
      const columns = [
        { key: "name", label: t("col.unit"), render: (row) => {
          const isCentre = level === "village" && row.org.level === "township";
          const label = isCentre ? t("overview.centre_itself", { name: row.org.name }) : row.org.name;
          return h("a", { href: routeTo("overview", { ...periodOf(query), ...orgOf(row) }), dataset: { unit: row.org.code } }, label);
        } },
        ...figureColumns({ ...periodOf(query), basis: query.basis }, orgOf, o.definitions)];
      const rows = sortRows(o.children.map((c) => ({ ...c, name: c.org.name, code: c.org.code })), sort, order);
      holder.replaceChildren(sortableTable(columns, rows, { sort, order, onSort: (k, o2) => { sort = k; order = o2; draw(); } }));
    };
    draw();
    view.append(h("section", { class: "panel", id: "units" },
      h("div", { class: "panel-head" }, h("h2", {}, title), h("span", { class: "hint" }, t("overview.click_hint")), exportLinks("units", q)),
      h("div", { class: "table-scroll" }, holder)));
  }
  // 好差评 as residents give them: several ratings per case, by channel and step, and who entered them
  const byChannel = Object.entries(f.ratings_by_channel || {});
  const byStep = Object.entries(f.ratings_by_step || {});
  view.append(h("section", { class: "panel ratings", id: "ratings" },
    h("div", { class: "panel-head" }, h("h2", {}, t("overview.ratings")), h("a", { href: routeTo("bad", { org: query.org }) }, t("overview.follow_ups"))),
    h("dl", { class: "facts compact inline" },
      h("dt", {}, t("fig.evaluations")), h("dd", { dataset: { rating: "evaluations" } }, num(f.evaluations)),
      h("dt", {}, t("fig.rated_cases")), h("dd", { dataset: { rating: "rated_cases" } }, num(f.rated_cases)),
      h("dt", {}, t("fig.resident_ratings")), h("dd", { dataset: { rating: "resident_ratings" } }, num(f.resident_ratings)),
      ...byChannel.flatMap(([k, n]) => [h("dt", {}, t(`rating_channel.${k}`)), h("dd", { dataset: { rating: `via-${k}` } }, num(n))]),
      ...byStep.flatMap(([k, n]) => [h("dt", {}, t(`rating_step.${k}`)), h("dd", { dataset: { rating: `at-${k}` } }, num(n))]),
      h("dt", {}, t("fig.bad_follow_up_on_time_rate")), h("dd", {}, pct(f.bad_follow_up_on_time_rate)))));
  const it = o.items;
  view.append(h("section", { class: "panel items" },
    h("div", { class: "panel-head" }, h("h2", {}, t("overview.items")), exportLinks("items", { as_of: o.period.date_to })),
    h("p", { class: "hint" }, t("overview.items_hint", { date: o.period.date_to })),
    h("dl", { class: "facts compact inline" },
      h("dt", {}, t("item.count")), h("dd", {}, num(it.items)),
      h("dt", {}, t("item.online_capable")), h("dd", { dataset: { item: "online_capable" } }, `${num(it.online_capable)}(${pct(it.online_capable_share)})`),
      h("dt", {}, t("item.fully_online")), h("dd", {}, `${num(it.fully_online)}(${pct(it.fully_online_share)})`),
      h("dt", {}, t("item.one_trip")), h("dd", {}, `${num(it.one_trip)}(${pct(it.one_trip_share)})`),
      h("dt", {}, t("item.promise_faster")), h("dd", {}, `${num(it.promise_faster)}(${pct(it.promise_faster_share)})`),
      h("dt", {}, `${t("item.speedup")}(${defined("promise_speedup")})`), h("dd", {}, t("item.speedup_value", { rate: pct(it.promise_speedup), n: it.speedup_items })))));
}

// 办理地 / 居住地: count cases where they were handled, or where the applicant lives.
function basisToggle(basis, onChange) {
  const button = (value) => h("button", { type: "button", class: `seg${basis === value ? " active" : ""}`,
    "aria-pressed": String(basis === value), dataset: { basis: value }, onclick: () => basis === value || onChange(value) },
  t(`basis.${value}`));
  return h("div", { class: "basis", role: "group", "aria-label": t("basis.label") },
    h("span", { class: "period-label" }, t("basis.label")), button("handled"), button("residence"));
}

function shareBar(part, whole) {
  const rate = whole ? part / whole : 0;
  return h("span", { class: "share" }, h("span", { class: "share-bar", style: `width:${Math.round(rate * 100)}%` }), pct(whole ? rate : null));
}
