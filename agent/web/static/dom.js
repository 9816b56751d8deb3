// Small helpers shared by the views: element building, the local API, dates, and field errors.
import { t, translate } from "./i18n.js";

// h("td", {class: "mono"}, "text", child): children may be strings, nodes, arrays, null or false.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

// A copy of <template id="tpl-NAME"> with its messages filled in, and a finder for its data-slot elements.
export function fromTemplate(name) {
  const fragment = document.getElementById(`tpl-${name}`).content.cloneNode(true);
  translate(fragment);
  const slots = {};
  for (const el of fragment.querySelectorAll("[data-slot]")) slots[el.dataset.slot] = el;
  return { fragment, slots };
}

// The local JSON API. Resolves to {ok, status, body}; a dead agent resolves with status 0 and a message.
// Every change is sent as JSON, with a body or not: the agent refuses any other change (see agent/http/guard.py).
export async function api(method, path, body) {
  const init = { method, headers: {} };
  if (method !== "GET") {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body === undefined ? {} : body);
  }
  try {
    const resp = await fetch(path, init);
    const data = await resp.json().catch(() => ({}));
    if (resp.ok && method !== "GET") announceChange(path);
    if (resp.status === 401 && data.code === "sign_in_required") {
      document.dispatchEvent(new CustomEvent("sign-in-needed")); // signin.js asks again
    }
    return { ok: resp.ok, status: resp.status, body: data };
  } catch (err) {
    return { ok: false, status: 0, body: { code: "network", message: t("error.network") } };
  }
}

// Other tabs of the page hear of every saved action through a storage event and show the current state (app.js).
export const CHANGED_KEY = "desk-changed";

function announceChange(path) {
  try {
    localStorage.setItem(CHANGED_KEY, JSON.stringify({ path, at: Date.now(), nonce: Math.random() }));
  } catch {
    // storage full or disabled: the other tabs still catch up when they are looked at again
  }
}

// Whether a staff member has typed into a form below `root` and not saved it: such a view is not redrawn under them.
export function hasUnsavedInput(root) {
  return [...root.querySelectorAll("input, textarea, select")].some((el) => {
    if (el.type === "hidden" || el.type === "search") return false;
    if (el.type === "radio" || el.type === "checkbox") return el.checked !== el.defaultChecked;
    if (el.tagName === "SELECT") {
      const initial = [...el.options].findIndex((o) => o.defaultSelected);
      return el.selectedIndex !== Math.max(initial, 0);
    }
    return el.value !== el.defaultValue;
  });
}

export function dateTime(iso) {
  return iso ? iso.slice(0, 16).replace("T", " ") : "";
}

export function time(iso) {
  return iso ? iso.slice(11, 16) : "";
}

export function optionsFor(select, entries, selected) {
  select.replaceChildren(...entries.map(([value, label]) => h("option", { value, selected: value === selected }, label)));
}

// Show `message` next to the field named `name` inside `form` (or clear it with null).
export function setFieldError(form, name, message) {
  const slot = form.querySelector(`#err-${name}`);
  const input = form.querySelector(`[name="${name}"]`);
  const field = form.querySelector(`[data-field="${name}"]`);
  if (slot) slot.textContent = message || "";
  if (field) field.classList.toggle("invalid", Boolean(message));
  const target = name === "item_code" ? form.querySelector("#f-item") : input;
  if (target) target.setAttribute("aria-invalid", message ? "true" : "false");
}

export function clearFieldErrors(form) {
  for (const slot of form.querySelectorAll(".field-error")) setFieldError(form, slot.id.slice(4), null);
}

// Put the API's per-field messages next to their fields; returns the first field element that has one.
export function showFieldErrors(form, fields) {
  let first = null;
  for (const [name, message] of Object.entries(fields || {})) {
    setFieldError(form, name, message);
    const target = name === "item_code" ? form.querySelector("#f-item") : form.querySelector(`[name="${name}"]`);
    if (!first && target) first = target;
  }
  return first;
}

export function showBanner(el, message) {
  el.textContent = message || "";
  el.hidden = !message;
}

// Ctrl+Enter (or Cmd+Enter) anywhere in a form submits it, also from a textarea.
export function submitOnCtrlEnter(form) {
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
}

// A message for the next view to show once ("saved ..."), kept across one route change.
let flashMessage = null;

export function flash(message) {
  flashMessage = message;
}

export function takeFlash() {
  const message = flashMessage;
  flashMessage = null;
  return message;
}
