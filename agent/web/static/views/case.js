// Case detail: the facts, the actions its state allows (the agent enforces the same rules and explains a refusal),
// print links, and the history with each event's upload status.
import { conflictCard, who } from "../conflicts.js";
import { api, dateTime, flash, fromTemplate, h, setFieldError, showBanner, submitOnCtrlEnter, takeFlash } from "../dom.js";
import { t } from "../i18n.js";
import { renderMaterials } from "../materials.js";
import { item, orgName } from "../reference.js";
import { flagBadge, itemName, stateBadge } from "../widgets.js";
import { eventDetail, openCorrection } from "./correct.js";

const OPEN = (c) => c.state === "in_progress" || c.state === "suspended";
const BAD_RATINGS = [1, 2];

// The action forms. Each field: [name, control, options]; the wire names are those of protocol/messages.py.
const ACTIONS = {
  supplement_requested: {
    allowed: (c) => c.state === "in_progress",
    fields: [["missing", "lines", { label: "form.missing", required: true }], ["note", "textarea", { label: "form.note" }]],
  },
  supplement_received: {
    allowed: (c) => c.state === "suspended",
    fields: [["trips", "number", { label: "form.trips", value: 1 }]],
  },
  completed: {
    allowed: (c) => c.state === "in_progress",
    fields: [
      ["result", "radio", { label: "form.result", choices: ["approved", "not_approved"], prefix: "result", value: "approved" }],
      ["note", "textarea", { label: "form.note" }],
      ["trips", "number", { label: "form.trips_complete", value: 0 }],
    ],
  },
  rejected: { allowed: OPEN, fields: [["reason", "textarea", { label: "form.reject_reason", required: true }]] },
  withdrawn: { allowed: OPEN, fields: [["reason", "textarea", { label: "form.withdraw_reason" }]] },
  // A rating the resident gave staff (by word, or on a phone callback): entered by staff. The resident rates by
  // themselves on the rating screen (请群众评价, below).
  evaluated: {
    allowed: (c) => c.state === "completed",
    fields: [
      ["rating", "radio", { label: "form.rating", choices: [5, 4, 3, 2, 1], prefix: "rating", required: true }],
      ["step", "radio", { label: "form.rating_step", choices: ["completion", "case", "acceptance", "intake"], prefix: "rating_step", value: "case" }],
      ["channel", "radio", { label: "form.rating_channel", choices: ["window", "callback", "phone", "online"], prefix: "rating_channel", value: "window" }],
      ["comment", "textarea", { label: "form.comment" }],
    ],
  },
  followed_up: {
    allowed: (c) => BAD_RATINGS.includes(c.rating) && !c.followed_up_on,
    // which bad rating it answers: the earliest waiting is chosen; a case may have several
    fields: (c) => {
      const waiting = c.ratings.filter((r) => BAD_RATINGS.includes(r.rating) && !r.followed_up_on);
      return [["note", "textarea", { label: "form.follow_up_note", required: true }],
        ["rating_id", "radio", { label: "form.follow_up_rating", choices: waiting.map((r) => r.id), value: waiting[0]?.id,
          labelOf: (id) => ratingText(waiting.find((r) => r.id === id)) }]];
    },
  },
};

export async function renderCase(main, caseId) {
  const { ok, status, body } = await api("GET", `/api/cases/${caseId}/history`);
  if (!ok) {
    main.replaceChildren(h("p", { class: "banner error" }, status === 404 ? t("case.not_found") : body.message));
    return;
  }
  const c = body.case;
  const { fragment, slots } = fromTemplate("case");
  showBanner(slots.saved, takeFlash());
  slots["case-no"].textContent = c.case_no;
  slots.badges.replaceChildren(stateBadge(c.state), " ", c.flag === "paused" ? "" : flagBadge(c.flag) || "");
  slots["print-receipt"].href = `/print/receipt/${c.case_id}`;
  slots["print-notice"].href = `/print/notice/${c.case_id}`;
  slots["print-notice"].hidden = c.missing.length === 0;
  slots["print-result"].href = `/print/result/${c.case_id}`;
  slots["print-result"].hidden = c.state !== "completed";
  slots.facts.replaceChildren(...facts(c));
  slots.conflicts.hidden = body.conflicts.length === 0;
  slots["conflict-list"].replaceChildren(...body.conflicts.map((x) => conflictCard(x, () => renderCase(main, c.case_id))));
  const allowed = Object.entries(ACTIONS).filter(([, action]) => action.allowed(c));
  const buttons = allowed.map(([kind]) => h("button", {
    type: "button", class: kind === "completed" ? "primary" : "secondary", dataset: { action: kind },
    onclick: () => openForm(main, c, kind, slots),
  }, t(`action.${kind}`)));
  if (c.state !== "rejected" && c.state !== "withdrawn") {
    buttons.push(h("button", { type: "button", class: "secondary", dataset: { action: "ask_rating" },
      onclick: () => askRating(c, slots) }, t("action.ask_rating")));
  }
  slots["action-buttons"].replaceChildren(...(buttons.length ? buttons : [h("p", { class: "empty" }, t("case.no_actions"))]),
    h("button", { type: "button", class: "secondary", dataset: { action: "corrected" },
      onclick: () => openCorrection(main, c, slots, () => renderCase(main, c.case_id)) }, t("action.corrected")));
  slots.history.replaceChildren(history(body.events));
  await renderMaterials(slots.materials, c.case_id);
  main.replaceChildren(fragment);
  (main.querySelector("[data-focus-after-save]") || main.querySelector("h1")).focus();
}

