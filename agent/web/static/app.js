// The staff page: loads messages and reference data, then shows one view per route after the "#".
import { translate, switchLanguage, loadMessages, t } from "./i18n.js";
import { h } from "./dom.js";
import { centreName, loadReference } from "./reference.js";
import { setupSync, refreshSync } from "./sync.js";
import { renderToday } from "./views/today.js";
import { renderNewCase } from "./views/newcase.js";
import { renderCase } from "./views/case.js";
import { renderConsult } from "./views/consult.js";
import { renderSearch } from "./views/search.js";

const ROUTES = [
  [/^#?\/?$/, "today", renderToday],
  [/^#\/today$/, "today", renderToday],
  [/^#\/new$/, "new", renderNewCase],
  [/^#\/case\/([0-9a-f-]{36})$/, "case", renderCase],
  [/^#\/consult$/, "consult", renderConsult],
  [/^#\/search(?:\?q=(.*))?$/, "search", renderSearch],
];

// Alt+letter by physical key, so the shortcuts also work with a Chinese input method active.
const SHORTCUTS = { KeyT: "#/today", KeyN: "#/new", KeyC: "#/consult", KeyS: "#/search" };

async function route() {
  const main = document.querySelector("#view");
  const hash = location.hash.split("&")[0];
  for (const [pattern, name, render] of ROUTES) {
    const match = hash.match(pattern);
    if (!match) continue;
    for (const link of document.querySelectorAll("[data-nav]")) {
      link.toggleAttribute("aria-current", link.dataset.nav === name);
    }
    // Each route renders into a fresh container: a slow render that finishes after the staff member has moved on
    // writes into a detached element instead of over the new view.
    const view = h("div", { class: "view" });
    main.replaceChildren(view);
    await render(view, ...match.slice(1).map((part) => (part === undefined ? undefined : decodeURIComponent(part))));
    refreshSync();
    return;
  }
  main.replaceChildren(h("p", { class: "empty" }, t("error.not_found")));
}

function isTyping(target) {
  return target.closest("input, textarea, select, [contenteditable]") !== null;
}

function setupKeys() {
  document.addEventListener("keydown", (event) => {
    if (event.altKey && !event.ctrlKey && !event.metaKey && SHORTCUTS[event.code]) {
      event.preventDefault();
      location.hash = SHORTCUTS[event.code];
      if (event.code === "KeyS") document.querySelector("#quicksearch-q").focus();
      return;
    }
    if (event.key === "/" && !isTyping(event.target)) {
      event.preventDefault();
      document.querySelector("#quicksearch-q").focus();
    }
  });
  document.querySelector("#quicksearch").addEventListener("submit", (event) => {
    event.preventDefault();
    const q = document.querySelector("#quicksearch-q").value.trim();
    location.hash = `#/search?q=${encodeURIComponent(q)}`;
  });
}

async function start() {
  await loadMessages();
  translate(document.body);
  document.title = t("app.title");
  await loadReference();
  document.querySelector("#centre-name").textContent = centreName();
  document.querySelector("#lang-switch").addEventListener("click", switchLanguage);
  setupKeys();
  setupSync();
  window.addEventListener("hashchange", route);
  document.addEventListener("reference-loaded", (event) => {
    document.querySelector("#centre-name").textContent = centreName();
    if (event.detail.first) route(); // the view was shown without the catalog; a newer one waits for the next view
  });
  await route();
  document.body.dataset.ready = "true"; // tests and screenshots wait for this
}

start();
