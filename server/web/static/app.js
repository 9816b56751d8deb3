// The county dashboard: checks the session (or shows the login form), then one view per route after the "#".
import { translate, loadMessages, t } from "./i18n.js";
import { h, api, reader } from "./dom.js";
import { renderLogin } from "./views/login.js";
import { renderOverview } from "./views/overview.js";
import { renderCases } from "./views/cases.js";
import { renderOpen, renderBad } from "./views/worklists.js";
import { renderAgents } from "./views/agents.js";
import { renderConflicts } from "./views/conflicts.js";
import { renderSummary } from "./views/summary.js";
import { renderReport } from "./views/report.js";
import { renderAudit } from "./views/audit.js";
import { renderMaterials } from "./views/materials.js";
import { renderCasePage, renderSearch, searchForm } from "./views/casepage.js";

const ROUTES = [
  [/^#?\/?$/, "overview", renderOverview],
  [/^#\/overview(\?.*)?$/, "overview", renderOverview],
  [/^#\/cases(\?.*)?$/, "overview", renderCases],
  [/^#\/open(\?.*)?$/, "open", renderOpen],
  [/^#\/bad(\?.*)?$/, "bad", renderBad],
  [/^#\/agents(\?.*)?$/, "agents", renderAgents],
  [/^#\/conflicts(\?.*)?$/, "conflicts", renderConflicts],
  [/^#\/summary(\?.*)?$/, "summary", renderSummary],
  [/^#\/report(\?.*)?$/, "report", renderReport],
  [/^#\/audit(\?.*)?$/, "audit", renderAudit],
  [/^#\/materials(\?.*)?$/, "overview", renderMaterials],
  [/^#\/case\/[0-9a-f-]{36}(\?.*)?$/, "case", renderCasePage],
  [/^#\/search(\?.*)?$/, "search", renderSearch],
];

let session = null;

function showSession(info) {
  session = info;
  reader.info = info;
  document.querySelector("#county-name").textContent = info ? info.county : t("app.county_unknown");
  document.querySelector("#mainnav").hidden = !info;
  document.querySelector("#account").hidden = !info;
  document.querySelector("[data-nav=audit]").hidden = !(info && info.role === "auditor");
  document.querySelector("#topsearch").hidden = !info;
  const where = info && info.township_name ? ` · ${info.township_name}` : "";
  document.querySelector("#account-name").textContent = info ? `${info.account}（${t(`role.${info.role}`)}${where}）` : "";
}

async function route() {
  document.body.dataset.ready = "false";
  const main = document.querySelector("#view");
  const view = h("div", { class: "view" });
  main.replaceChildren(view);
  if (!session || location.hash.startsWith("#/login")) {
    const resp = session ? { ok: false } : await api("GET", "/api/v1/session");
    if (!resp.ok) {
      showSession(null);
      await renderLogin(view, { onLogin: async (info) => {
        showSession(info);
        location.hash = "#/overview";
      } });
      document.body.dataset.ready = "true";
      return;
    }
    showSession(resp.body);
    if (location.hash.startsWith("#/login")) {
      location.hash = "#/overview";
      return;
    }
  }
  for (const [pattern, name, render] of ROUTES) {
    if (!pattern.test(location.hash)) continue;
    for (const link of document.querySelectorAll("[data-nav]")) link.toggleAttribute("aria-current", link.dataset.nav === name);
    await render(view);
    document.body.dataset.ready = "true"; // tests and screenshots wait for this
    return;
  }
  view.append(h("p", { class: "empty" }, t("error.not_found")));
  document.body.dataset.ready = "true";
}

async function start() {
  await loadMessages();
  translate(document.body);
  document.title = t("app.title");
  document.querySelector("#topsearch").replaceChildren(searchForm());
  document.querySelector("#logout").addEventListener("click", async () => {
    await api("DELETE", "/api/v1/session");
    showSession(null);
    location.hash = "#/login";
  });
  window.addEventListener("hashchange", route);
  await route();
}

start();
