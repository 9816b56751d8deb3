// The A4 print pages of one case: acceptance receipt (受理回执), one-time notice (一次性告知书) and the result slip
// (办结通知书) that goes with the result.
import { api, dateTime, h } from "./dom.js";
import { loadMessages, t, translate } from "./i18n.js";
import { kindText, loadAttachments, sizeText } from "./materials.js";
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

const TITLES = { receipt: "print.receipt_title", notice: "print.notice_title", result: "print.result_title" };

// Each sheet: its intro, its table, its list (the missing materials), its rule and its date. `c` is the case with
// its masked certificate number, supplement deadline and the centre's phone, as /api/cases/{id}/history gives it.
const SHEETS = {
  receipt: (c, itemName) => ({
    intro: t("print.receipt_intro", { applicant: c.applicant_name }),
    rows: [
      ["case.item", `${itemName} (${c.item_code})`],
      ["case.applicant", c.applicant_name],
      ["case.cert", `${t(`cert_type.${c.cert_type}`)} ${c.cert_no_masked}`],
      c.phone && ["case.phone", c.phone],
      ["case.channel", t(`channel.${c.channel}`)],
      ["case.accepted_at", dateTime(c.accepted_at)],
      ["case.promised", c.promised_days === 0 ? t("case.instant") : t("case.promised_days", { n: c.promised_days })],
      ["case.due_on", dueText(c)],
      c.staff && ["case.staff", c.staff],
      c.centre_phone && ["print.centre_phone", c.centre_phone],
    ],
    rule: t("print.receipt_rule"),
    date: c.accepted_on,
  }),
  notice: (c, itemName) => {
    const requested = c.supplements.length ? c.supplements[c.supplements.length - 1][0] : "";
    const days = item(c.item_code)?.supplement_days;
    return {
      intro: c.missing.length ? t("print.notice_intro", { applicant: c.applicant_name, item: itemName, case_no: c.case_no })
        : t("print.no_missing"),
      rows: [
        ["case.item", `${itemName} (${c.item_code})`],
        ["case.applicant", c.applicant_name],
        ["case.accepted_at", dateTime(c.accepted_at)],
        ["print.notice_date", requested],
        ["print.deadline", c.supplement_deadline ? t("print.deadline_date", { date: c.supplement_deadline, n: days })
          : t("print.deadline_none")],
        c.supplement_note && ["print.notice_note", c.supplement_note],
        c.centre_phone && ["print.centre_phone", c.centre_phone],
      ],
      missing: c.missing,
      rule: t("print.notice_rule"),
      date: requested,
    };
  },
  result: (c, itemName) => ({
    intro: c.state === "completed" ? t("print.result_intro", { applicant: c.applicant_name, item: itemName, case_no: c.case_no })
      : t("print.not_completed"),
    rows: c.state !== "completed" ? [] : [
      ["case.item", `${itemName} (${c.item_code})`],
      ["case.applicant", c.applicant_name],
      ["case.cert", `${t(`cert_type.${c.cert_type}`)} ${c.cert_no_masked}`],
      ["case.accepted_at", dateTime(c.accepted_at)],
      ["case.completed_at", dateTime(c.completed_at)],
      ["case.result", t(`result.${c.result}`)],
      c.note && ["print.result_note", c.note],
      ["case.due_on", c.due_on ? [c.due_on, " ", c.is_on_time === false ? t("case.late") : t("case.on_time")] : dueText(c)],
      c.staff && ["case.staff", c.staff],
      c.centre_phone && ["print.centre_phone", c.centre_phone],
    ],
    rule: t(c.result === "not_approved" ? "print.result_rule_refused" : "print.result_rule"),
    date: c.completed_on || "",
  }),
};

// 材料清单: what the resident handed in and the centre scanned, one line per file.
async function materialsList(caseId) {
  const { attachments } = await loadAttachments(caseId);
  const block = document.querySelector("#sheet-materials-block");
  block.hidden = false;
  document.querySelector("#sheet-materials").replaceChildren(...(attachments.length
    ? attachments.map((a) => h("li", {}, a.name, h("span", { class: "muted" }, ` (${kindText(a)}, ${sizeText(a.size_bytes)})`)))
    : [h("li", { class: "empty" }, t("print.materials_none"))]));
}

async function start() {
  await loadMessages();
  translate(document.body);
  await loadReference();
  const [, kind, caseId] = location.pathname.match(/^\/print\/(receipt|notice|result)\/([0-9a-f-]{36})$/) || [];
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
  const title = t(TITLES[kind]);
  document.title = `${title} ${c.case_no}`;
  document.querySelector("#sheet-centre").textContent = centre;
  document.querySelector("#sheet-seal-centre").textContent = centre;
  document.querySelector("#sheet-title").textContent = title;
  document.querySelector("#sheet-case-no").textContent = c.case_no;
  const made = SHEETS[kind](c, itemName);
  document.querySelector("#sheet-intro").textContent = made.intro;
  document.querySelector("#sheet-table").replaceChildren(...rows(made.rows));
  const list = document.querySelector("#sheet-missing");
  list.replaceChildren(...(made.missing || []).map((m) => h("li", {}, m)));
  list.hidden = !made.missing?.length;
  if (kind === "receipt") await materialsList(c.case_id);
  document.querySelector("#sheet-rule").textContent = made.rule;
  document.querySelector("#sheet-date").textContent = made.date;
  document.body.dataset.ready = "true";
}

start();
