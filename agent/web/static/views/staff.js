// 工作人员: the township's staff list. The lead (负责人) adds staff, sets roles and PINs and disables; everybody
// changes their own PIN here. The list reaches the township's other PCs through the county at their next sync.
import { api, clearFieldErrors, h, showBanner, showFieldErrors } from "../dom.js";
import { t } from "../i18n.js";
import { signedIn } from "../signin.js";

export async function renderStaff(main) {
  const me = signedIn();
  const saved = h("p", { class: "banner ok", role: "status", hidden: true });
  const list = h("div", {});
  const parts = [h("div", { class: "view-head" }, h("h1", {}, t("staff.title"))), saved,
    h("p", { class: "hint" }, t("staff.help")), list];
  if (me) parts.push(h("h2", {}, t("staff.own_pin")), pinForm(me.staff_id, saved));
  if (me && me.role === "lead") parts.push(h("h2", {}, t("staff.add")), addForm(saved, () => renderList(list, me)));
  main.replaceChildren(...parts);
  await renderList(list, me);
}

async function renderList(slot, me) {
  const { ok, body } = await api("GET", "/api/staff");
  if (!ok) {
    slot.replaceChildren(h("p", { class: "banner error" }, body.message));
    return;
  }
  const isLead = me && me.role === "lead";
  slot.replaceChildren(h("table", { class: "cases staff-list" },
    h("thead", {}, h("tr", {}, h("th", {}, t("signin.staff_id")), h("th", {}, t("staff.name")),
      h("th", {}, t("staff.role")), h("th", {}, t("staff.state")), isLead ? h("th", {}, "") : null)),
    h("tbody", {}, body.staff.map((s) => h("tr", { dataset: { staffId: s.staff_id } },
      h("td", { class: "mono" }, s.staff_id), h("td", {}, s.name), h("td", {}, t(`staff.role_${s.role}`)),
      h("td", {}, s.is_disabled ? t("staff.disabled") : t("staff.active")),
      isLead && s.staff_id !== me.staff_id ? h("td", {}, h("button", {
        type: "button", class: "secondary", onclick: async () => {
          const res = await api("POST", `/api/staff/${encodeURIComponent(s.staff_id)}`, { is_disabled: !s.is_disabled });
          if (res.ok) await renderList(slot, me);
        } }, s.is_disabled ? t("staff.enable") : t("staff.disable"))) : (isLead ? h("td", {}) : null))))));
}

function field(name, label, attrs = {}) {
  const id = `s-${name}`;
  return h("div", { class: "field", dataset: { field: name } }, h("label", { for: id }, label),
    h("input", { id, name, "aria-describedby": `err-${name}`, ...attrs }),
    h("p", { class: "field-error", id: `err-${name}` }));
}

function addForm(saved, refresh) {
  const role = h("select", { id: "s-role", name: "role" },
    h("option", { value: "clerk" }, t("staff.role_clerk")), h("option", { value: "lead" }, t("staff.role_lead")));
  const form = h("form", { id: "staff-add", class: "case-form", novalidate: true, autocomplete: "off" },
    field("staff_id", t("signin.staff_id"), { type: "text", maxlength: "32", spellcheck: "false" }),
    field("name", t("staff.name"), { type: "text", maxlength: "100" }),
    h("div", { class: "field" }, h("label", { for: "s-role" }, t("staff.role")), role),
    field("secret", t("staff.first_pin"), { type: "password", maxlength: "128", autocomplete: "new-password" }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("staff.add_submit"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const res = await api("POST", "/api/staff", { staff_id: form.staff_id.value.trim(), name: form.name.value.trim(),
                                                  role: form.role.value, secret: form.secret.value });
    if (!res.ok) {
      (showFieldErrors(form, res.body.fields || { staff_id: res.body.message }) || form.staff_id).focus();
      return;
    }
    showBanner(saved, t("staff.added", { name: res.body.staff.name }));
    form.reset();
    await refresh();
  });
  return form;
}

function pinForm(staffId, saved) {
  const form = h("form", { id: "staff-pin", class: "case-form", novalidate: true, autocomplete: "off" },
    field("new_secret", t("staff.new_pin"), { type: "password", maxlength: "128", autocomplete: "new-password" }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("staff.pin_submit"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const res = await api("POST", `/api/staff/${encodeURIComponent(staffId)}`, { secret: form.new_secret.value });
    if (!res.ok) {
      const problem = (res.body.fields && res.body.fields.secret) || res.body.message;
      (showFieldErrors(form, { new_secret: problem }) || form.new_secret).focus();
      return;
    }
    showBanner(saved, t("staff.pin_saved"));
    form.reset();
  });
  return form;
}
