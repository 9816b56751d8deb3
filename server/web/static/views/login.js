// The login form: name and password; the session cookie is HttpOnly, the page never sees it.
import { h, api, banner } from "../dom.js";
import { t } from "../i18n.js";

export async function renderLogin(view, { onLogin }) {
  const name = h("input", { type: "text", id: "login-name", name: "name", autocomplete: "username", required: true });
  const password = h("input", { type: "password", id: "login-password", name: "password", autocomplete: "current-password", required: true });
  const message = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "login", id: "login-form" },
    h("h1", {}, t("login.title")),
    h("p", { class: "hint" }, t("login.hint")),
    h("label", { for: "login-name" }, t("login.name")), name,
    h("label", { for: "login-password" }, t("login.password")), password,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("login.submit"))),
    message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const resp = await api("POST", "/api/v1/session", { name: name.value.trim(), password: password.value });
    if (!resp.ok) {
      message.replaceChildren(banner(loginError(resp)));
      password.select();
      return;
    }
    await onLogin(resp.body);
  });
  view.append(form);
  name.focus();
}

function loginError(resp) {
  if (resp.status === 401) return t("login.failed");
  if (resp.status === 429) return t("login.throttled", { minutes: Math.max(1, Math.ceil(resp.retryAfter / 60)) });
  return resp.body.message || t("error.network");
}
