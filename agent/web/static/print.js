// The A4 print pages: acceptance receipt (受理回执) and one-time notice (一次性告知书) of one case.
import { api, dateTime, h } from "./dom.js";
import { loadMessages, t, translate } from "./i18n.js";
import { centreName, item, loadReference, orgName } from "./reference.js";
import { refreshSync } from "./sync.js";

function rows(pairs) {
  return pairs.filter(Boolean).map(([label, value]) => h("tr", {}, h("th", { scope: "row" }, t(label)), h("td", {}, value)));
}

function dueText(c) {
  if (c.promised_days === 0) return [c.due_on || c.accepted_on, " (", t("case.instant"), ")"];
  if (c.due_on) return c.due_on;
  return c.state === "suspended" ? t("case.due_paused") : t("case.due_missing");
}

async function start() {
  await loadMessages();
  translate(document.body);
  await loadReference();
  const [, kind, caseId] = location.pathname.match(/^\/print\/(receipt|notice)\/([0-9a-f-]{36})$/) || [];
  const { ok, body } = await api("GET", `/api/cases/${caseId}/history`);
  document.querySelector("#back").href = `/#/case/${caseId}`;
  document.querySelector("#print").addEventListener("click", () => window.print());
  refreshSync();
  const sheet = document.querySelector("#sheet");
  if (!ok) {
    sheet.replaceChildren(h("p", { class: "banner error" }, body.message || t("case.not_found")));
    return;
  }
  const c = body.case;
  const centre = orgName(c.org_code) || centreName();
  const itemName = item(c.item_code)?.name || c.item_code;
  const title = t(kind === "receipt" ? "print.receipt_title" : "print.notice_title");
  document.title = `${title} ${c.case_no}`;
  document.querySelector("#sheet-centre").textContent = centre;
  document.querySelector("#sheet-seal-centre").textContent = centre;
  document.querySelector("#sheet-title").textContent = title;
  document.querySelector("#sheet-case-no").textContent = c.case_no;
  const table = document.querySelector("#sheet-table");
  if (kind === "receipt") {
    document.querySelector("#sheet-intro").textContent = t("print.receipt_intro", { applicant: c.applicant_name });
    table.replaceChildren(...rows([
      ["case.item", `${itemName} (${c.item_code})`],
      ["case.applicant", c.applicant_name],
      ["case.cert", `${t(`cert_type.${c.cert_type}`)} ${c.cert_no_masked}`],
      c.phone && ["case.phone", c.phone],
      ["case.channel", t(`channel.${c.channel}`)],
      ["case.accepted_at", dateTime(c.accepted_at)],
      ["case.promised", c.promised_days === 0 ? t("case.instant") : t("case.promised_days", { n: c.promised_days })],
      ["case.due_on", dueText(c)],
      c.staff && ["case.staff", c.staff],
    ]));
    document.querySelector("#sheet-rule").textContent = t("print.receipt_rule");
    document.querySelector("#sheet-date").textContent = c.accepted_on;
  } else {
    const requested = c.supplements.length ? c.supplements[c.supplements.length - 1][0] : "";
    document.querySelector("#sheet-intro").textContent = c.missing.length
      ? t("print.notice_intro", { applicant: c.applicant_name, item: itemName, case_no: c.case_no })
      : t("print.no_missing");
    table.replaceChildren(...rows([
      ["case.item", `${itemName} (${c.item_code})`],
      ["case.applicant", c.applicant_name],
      ["case.accepted_at", dateTime(c.accepted_at)],
      ["print.notice_date", requested],
    ]));
    const list = document.querySelector("#sheet-missing");
    list.replaceChildren(...c.missing.map((m) => h("li", {}, m)));
    list.hidden = c.missing.length === 0;
    document.querySelector("#sheet-rule").textContent = t("print.notice_rule");
    document.querySelector("#sheet-date").textContent = requested;
  }
  document.body.dataset.ready = "true";
}

start();
