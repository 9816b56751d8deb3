// New case (受理): item picker by part of name or code, applicant and certificate with the check digit verified
// while typing, then one POST. The agent checks everything again and names the fields at fault.
import { CERT_TYPES, FULL_LENGTH, checkCertificate, checkPhone, normalise } from "../certificates.js";
import {
  api, clearFieldErrors, flash, fromTemplate, optionsFor, setFieldError, showBanner, showFieldErrors,
} from "../dom.js";
import { t } from "../i18n.js";
import { centreName, findItems, limitText, ref, villages } from "../reference.js";
import { CHANNELS } from "./consult.js";
import { signedIn } from "../signin.js";

const STAFF_KEY = "staff"; // the clerk's name, remembered on this PC (before staff sign-in exists)

function staffName() {
  const me = signedIn();
  return me ? me.name : localStorage.getItem(STAFF_KEY) || "";
}

export async function renderNewCase(main) {
  const { fragment, slots } = fromTemplate("new");
  const form = fragment.querySelector("#new-case");
  main.replaceChildren(fragment);
  if (!ref()) {
    showBanner(slots["form-error"], t("new.no_reference"));
    return;
  }
  optionsFor(form.cert_type, CERT_TYPES.map((c) => [c, t(`cert_type.${c}`)]), "resident_id");
  optionsFor(form.channel, CHANNELS.map((c) => [c, t(`channel.${c}`)]), "window");
  optionsFor(form.village_code, [["", t("new.village_none")], ...villages().map((v) => [v.code, v.name])], "");
  const r = ref();
  optionsFor(form.org_code, [[r.township.code, centreName()],
    ...villages().map((v) => [v.code, v.name])], r.township.code);
  // Signed in: the clerk is who signed in (the event carries the staff id); the field shows the name, fixed.
  form.staff.defaultValue = staffName(); // remembered, so not an unsaved entry
  form.staff.readOnly = Boolean(signedIn());
  setupItemPicker(form);
  setupLiveChecks(form);
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("reset", () => {
    setTimeout(() => {
      clearFieldErrors(form);
      form.querySelector("#f-item-hint").textContent = "";
      form.staff.defaultValue = form.staff.value = staffName();
      form.querySelector("#f-item").focus();
    });
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit(form, slots["form-error"]);
  });
  form.querySelector("#f-item").focus();
}

function setupItemPicker(form) {
  const input = form.querySelector("#f-item");
  const list = form.querySelector("#f-item-list");
  const hint = form.querySelector("#f-item-hint");
  let matches = [];
  let active = -1;

  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  };
  const highlight = (index) => {
    active = index;
    list.querySelectorAll("[role=option]").forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    if (index >= 0) input.setAttribute("aria-activedescendant", `f-item-opt-${index}`);
  };
  const pick = (chosen) => {
    form.item_code.value = chosen.code;
    input.value = chosen.name;
    hint.textContent = t("new.item_picked", { code: chosen.code, category: chosen.category, limit: limitText(chosen) });
    setFieldError(form, "item_code", null);
    close();
  };
  const show = () => {
    matches = findItems(input.value);
    if (!input.value.trim()) {
      close();
      return;
    }
    list.replaceChildren(...(matches.length ? matches.map((m, i) => {
      const li = document.createElement("li");
      li.id = `f-item-opt-${i}`;
      li.setAttribute("role", "option");
      const code = document.createElement("span");
      code.className = "mono";
      code.textContent = m.code;
      const limit = document.createElement("small");
      limit.textContent = limitText(m);
      li.append(code, " ", m.name, " ");
      if (m.alias) {
        const alias = document.createElement("span");
        alias.className = "alias";
        alias.textContent = t("new.item_alias", { alias: m.alias });
        li.append(alias, " ");
      }
      li.append(limit);
      li.addEventListener("mousedown", (event) => {
        event.preventDefault();
        pick(m);
      });
      return li;
    }) : [Object.assign(document.createElement("li"), { className: "none", textContent: t("new.item_none") })]));
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    highlight(matches.length ? 0 : -1);
  };

  input.addEventListener("input", () => {
    form.item_code.value = "";
    hint.textContent = "";
    show();
  });
  input.addEventListener("keydown", (event) => {
    if (list.hidden && event.key === "ArrowDown") {
      show();
      event.preventDefault();
      return;
    }
    if (event.key === "Enter" && !event.ctrlKey && (list.hidden || active < 0) && !form.item_code.value) {
      event.preventDefault(); // Enter here picks an item; it never submits a form without one
      setFieldError(form, "item_code", t(input.value.trim() ? "new.pick_item" : "new.required"));
      return;
    }
    if (list.hidden) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (matches.length) highlight((active + (event.key === "ArrowDown" ? 1 : matches.length - 1)) % matches.length);
    } else if ((event.key === "Enter" || event.key === "Tab") && active >= 0) {
      if (event.key === "Enter") event.preventDefault();
      pick(matches[active]);
    } else if (event.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 100));
}