// 请群众评价: the case goes to the rating screen (/rate) at this window; the resident taps a face there.
async function askRating(c, slots) {
  const { ok, body } = await api("POST", "/api/rate/handoff", { case_id: c.case_id });
  if (!ok) {
    showBanner(slots["action-error"], body.message);
    return;
  }
  if ("BroadcastChannel" in window) new BroadcastChannel("rating-screen").postMessage(body.request.request_id);
  showBanner(slots.saved, t("case.rating_handed"));
}

function ratingText(r) {
  return `${r.on} ${t(`rating_step.${r.step || "case"}`)} · ${t(`rating_channel.${r.channel || "window"}`)} · ${t(`rating.${r.rating}`)}`;
}

function row(label, ...value) {
  return [h("dt", {}, t(label)), h("dd", {}, ...value)];
}

function facts(c) {
  const rows = [
    row("case.item", itemName(c.item_code), " ", h("span", { class: "mono muted" }, c.item_code)),
    row("case.applicant", c.applicant_name),
    row("case.cert", t(`cert_type.${c.cert_type}`), " ", h("span", { class: "mono" }, c.cert_no)),
    c.phone ? row("case.phone", h("span", { class: "mono" }, c.phone)) : [],
    row("case.channel", t(`channel.${c.channel}`)),
    c.village_code ? row("case.village", orgName(c.village_code)) : [],
    row("case.org", orgName(c.org_code)),
    row("case.accepted_at", dateTime(c.accepted_at)),
    row("case.promised", c.promised_days === 0 ? t("case.instant") : t("case.promised_days", { n: c.promised_days })),
    row("case.due_on", dueOn(c)),
    row("case.trips", t("case.trips_value", { n: c.trips })),
  ];
  if (c.supplements.length) {
    rows.push(row("case.supplements", h("ul", { class: "plain" }, c.supplements.map(([requested, received]) =>
      h("li", {}, received ? t("case.supplement_done", { requested, received })
        : t("case.supplement_open", { requested }))))));
  }
  if (c.missing.length) rows.push(row("case.missing", h("ol", {}, c.missing.map((m) => h("li", {}, m)))));
  if (c.supplement_note) rows.push(row("case.supplement_note", c.supplement_note));
  if (c.state === "suspended" && c.supplement_deadline) {
    rows.push(row("case.supplement_deadline", t("case.supplement_deadline_value",
      { date: c.supplement_deadline, n: item(c.item_code)?.supplement_days })));
  }
  if (c.state === "completed") {
    rows.push(row("case.result", t(`result.${c.result}`), c.note ? ` · ${c.note}` : ""));
    rows.push(row("case.completed_at", dateTime(c.completed_at)));
  }
  if (c.closed_on) rows.push(row("case.closed_on", c.closed_on), c.reason ? row("case.reason", c.reason) : []);
  if (c.rating !== null) {
    const followUp = BAD_RATINGS.includes(c.rating)
      ? h("span", { class: c.followed_up_on ? "muted" : "badge flag-overdue" },
        c.followed_up_on ? t("case.followed_up", { date: c.followed_up_on }) : t("case.follow_up_needed"))
      : null;
    rows.push(row("case.rating", t(`rating.${c.rating}`), " ", followUp));
    rows.push(row("case.ratings", h("ul", { class: "plain", dataset: { ratings: c.ratings.length } }, c.ratings.map((r) =>
      h("li", { class: BAD_RATINGS.includes(r.rating) ? "bad-rating" : null },
        ratingText(r))))));
    if (c.comment) rows.push(row("case.comment", c.comment));
  }
  if (c.staff) rows.push(row("case.staff", c.staff));
  if (c.accepted_by) rows.push(row("case.accepted_by", who(c.accepted_by)));
  if (c.last_by) rows.push(row("case.last_by", who(c.last_by)));
  return rows.flat();
}

