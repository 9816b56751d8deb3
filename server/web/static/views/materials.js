// A case's scanned materials (申请材料) as the PCs uploaded them: thumbnails of the images, the rest to download,
// each with its size, the PC that sent it and whether its file has arrived whole. `attachmentsPanel(caseId)` is the
// piece a case page embeds; `#/materials?case_id=…&case_no=…` shows it alone, reached from every case list.
import { h, api, banner, routeQuery } from "../dom.js";
import { t } from "../i18n.js";

function sizeText(n) {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`;
}

export function attachmentList(list) {
  if (!list.length) return h("p", { class: "empty" }, t("materials.none"));
  return h("ul", { class: "materials" }, list.map((a) => {
    const kind = t(`materials.type.${a.media_type.split("/")[1]}`);
    const preview = a.is_stored && a.is_inline
      ? h("img", { src: a.url, alt: a.name, loading: "lazy", class: "thumb" })
      : h("span", { class: "thumb doc", "aria-hidden": "true" }, kind);
    return h("li", { class: "material", dataset: { sha256: a.sha256, stored: String(a.is_stored) } },
      a.is_stored ? h("a", { href: a.url, target: "_blank", rel: "noopener" }, preview) : preview,
      h("div", { class: "material-text" },
        a.is_stored ? h("a", { href: a.url, target: "_blank", rel: "noopener", class: "material-name" }, a.name)
          : h("span", { class: "material-name" }, a.name),
        h("span", { class: "muted" }, `${kind} · ${sizeText(a.size_bytes)}`),
        h("span", { class: "muted" }, t("materials.added", { at: a.added_at.slice(0, 16).replace("T", " "), pc: a.agent_name || a.agent_id })),
        h("span", { class: "mono muted", title: a.sha256 }, `SHA-256 ${a.sha256.slice(0, 16)}…`),
        a.is_stored ? null : h("span", { class: "badge flag-overdue" }, t("materials.uploading"))));
  }));
}

export async function attachmentsPanel(caseId) {
  const resp = await api("GET", `/api/v1/cases/${encodeURIComponent(caseId)}/attachments`);
  const body = resp.ok ? attachmentList(resp.body.attachments) : banner(resp.body.message);
  const count = resp.ok ? h("span", { class: "count" }, t("materials.count", { n: resp.body.attachments.length })) : null;
  return h("section", { class: "panel", id: "case-materials" },
    h("div", { class: "panel-head" }, h("h2", {}, t("materials.title")), count), body);
}

export async function renderMaterials(view) {
  const q = routeQuery();
  const back = h("a", { href: "#", onclick: (e) => { e.preventDefault(); window.history.back(); } }, t("materials.back"));
  view.append(h("div", { class: "view-head" }, h("h1", {}, t("materials.title"), " ", h("span", { class: "mono" }, q.case_no || "")), back),
    await attachmentsPanel(q.case_id || ""));
}
