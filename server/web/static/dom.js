// Element building, the JSON API, number formats and the route's query string.
import { t } from "./i18n.js";

// h("td", {class: "num"}, "text", child): children may be strings, nodes, arrays, null or false.
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

export const SVG = "http://www.w3.org/2000/svg";

export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

// The signed-in reader (GET /api/v1/session): name, role, township; app.js sets it.
export const reader = { info: null };

// GET or send JSON; resolves to {ok, status, body}. A 401 sends the reader to the login form.
export async function api(method, path, body) {
  const init = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  try {
    const resp = await fetch(path, init);
    const data = await resp.json().catch(() => ({}));
    if (resp.status === 401 && !path.endsWith("/session")) {
      location.hash = "#/login";
    }
    return { ok: resp.ok, status: resp.status, body: data, retryAfter: Number(resp.headers.get("Retry-After")) || 0 };
  } catch (err) {
    return { ok: false, status: 0, body: { message: t("error.network") } };
  }
}

const integer = new Intl.NumberFormat("zh-CN");

export function num(n) {
  return n === null || n === undefined ? "—" : integer.format(n);
}

// Milliseconds as signed seconds to one decimal: 1234 -> "+1.2", -40 -> "0.0" (an offset that rounds to nothing is
// never "-0.0"), as the agents export writes it.
export function secondsText(ms) {
  const tenths = Math.sign(ms) * Math.floor(Math.abs(ms) / 100 + 0.5); // halves away from zero, as the export
  return tenths === 0 ? "0.0" : `${tenths > 0 ? "+" : "-"}${(Math.abs(tenths) / 10).toFixed(1)}`;
}

// 0.8567 -> "85.67%", 1 -> "100.00%"; null -> "—"
export function pct(rate) {
  if (rate === null || rate === undefined) return "—";
  return `${(rate * 100).toFixed(2)}%`; // two decimals everywhere, so columns line up
}

// The query part of "#/route?a=1&b=2" as an object, and back.
export function routeQuery() {
  const q = location.hash.split("?")[1] || "";
  return Object.fromEntries(new URLSearchParams(q));
}

export function routeTo(route, query) {
  const params = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== ""));
  return `#/${route}${params.toString() ? `?${params}` : ""}`;
}

export function apiQuery(query) {
  return new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== ""));
}

export function banner(message, kind = "error") {
  return h("p", { class: `banner ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
}
