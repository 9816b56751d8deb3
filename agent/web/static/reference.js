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

// What staff type, folded for comparison: full-width letters and digits of a Chinese input method (ｄｂ, ０００３)
// as their ASCII selves, Latin in lower case.
export function fold(text) {
  return text.normalize("NFKC").toLowerCase();
}

const LATIN = /^[a-z0-9-]+$/;

// Items that every word typed finds: in the code, the name or an alias (低保), or, for Latin letters, in the pinyin
// initials of the name or an alias that the county sends with the catalog (`db` finds 低保). Best first: the code
// starts with the first word, then a name or alias does, then initials do, then any other hit; shorter names first.
// Each match is the item with `alias`: the alias that was hit, for the list to show.
export function findItems(query, limit = 8) {
  if (!reference) return [];
  const words = fold(query).trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [];
  const scored = [];
  for (const i of reference.items) {
    const aliases = i.aliases || [];
    const names = [i.name, ...aliases].map(fold);
    const initials = i.initials || [];
    const hits = (w) => fold(i.code).includes(w) || names.some((n) => n.includes(w))
      || (LATIN.test(w) && initials.some((k) => k.includes(w)));
    if (!words.every(hits)) continue;
    const first = words[0];
    const rank = fold(i.code).startsWith(first) ? 0 : names.some((n) => n.startsWith(first)) ? 1
      : initials.some((k) => k.startsWith(first)) ? 2 : 3;
    // The alias hit by the words, by text or by its initials (initials[0] is the name's, then one per alias).
    const alias = aliases.find((a, n) => words.every((w) => fold(a).includes(w)
      || (LATIN.test(w) && (initials[n + 1] || "").includes(w)))) || null;
    scored.push([rank, i.name.length, { ...i, alias }]);
  }
  scored.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return scored.slice(0, limit).map((s) => s[2]);
}

export function limitText(i) {
  return i.promised_days === 0 ? t("new.instant") : t("new.promised", { n: i.promised_days });
}
