// Consultations (咨询): a quick counter entry without a case, counted in the county's figures.
import { api, clearFieldErrors, fromTemplate, h, optionsFor, showBanner, showFieldErrors, time } from "../dom.js";
import { t } from "../i18n.js";
import { clipped } from "../widgets.js";

export const CHANNELS = ["window", "online", "proxy", "home_visit", "self_service"];

export async function renderConsult(main) {
  const { fragment, slots } = fromTemplate("consult");
  const form = fragment.querySelector("#consult-form");
  optionsFor(form.querySelector("#c-channel"), CHANNELS.map((c) => [c, t(`channel.${c}`)]), "window");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    showBanner(slots.saved, null);
    const topic = form.topic.value.trim();
    if (!topic) {
      showFieldErrors(form, { topic: t("new.required") }).focus();
      return;
    }
    const { ok, body } = await api("POST", "/api/consultations", { topic, channel: form.channel.value });
    if (!ok) {
      (showFieldErrors(form, body.fields) || form.topic).focus();
      return;
    }
    showBanner(slots.saved, t("consult.saved"));
    form.topic.value = "";
    form.topic.focus();
    await renderList(slots.list);
  });
  main.replaceChildren(fragment);
  await renderList(slots.list);
  form.topic.focus();
}

async function renderList(slot) {
  const { ok, body } = await api("GET", "/api/consultations");
  if (!ok || body.consultations.length === 0) {
    slot.replaceChildren(h("p", { class: "empty" }, t("consult.none")));
    return;
  }
  slot.replaceChildren(h("table", { class: "cases" },
    h("thead", {}, h("tr", {}, h("th", {}, t("col.time")), h("th", {}, t("col.topic")), h("th", {}, t("col.channel")))),
    h("tbody", {}, body.consultations.slice().reverse().map((c) => h("tr", {},
      h("td", {}, time(c.at)), h("td", {}, clipped(c.topic)), h("td", {}, t(`channel.${c.channel}`)))))));
}
