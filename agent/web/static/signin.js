// Staff sign-in (工作人员登录): asked before the page shows anything once the township has staff, and again when a
// session ends (idle, too old, disabled). The session is an HttpOnly cookie: this script never sees it.
import { t } from "./i18n.js";
import { api, h } from "./dom.js";

let current = null; // the signed-in staff member, or null

export function signedIn() {
  return current;
}

// Resolves once somebody is signed in, or at once when the agent asks for no sign-in (no staff set up yet).
export async function ensureSignedIn() {
  const res = await api("GET", "/api/session");
  if (res.ok && (!res.body.required || res.body.staff)) {
    showWho(res.body.staff, res.body.required);
    return;
  }
  await askSignIn();
}

function showWho(staff, required) {
  current = staff;
  const who = document.querySelector("#signed-in");
  if (!staff) {
    who.replaceChildren(required ? "" : h("span", { class: "hint" }, t("signin.no_staff")));
    return;
  }
  who.replaceChildren(
    h("span", { class: "who", "data-staff-id": staff.staff_id }, t("signin.signed_in", { name: staff.name, staff_id: staff.staff_id })),
    " ",
    h("button", { type: "button", class: "secondary", id: "sign-out", onclick: signOut }, t("signin.sign_out")));
}

async function signOut() {
  await api("POST", "/api/session/end");
  current = null;
  location.reload();
}

function askSignIn() {
  return new Promise((resolve) => {
    const error = h("p", { class: "banner error", role: "alert", hidden: true });
    const staffId = h("input", { id: "signin-staff-id", name: "staff_id", type: "text", autocomplete: "username",
                                 maxlength: "32", required: true, spellcheck: "false" });
    const secret = h("input", { id: "signin-secret", name: "secret", type: "password", autocomplete: "current-password",
                                maxlength: "128", required: true });
    const form = h("form", { id: "signin-form", class: "case-form signin", novalidate: true },
      h("div", { class: "field" }, h("label", { for: "signin-staff-id" }, t("signin.staff_id")), staffId),
      h("div", { class: "field" }, h("label", { for: "signin-secret" }, t("signin.secret")), secret),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("signin.submit"))));
    const dialog = h("section", { class: "signin-overlay", id: "signin", role: "dialog", "aria-modal": "true",
                                  "aria-labelledby": "signin-title" },
      h("div", { class: "signin-box" }, h("h1", { id: "signin-title" }, t("signin.title")),
        h("p", { class: "hint" }, t("signin.help")), error, form));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const res = await api("POST", "/api/session", { staff_id: staffId.value.trim(), secret: secret.value });
      if (res.ok) {
        dialog.remove();
        showWho(res.body.staff, true);
        resolve();
        return;
      }
      secret.value = "";
      error.textContent = res.body.message || t("error.network");
      error.hidden = false;
      secret.focus();
    });
    document.body.append(dialog);
    staffId.focus();
  });
}

// An answer that says the session ended: sign in again, then show the view again.
export function setupSessionEnd(onSignedIn) {
  document.addEventListener("sign-in-needed", async () => {
    if (document.querySelector("#signin")) return;
    await askSignIn();
    onSignedIn();
  });
}