function dueOn(c) {
  if (c.state === "suspended" && c.flag === "paused") return t("case.due_paused");
  if (!c.due_on) return h("span", { class: "badge flag-calendar_missing" }, t("case.due_missing"));
  const verdict = c.is_on_time === null ? null
    : h("span", { class: c.is_on_time ? "muted" : "badge flag-overdue" }, t(c.is_on_time ? "case.on_time" : "case.late"));
  return [c.due_on, " ", verdict || ""];
}

function history(events) {
  return h("table", { class: "cases history" },
    h("thead", {}, h("tr", {}, h("th", {}, t("col.time")), h("th", {}, t("col.kind")), h("th", {}, t("col.detail")),
      h("th", {}, t("col.by")), h("th", {}, t("col.staff")), h("th", {}, t("col.upload")))),
    h("tbody", {}, events.map((e) => h("tr", { class: e.is_conflict ? "conflict-row" : null },
      h("td", { class: "nowrap" }, dateTime(e.at)),
      h("td", {}, t(`kind.${e.kind}`), e.is_conflict ? [" ", h("span", { class: "badge flag-overdue" },
        t("conflict.badge"))] : null),
      h("td", {}, eventDetail(e)),
      h("td", {}, who(e.by)),
      h("td", { class: "staff" }, e.staff ? `${e.staff.name}（${e.staff.staff_id}）` : "—"),
      h("td", {}, h("span", { class: `upload upload-${e.status}` }, t(`upload.${e.status}`)))))));
}

function control(kind, [name, type, opts]) {
  const id = `a-${kind}-${name}`;
  const label = t(opts.label);
  let input;
  if (type === "radio") {
    return h("fieldset", { class: "field", dataset: { field: name } },
      h("legend", {}, label),
      h("div", { class: "choices" }, opts.choices.map((choice) => h("label", { class: "choice" },
        h("input", { type: "radio", name, value: String(choice), checked: opts.value === choice }),
        " ", opts.labelOf ? opts.labelOf(choice) : t(`${opts.prefix}.${choice}`)))),
      h("p", { class: "field-error", id: `err-${name}` }));
  }
  if (type === "number") input = h("input", { id, name, type: "number", min: 0, max: 100, value: opts.value ?? 0 });
  else input = h("textarea", { id, name, rows: type === "lines" ? 4 : 2 });
  return h("div", { class: "field", dataset: { field: name } },
    h("label", { for: id }, label), input, h("p", { class: "field-error", id: `err-${name}` }));
}

function formData(form, fields) {
  const data = {};
  for (const [name, type] of fields) {
    if (type === "radio") {
      const picked = form.querySelector(`input[name="${name}"]:checked`);
      if (picked) data[name] = name === "rating" ? Number(picked.value) : picked.value;
    } else if (type === "number") {
      data[name] = Number(form[name].value || 0);
    } else if (type === "lines") {
      const lines = form[name].value.split("\n").map((line) => line.trim()).filter(Boolean);
      if (lines.length) data[name] = lines;
    } else if (form[name].value.trim()) {
      data[name] = form[name].value.trim();
    }
  }
  return data;
}

function openForm(main, c, kind, slots) {
  const action = ACTIONS[kind];
  const fields = typeof action.fields === "function" ? action.fields(c) : action.fields;
  showBanner(slots["action-error"], null);
  const form = h("form", { class: "action-form", novalidate: true, dataset: { kind } },
    h("h3", {}, t(`action.${kind}`)),
    fields.map((f) => control(kind, f)),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, t("form.save"), " ", h("kbd", {}, "Ctrl+Enter")),
      h("button", { type: "button", class: "secondary", onclick: () => {
        form.remove();
        main.querySelector(`[data-action="${kind}"]`).focus();
      } }, t("form.cancel"))));
  submitOnCtrlEnter(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = formData(form, fields);
    let missing = false;
    for (const [name, , opts] of fields) {
      const empty = data[name] === undefined;
      setFieldError(form, name, opts.required && empty ? t("new.required") : null);
      missing ||= opts.required && empty;
    }
    if (missing) return;
    const { ok, body } = await api("POST", `/api/cases/${c.case_id}/events`, { kind, data });
    if (!ok) {
      showBanner(slots["action-error"], body.message);
      for (const [name, message] of Object.entries(body.fields || {})) setFieldError(form, name, message);
      return;
    }
    flash(t("case.saved", { action: t(`kind.${kind}`) }));
    await renderCase(main, c.case_id);
    if (kind === "supplement_requested") main.querySelector("[data-slot=print-notice]")?.focus();
  });
  slots["action-form"].replaceChildren(form);
  form.querySelector("input:not([type=hidden]), textarea").focus();
}
