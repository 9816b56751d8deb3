// Message catalog: every word the page shows comes from /messages/<lang>.json; templates and scripts hold keys only.
export const LANGUAGES = ["zh-CN", "en"]; // the first is the default
let messages = {};
export let lang = LANGUAGES[0];

function pickLanguage() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (LANGUAGES.includes(asked)) localStorage.setItem("lang", asked);
  const saved = localStorage.getItem("lang");
  return LANGUAGES.includes(saved) ? saved : LANGUAGES[0];
}

export async function loadMessages() {
  lang = pickLanguage();
  const resp = await fetch(`/messages/${lang}.json`);
  messages = await resp.json();
  document.documentElement.lang = lang;
}

export function switchLanguage() {
  const next = LANGUAGES[(LANGUAGES.indexOf(lang) + 1) % LANGUAGES.length];
  localStorage.setItem("lang", next);
  const url = new URL(location.href);
  if (url.searchParams.has("lang")) {
    url.searchParams.delete("lang");
    location.replace(url);
  } else {
    location.reload();
  }
}

// t("sync.pending", {n: 3}): the message with {name} placeholders filled in; a missing key shows as itself.
export function t(key, vars = {}) {
  const text = messages[key];
  if (text === undefined) {
    console.warn("missing message", key);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

export function has(key) {
  return key in messages;
}

// Fill data-i18n (text), data-i18n-placeholder, data-i18n-title and data-i18n-aria-label below `root`.
export function translate(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
}
