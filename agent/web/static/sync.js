// The sync indicator on every page, and its panel: sync now, and correct-and-resend of refused events.
import { conflictCard } from "./conflicts.js";
import { api, dateTime, h, showBanner, time } from "./dom.js";
import { has, t } from "./i18n.js";
import { loadReference, ref } from "./reference.js";

const POLL_MS = 5000;
let lastStatus = null;

// The label of an event data field, from the form that fills it in.
const FIELD_LABELS = {
  item_code: "new.item", org_code: "new.org", village_code: "new.village", channel: "new.channel",
  applicant_name: "new.applicant_name", cert_type: "new.cert_type", cert_no: "new.cert_no", phone: "new.phone",
  staff: "new.staff", topic: "consult.topic", missing: "form.missing", note: "form.note", result: "form.result",
  reason: "form.reason", rating: "form.rating", comment: "form.comment", trips: "form.trips",
};

function kindLabel(kind) {
  return has(`kind.${kind}`) ? t(`kind.${kind}`) : kind;
}

export function fieldLabel(name) {
  return FIELD_LABELS[name] ? t(FIELD_LABELS[name]) : name;
}

export async function refreshSync() {
  const { ok, body } = await api("GET", "/api/status");
  const dot = document.querySelector("#sync-indicator");
  if (!dot) return;
  if (!ok) {
    dot.dataset.state = "down";
    document.querySelector("#sync-state").textContent = t("error.network");
    return;
  }
  lastStatus = body;
  if (body.reference_version && body.reference_version !== ref()?.version) {
    // The agent got the county's catalog after this page loaded (a fresh PC), or a newer one.
    const had = ref() !== null;
    await loadReference();
    document.dispatchEvent(new CustomEvent("reference-loaded", { detail: { first: !had } }));
  }
  const state = body.last_error ? "offline" : body.last_sync_at ? "online" : "never";
  dot.dataset.state = state;
  document.querySelector("#sync-state").textContent = t(`sync.${state}`);
  // Scanned materials go after the records, in a lane of their own: said apart, so "all uploaded" stays about records.
  const files = body.attachments?.pending || 0;
  document.querySelector("#sync-pending").textContent =
    (body.pending ? t("sync.pending", { n: body.pending }) : t("sync.all_sent"))
    + (files ? t("sync.files_pending", { n: files }) : "");
  document.querySelector("#sync-last").textContent =
    body.last_sync_at ? t("sync.last", { time: shortTime(body.last_sync_at) }) : t("sync.last_never");
  const quarantined = document.querySelector("#sync-quarantined");
  quarantined.hidden = body.quarantined.length === 0;
  quarantined.textContent = t("sync.quarantined", { n: body.quarantined.length });
  const conflicts = document.querySelector("#sync-conflicts");
  conflicts.hidden = body.conflicts.length === 0;
  conflicts.textContent = t("sync.conflicts", { n: body.conflicts.length });
  document.querySelector("#sync-county").textContent = body.county_url || "";
  // Staff read why in Chinese; the technical text (aiohttp's, the county's) stays one click away for ops.
  const reason = body.last_error ? body.last_error_message || t("sync.failed_unknown") : null;
  document.querySelector("#sync-error").textContent = reason || "-";
  document.querySelector("#sync-error-tech").hidden = !body.last_error;
  document.querySelector("#sync-error-detail").textContent = body.last_error || "";
  const bar = document.querySelector("#sync-reason");
  bar.textContent = reason || "";
  bar.hidden = !reason;
  document.querySelector("#sync-note").hidden = Boolean(reason);
}

// Today's time alone, else date and time; "today" is China's day, whatever the PC's zone and the instant's offset.
function shortTime(iso) {
  const chinaDay = (ms) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 10);
  return chinaDay(Date.parse(iso)) === chinaDay(Date.now()) ? time(iso) : dateTime(iso);
}

async function renderConflicts() {
  const list = document.querySelector("#conflict-list");
  const { ok, body } = await api("GET", "/api/conflicts?mine=1");
  if (!ok) return;
  list.replaceChildren(...(body.conflicts.length ? body.conflicts.map((c) => conflictCard(c, refreshSync, true))
    : [h("p", { class: "empty" }, t("conflict.none"))]));
}

