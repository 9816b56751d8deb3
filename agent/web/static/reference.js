// The county's reference data (catalog, org units) as the agent keeps it offline, fetched once per page load.
import { api } from "./dom.js";
import { t } from "./i18n.js";

let reference = null;

export async function loadReference() {
  const { ok, body } = await api("GET", "/api/reference");
  reference = ok ? body : null;
  return reference;
}

export function ref() {
  return reference;
}

export function item(code) {
  return reference?.items.find((i) => i.code === code) || null;
}

export function orgName(code) {
  if (!reference || !code) return code || "";
  if (reference.township.code === code) return centreName();
  return reference.org_units.find((o) => o.code === code)?.name || code;
}

export function centreName() {
  return reference ? t("app.centre", { township: reference.township.name }) : t("app.centre_unknown");
}

export function villages() {
  return reference ? reference.org_units.filter((o) => o.level === "village") : [];
}

// Items whose code or name contains every word typed; code matches first, then shorter names.
export function findItems(query, limit = 8) {
  if (!reference) return [];
  const words = query.trim().toUpperCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [];
  const scored = [];
  for (const i of reference.items) {
    const text = `${i.code} ${i.name}`.toUpperCase();
    if (!words.every((w) => text.includes(w))) continue;
    const codeHit = i.code.toUpperCase().startsWith(words[0]) ? 0 : 1;
    scored.push([codeHit, i.name.length, i]);
  }
  scored.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return scored.slice(0, limit).map((s) => s[2]);
}

export function limitText(i) {
  return i.promised_days === 0 ? t("new.instant") : t("new.promised", { n: i.promised_days });
}
