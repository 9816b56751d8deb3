// 更正: the form that corrects a case's own fields with a required reason, and how a correction reads in the history.
// Which fields a closed or rated case may not change without the county's grant comes from the agent
// (the case's correction.locked, by protocol/corrections.py); the agent checks every value again.
import { CERT_TYPES } from "../certificates.js";
import { api, flash, h, optionsFor, setFieldError, showBanner, showFieldErrors, submitOnCtrlEnter } from "../dom.js";
import { t } from "../i18n.js";
import { centreName, orgName, ref, villages } from "../reference.js";
import { itemName } from "../widgets.js";
import { CHANNELS } from "./consult.js";

// [field, control]: the order the form shows them in.
const FIELDS = [
  ["applicant_name", "text"], ["cert_type", "select"], ["cert_no", "text"], ["phone", "text"],
  ["staff", "text"], ["note", "textarea"],
  ["village_code", "select"], ["item_code", "select"], ["org_code", "select"], ["channel", "select"],
];

function choices(name) {
  const r = ref();
  if (name === "cert_type") return CERT_TYPES.map((c) => [c, t(`cert_type.${c}`)]);
  if (name === "channel") return CHANNELS.map((c) => [c, t(`channel.${c}`)]);
  if (name === "village_code") return [["", t("new.village_none")], ...villages().map((v) => [v.code, v.name])];
  if (name === "org_code") return [[r.township.code, centreName()], ...villages().map((v) => [v.code, v.name])];
  return r.items.map((i) => [i.code, `${i.name}（${i.code}）`]);
}

function control(c, name, type, locked) {
  const id = `c-${name}`;
  const value = c[name] ?? "";
  let input;
  if (type === "select") {
    input = h("select", { id, name, disabled: locked });
    optionsFor(input, choices(name), value);
  } else if (type === "textarea") {
    input = h("textarea", { id, name, rows: 2, disabled: locked });
    input.defaultValue = value;
  } else {
    input = h("input", { id, name, type: "text", value, disabled: locked, class: name === "applicant_name" ? null : "mono" });
  }
  return h("div", { class: "field", dataset: { field: name } },
    h("label", { for: id }, t(`correct.field.${name}`)), input,
    locked ? h("p", { class: "hint" }, t("correct.locked")) : null,
    h("p", { class: "field-error", id: `err-${name}` }));
}

export function openCorrection(main, c, slots, rerender) {
  showBanner(slots["action-error"], null);
  const locked = new Set(c.correction.locked);
  const shown = FIELDS.filter(([name]) => name !== "note" || c.state === "completed");
  const form = h("form", { class: "action-form", novalidate: true, dataset: { kind: "corrected" } },
    h("h3", {}, t("action.corrected")),
    h("p", { class: "hint" }, t(locked.size ? "correct.help_settled" : "correct.help")),
    c.correction.grant ? h("p", { class: "banner ok", dataset: { grant: c.correction.grant.grant_id } }, t("correct.grant",
      { reason: c.correction.grant.reason, by: c.correction.grant.granted_by })) : null,
    shown.map(([name, type]) => control(c, name, type, locked.has(name))),
    h("div", { class: "field", dataset: { field: "reason" } },
      h("label", { for: "c-reason" }, t("correct.reason")),
      h("textarea", { id: "c-reason", name: "reason", rows: 2, required: true }),
      h("p", { class: "field-error", id: "err-reason" })),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, t("form.save"), " ", h("kbd", {}, "Ctrl+Enter")),
      h("button", { type: "button", class: "secondary", onclick: () => {
        form.remove();
        main.querySelector("[data-action=corrected]").focus();
      } }, t("form.cancel"))));
  submitOnCtrlEnter(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const [name] of [...shown, ["reason"]]) setFieldError(form, name, null);
    const data = {};
    for (const [name] of shown) {
      const el = form[name];
      if (!el.disabled && el.value.trim() !== String(c[name] ?? "")) data[name] = el.value.trim();
    }
    const reason = form.reason.value.trim();
    if (!reason) setFieldError(form, "reason", t("correct.reason_required"));
    else if (Object.keys(data).length === 0) setFieldError(form, "reason", t("correct.nothing"));
    if (!reason || Object.keys(data).length === 0) {
      form.reason.focus();
      return;
    }
    const { ok, body } = await api("POST", `/api/cases/${c.case_id}/events`, { kind: "corrected", data: { ...data, reason } });
    if (!ok) {
      showBanner(slots["action-error"], body.message);
      (showFieldErrors(form, body.fields) || form.reason).focus();
      return;
    }
    flash(t("case.saved", { action: t("kind.corrected") }));
    await rerender();
  });
  slots["action-form"].replaceChildren(form);
  form.querySelector("input:not(:disabled), select:not(:disabled), textarea").focus();
}

// A field's value as staff read it: names for codes.
function shownValue(name, value) {
  if (value === null || value === undefined || value === "") return t("correct.empty");
  if (name === "item_code") return itemName(value);
  if (name === "org_code" || name === "village_code") return orgName(value);
  if (name === "channel") return t(`channel.${value}`);
  if (name === "cert_type") return t(`cert_type.${value}`);
  if (name === "promised_days") return t("case.promised_days", { n: value });
  return String(value);
}

// What an event of the history says beyond its kind: a correction's reason and each field before -> after, a
// rating's level and comment, a refusal's reason.
export function eventDetail(e) {
  const d = e.data || {};
  if (e.kind === "corrected") {
    const changed = Object.keys(d).filter((k) => !["reason", "before", "grant"].includes(k));
    return h("div", { class: "correction" },
      h("p", {}, t("correct.reason_shown", { reason: d.reason })),
      h("ul", { class: "plain" }, changed.map((k) => h("li", {}, t(`correct.field.${k}`), "：",
        h("del", {}, shownValue(k, (d.before || {})[k])), " → ", h("ins", {}, shownValue(k, d[k]))))),
      d.grant ? h("p", { class: "muted" }, t("correct.granted")) : null);
  }
  if (e.kind === "evaluated") return [t(`rating.${d.rating}`), d.comment ? `：${d.comment}` : ""];
  if (e.kind === "rejected" || e.kind === "withdrawn") return d.reason || "";
  if (e.kind === "followed_up") return d.note || "";
  return "";
}