async function renderQuarantine() {
  const list = document.querySelector("#quarantine-list");
  const { ok, body } = await api("GET", "/api/quarantine");
  if (!ok) return;
  if (body.events.length === 0) {
    list.replaceChildren(h("p", { class: "empty" }, t("sync.quarantine_none")));
    return;
  }
  list.replaceChildren(...body.events.map(quarantineCard));
}

function quarantineCard(event) {
  const error = h("p", { class: "banner error", role: "alert", hidden: true });
  const inputs = event.editable.map((name) => {
    const id = `q-${event.seq}-${name}`;
    const value = event.data[name] ?? "";
    const input = Array.isArray(value)
      ? h("textarea", { id, name, rows: Math.max(2, value.length) }, value.join("\n"))
      : h("input", { id, name, value: String(value) });
    return h("div", { class: "field", dataset: { field: name } },
      h("label", { for: id }, fieldLabel(name)), input, h("p", { class: "field-error", id: `err-${name}` }));
  });
  const form = h("form", { class: "quarantine-form", novalidate: true }, ...inputs,
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, t("sync.resend")),
      h("button", { type: "button", class: "secondary", onclick: () => dismiss(event, card) }, t("sync.dismiss"))));
  form.addEventListener("submit", async (submitEvent) => {
    submitEvent.preventDefault();
    const changes = {};
    for (const name of event.editable) {
      const value = form.querySelector(`[name="${name}"]`).value.trim();
      const before = event.data[name] ?? "";
      const shown = Array.isArray(before) ? before.join("\n") : String(before);
      if (value !== shown) changes[name] = value === "" ? null : coerce(before, value);
    }
    const { ok, body } = await api("POST", `/api/quarantine/${event.event_id}/resend`, { data: changes });
    if (!ok) {
      showBanner(error, body.message);
      for (const [name, message] of Object.entries(body.fields || {})) {
        const slot = form.querySelector(`#err-${name}`);
        if (slot) slot.textContent = message;
      }
      return;
    }
    card.replaceChildren(h("p", { class: "banner ok" }, t("sync.resent")));
    refreshSync();
  });
  const caseLink = event.kind === "consulted" ? null
    : h("a", { href: `#/case/${event.case_id}` }, t("sync.open_case"));
  const card = h("article", { class: "quarantine-card" },
    h("h4", {}, `${kindLabel(event.kind)} · #${event.seq} `, caseLink),
    h("p", {}, h("strong", {}, `${t("sync.reason")}: `), event.reason),
    h("details", { class: "tech" }, h("summary", {}, t("sync.technical")), h("code", {}, `${event.code}: ${event.message}`)),
    error, form);
  return card;
}

function coerce(original, value) {
  if (Array.isArray(original)) return value.split("\n").map((line) => line.trim()).filter(Boolean);
  return typeof original === "number" && /^-?\d+$/.test(value) ? Number(value) : value;
}

async function dismiss(event, card) {
  const { ok } = await api("POST", `/api/quarantine/${event.event_id}/dismiss`);
  if (ok) card.replaceChildren(h("p", { class: "banner ok" }, t("sync.dismissed")));
  refreshSync();
}

function togglePanel(open) {
  const panel = document.querySelector("#sync-panel");
  const button = document.querySelector("#sync-indicator");
  panel.hidden = !open;
  button.setAttribute("aria-expanded", String(open));
  if (open) {
    renderConflicts();
    renderQuarantine();
    document.querySelector("#sync-now").focus();
  } else {
    button.focus();
  }
}

export function setupSync() {
  document.querySelector("#sync-indicator").addEventListener("click", () => {
    togglePanel(document.querySelector("#sync-panel").hidden);
  });
  document.querySelector("#sync-close").addEventListener("click", () => togglePanel(false));
  document.querySelector("#sync-panel").addEventListener("keydown", (event) => {
    if (event.key === "Escape") togglePanel(false);
  });
  document.querySelector("#sync-now").addEventListener("click", async () => {
    const result = document.querySelector("#sync-result");
    result.textContent = t("sync.running");
    const { ok, body } = await api("POST", "/api/sync");
    result.textContent = ok && body.ok ? t("sync.done", { n: body.synced })
      : t("sync.failed", { error: body.error_message || body.message || t("sync.failed_unknown") });
    await refreshSync();
    renderConflicts();
    renderQuarantine();
  });
  refreshSync();
  setInterval(refreshSync, POLL_MS);
}

export function syncStatus() {
  return lastStatus;
}
