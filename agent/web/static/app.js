// The staff page: loads messages and reference data, then shows one view per route after the "#".
import { translate, switchLanguage, loadMessages, t } from "./i18n.js";
import { CHANGED_KEY, h, hasUnsavedInput } from "./dom.js";
import { centreName, loadReference } from "./reference.js";
import { setupSync, refreshSync } from "./sync.js";
import { renderToday } from "./views/today.js";
import { renderNewCase } from "./views/newcase.js";
import { renderCase } from "./views/case.js";
import { renderConsult } from "./views/consult.js";
import { renderSearch } from "./views/search.js";
import { renderStaff } from "./views/staff.js";
import { ensureSignedIn, setupSessionEnd } from "./signin.js";

const ROUTES = [
  [/^#?\/?$/, "today", renderToday],
  [/^#\/today$/, "today", renderToday],
  [/^#\/new$/, "new", renderNewCase],
  [/^#\/case\/([0-9a-f-]{36})$/, "case", renderCase],
  [/^#\/consult$/, "consult", renderConsult],
  [/^#\/search(?:\?q=(.*))?$/, "search", renderSearch],
  [/^#\/staff$/, "staff", renderStaff],
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

// The view on screen shows the agent's state when it was drawn. Another tab of this page saves an action (a storage
// event), or the page comes back into view (another PC of the township, or `curl`, may have acted): draw it again,
// keeping the scroll position, unless the staff member has unsaved input in it; then say so and let them choose.
const REFRESH_DELAY_MS = 150; // a burst of actions saved in another tab (complete, then rate) makes one redraw
let refreshTimer = null;

function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshView, REFRESH_DELAY_MS);
}

async function refreshView() {
  refreshSync();
  const current = document.querySelector("#view .view");
  if (!current) return;
  if (hasUnsavedInput(current)) {
    if (!current.querySelector(".stale")) {
      current.prepend(h("p", { class: "banner warn stale", role: "status" }, t("app.stale"), " ",
        h("button", { type: "button", class: "secondary", onclick: () => route() }, t("app.stale_refresh"))));
    }
    return;
  }
  const y = window.scrollY;
  await route();
  window.scrollTo(0, y);
}

function setupFreshness() {
  window.addEventListener("storage", (event) => {
    if (event.key === CHANGED_KEY) refreshSoon();
  });
  // Not on window focus: a click that focuses the window would land on a view being replaced under it.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") refreshSoon();
  });
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
  await ensureSignedIn(); // nothing of the township's cases is fetched before
  setupSessionEnd(() => route());
  await loadReference();
  document.querySelector("#centre-name").textContent = centreName();
  document.querySelector("#lang-switch").addEventListener("click", switchLanguage);
  setupKeys();
  setupSync();
  setupFreshness();
  window.addEventListener("hashchange", route);
  document.addEventListener("reference-loaded", (event) => {
    document.querySelector("#centre-name").textContent = centreName();
    if (event.detail.first) route(); // the view was shown without the catalog; a newer one waits for the next view
  });
  await route();
  document.body.dataset.ready = "true"; // tests and screenshots wait for this
}

start();