// The check digit is verified as soon as the number is complete, and again when the field is left.
function setupLiveChecks(form) {
  const checkCert = (final) => {
    const value = normalise(form.cert_type.value, form.cert_no.value);
    const complete = final || (FULL_LENGTH[form.cert_type.value] ?? Infinity) <= [...value].length;
    if (!value && !final) return setFieldError(form, "cert_no", null);
    const problem = complete ? checkCertificate(form.cert_type.value, value) : null;
    setFieldError(form, "cert_no", problem ? t(`cert.${problem}`) : null);
  };
  form.addEventListener("input", (event) => {
    const name = event.target.name;
    if (name && name !== "cert_no" && name !== "item_code") setFieldError(form, name, null);
  });
  form.cert_no.addEventListener("input", () => checkCert(false));
  form.cert_no.addEventListener("blur", () => form.cert_no.value && checkCert(true));
  form.cert_type.addEventListener("change", () => form.cert_no.value && checkCert(true));
  form.phone.addEventListener("blur", () => {
    const problem = form.phone.value.trim() ? checkPhone(form.phone.value) : null;
    setFieldError(form, "phone", problem ? t(`cert.${problem}`) : null);
  });
  form.phone.addEventListener("input", () => setFieldError(form, "phone", null));
}

function localErrors(form) {
  const fields = {};
  if (!form.item_code.value) {
    fields.item_code = form.querySelector("#f-item").value ? t("new.pick_item") : t("new.required");
  }
  if (!form.applicant_name.value.trim()) fields.applicant_name = t("new.required");
  const certProblem = form.cert_no.value.trim()
    ? checkCertificate(form.cert_type.value, form.cert_no.value) : "other.empty";
  if (certProblem) fields.cert_no = certProblem === "other.empty" ? t("new.required") : t(`cert.${certProblem}`);
  const phoneProblem = form.phone.value.trim() ? checkPhone(form.phone.value) : null;
  if (phoneProblem) fields.phone = t(`cert.${phoneProblem}`);
  return fields;
}

async function submit(form, banner) {
  clearFieldErrors(form);
  showBanner(banner, null);
  const problems = localErrors(form);
  if (Object.keys(problems).length) {
    showBanner(banner, t("new.fix_fields"));
    showFieldErrors(form, problems).focus();
    return;
  }
  const body = {};
  for (const name of ["item_code", "applicant_name", "cert_type", "cert_no", "phone", "channel", "village_code",
    "org_code", "staff"]) {
    const value = form[name].value.trim();
    if (value) body[name] = value;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  const resp = await api("POST", "/api/cases", body);
  button.disabled = false;
  if (!resp.ok) {
    showBanner(banner, resp.body.message);
    const first = showFieldErrors(form, resp.body.fields);
    (first || form.querySelector("#f-item")).focus();
    return;
  }
  if (!signedIn()) localStorage.setItem(STAFF_KEY, body.staff || "");
  flash(t("new.saved", { case_no: resp.body.case_no }));
  location.hash = `#/case/${resp.body.case_id}`;
}

