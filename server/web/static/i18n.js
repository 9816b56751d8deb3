// Message catalog, as on the township page: every word the page shows comes from /dashboard/messages/zh-CN.json;
// scripts and the HTML hold keys only.
let messages = {};

export async function loadMessages() {
  const resp = await fetch("/dashboard/messages/zh-CN.json");
  messages = await resp.json();
}

// t("cases.total", {n: 3}): the message with {name} placeholders filled in; a missing key shows as itself.
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

export function translate(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
}
