// The resident's rating screen (评价屏): shows the case staff handed over (item, step, staff: nothing personal),
// five large faces, one tap, thanks. It asks the local agent every second what to show, and hears the staff page at
// once through a BroadcastChannel when both run in the same browser. Everything is local: it works offline.
import { loadMessages, t } from "./i18n.js";

const POLL_MS = 1000;
const THANKS_MS = 4000;
const LEVELS = [5, 4, 3, 2, 1];
const COLOURS = { 5: "#1e8c45", 4: "#5fa83a", 3: "#c9a227", 2: "#e07b2a", 1: "#c8372d" };
let shown = null; // request_id on the screen
let thanksUntil = 0;

function el(tag, attrs = {}, ...children) {
  const node = tag === "svg" || tag === "circle" || tag === "path" ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

// A face: the mouth curves up for 5 and down for 1.
function face(level) {
  const curve = { 5: 22, 4: 12, 3: 0, 2: -12, 1: -22 }[level];
  return el("svg", { viewBox: "0 0 100 100", "aria-hidden": "true" },
    el("circle", { cx: 50, cy: 50, r: 46, fill: COLOURS[level] }),
    el("circle", { cx: 34, cy: 40, r: 6, fill: "#fff" }), el("circle", { cx: 66, cy: 40, r: 6, fill: "#fff" }),
    el("path", { d: `M 28 ${66 - curve / 2} Q 50 ${66 + curve} 72 ${66 - curve / 2}`, stroke: "#fff", "stroke-width": 7,
      fill: "none", "stroke-linecap": "round" }));
}

function show(state) {
  document.body.dataset.state = state;
  for (const id of ["idle", "ask", "thanks"]) document.getElementById(id).hidden = id !== state;
}

async function call(method, path, body) {
  const init = { method, headers: {} };
  if (method !== "GET") {
    init.headers["Content-Type"] = "application/json"; // the agent takes state changes as JSON only
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  return { ok: resp.ok, body: await resp.json().catch(() => ({})) };
}

function ask(request) {
  shown = request.request_id;
  document.getElementById("rate-item").textContent = request.item_name;
  document.getElementById("rate-step").textContent = request.step_label;
  document.getElementById("rate-staff").textContent = request.staff || t("rate.staff_unknown");
  const error = document.getElementById("rate-error");
  error.hidden = true;
  const faces = document.getElementById("faces");
  faces.replaceChildren(...LEVELS.map((level) => {
    const button = el("button", { type: "button", class: "face", "data-rating": level }, face(level),
      el("span", { class: "label" }, t(`rating.${level}`)));
    button.addEventListener("click", () => give(request.request_id, level));
    return button;
  }));
  show("ask");
}

async function give(requestId, level) {
  const buttons = [...document.querySelectorAll(".face")];
  buttons.forEach((b) => { b.disabled = true; });
  const resp = await call("POST", "/api/rate/give", { request_id: requestId, rating: level }).catch(() => ({ ok: false, body: {} }));
  if (!resp.ok) {
    const error = document.getElementById("rate-error");
    error.textContent = resp.body.message || t("rate.failed");
    error.hidden = false;
    buttons.forEach((b) => { b.disabled = false; });
    return;
  }
  document.getElementById("thanks-choice").textContent = t("rate.your_choice", { label: t(`rating.${level}`) });
  shown = null;
  thanksUntil = Date.now() + THANKS_MS;
  show("thanks");
}

async function poll() {
  try {
    const resp = await call("GET", "/api/rate/current");
    const request = resp.ok ? resp.body.request : null;
    if (request && request.request_id !== shown) ask(request);
    else if (!request && Date.now() >= thanksUntil && document.body.dataset.state !== "idle") {
      shown = null;
      show("idle");
    }
  } catch {
    // the agent restarting: keep what is shown, ask again
  }
}

await loadMessages();
for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
for (const node of document.querySelectorAll("[data-i18n-aria-label]")) node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
document.title = t("rate.title");
if ("BroadcastChannel" in window) new BroadcastChannel("rating-screen").onmessage = () => poll();
await poll();
setInterval(poll, POLL_MS);
