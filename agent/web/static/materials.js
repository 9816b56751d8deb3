// The case's scanned materials (申请材料): attach by file picker, drag and drop, the camera of a phone or tablet
// (<input capture>) or a webcam or document camera (getUserMedia); each file is stored on this PC at once and goes
// to the county behind the case's records. The same list is printed as the receipt's materials list.
import { h } from "./dom.js";
import { t } from "./i18n.js";

const ACCEPT = "image/jpeg,image/png,image/tiff,image/webp,image/heic,application/pdf";

export async function loadAttachments(caseId) {
  try {
    const resp = await fetch(`/api/cases/${caseId}/attachments`);
    return resp.ok ? await resp.json() : { attachments: [], limits: null };
  } catch {
    return { attachments: [], limits: null };
  }
}

// One file to the agent: its bytes as the body, with the header the agent requires of uploads (agent/http/guard.py).
export async function uploadFile(caseId, file, name) {
  try {
    const resp = await fetch(`/api/cases/${caseId}/attachments`, {
      method: "POST", body: file,
      headers: { "Content-Type": "application/octet-stream", "X-Desk-Upload": "1",
        "X-File-Name": encodeURIComponent(name || file.name || "") },
    });
    const body = await resp.json().catch(() => ({}));
    return { ok: resp.ok, body };
  } catch {
    return { ok: false, body: { message: t("error.network") } };
  }
}

export function sizeText(n) {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(n / 1024))} KB`;
}

export function kindText(a) {
  return t(`materials.type.${a.media_type.split("/")[1]}`);
}

function item(a) {
  const preview = a.media_type.startsWith("image/") && a.is_inline
    ? h("img", { src: a.url, alt: a.name, loading: "lazy", class: "thumb" })
    : h("span", { class: "thumb doc", "aria-hidden": "true" }, kindText(a));
  return h("li", { class: "material", dataset: { sha256: a.sha256, state: a.upload_state } },
    h("a", { href: a.url, target: "_blank", rel: "noopener" }, preview),
    h("div", { class: "material-text" },
      h("a", { href: a.url, target: "_blank", rel: "noopener", class: "material-name" }, a.name),
      h("span", { class: "muted" }, `${kindText(a)} · ${sizeText(a.size_bytes)}`),
      h("span", { class: `upload upload-${a.upload_state === "uploaded" ? "synced" : "pending"}` },
        t(`materials.${a.upload_state}`)),
      a.upload_state === "pending" && a.upload_error ? h("span", { class: "muted material-error" }, a.upload_error) : null));
}

// The section, drawn into `holder`; `onChange` after a file was added.
export async function renderMaterials(holder, caseId) {
  const { attachments, limits } = await loadAttachments(caseId);
  const status = h("p", { class: "banner", role: "status", hidden: true, dataset: { slot: "materials-status" } });
  const list = h("ul", { class: "materials", dataset: { count: attachments.length } },
    attachments.length ? attachments.map(item) : h("li", { class: "empty" }, t("materials.none")));

  async function add(files) {
    const errors = [];
    let added = 0;
    for (const file of files) {
      status.hidden = false;
      status.className = "banner";
      status.textContent = t("materials.saving", { name: file.name || t("materials.photo") });
      const { ok, body } = await uploadFile(caseId, file);
      if (ok) added += 1;
      else errors.push(`${file.name || t("materials.photo")}：${body.message || t("error.network")}`);
    }
    await renderMaterials(holder, caseId);
    const after = holder.querySelector("[data-slot=materials-status]");
    after.hidden = false;
    after.className = errors.length ? "banner error" : "banner ok";
    after.setAttribute("role", errors.length ? "alert" : "status");
    after.textContent = errors.length ? errors.join("；") : t("materials.saved", { n: added });
  }

  const picker = h("input", { type: "file", accept: ACCEPT, multiple: true, hidden: true, dataset: { slot: "file" },
    onchange: () => add([...picker.files]) });
  const camera = h("input", { type: "file", accept: "image/*", capture: "environment", hidden: true,
    dataset: { slot: "camera" }, onchange: () => add([...camera.files]) });
  const buttons = h("div", { class: "material-buttons" },
    h("button", { type: "button", class: "secondary", onclick: () => picker.click() }, t("materials.pick")),
    h("button", { type: "button", class: "secondary", onclick: () => camera.click() }, t("materials.camera")),
    navigator.mediaDevices?.getUserMedia
      ? h("button", { type: "button", class: "secondary", onclick: () => webcam(holder, (blob) => add([blob])) },
        t("materials.webcam")) : null,
    picker, camera);
  const drop = h("div", { class: "dropzone", tabindex: "0", dataset: { slot: "dropzone" } },
    t("materials.drop"), limits ? h("span", { class: "muted" }, " ", t("materials.limit",
      { size: sizeText(limits.max_file_bytes) })) : null);
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    add([...event.dataTransfer.files]);
  });
  holder.replaceChildren(h("h2", {}, t("materials.title"), " ", h("span", { class: "muted" },
    t("materials.count", { n: attachments.length }))), status, list, buttons, drop);
}

// A webcam or document camera: a live picture and a button that takes it as a JPEG.
async function webcam(holder, onPhoto) {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  } catch {
    const status = holder.querySelector("[data-slot=materials-status]");
    status.hidden = false;
    status.className = "banner error";
    status.textContent = t("materials.no_camera");
    return;
  }
  const video = h("video", { autoplay: true, playsinline: true, class: "webcam" });
  video.srcObject = stream;
  const stop = () => { stream.getTracks().forEach((track) => track.stop()); panel.remove(); };
  const panel = h("div", { class: "webcam-panel" }, video, h("div", { class: "material-buttons" },
    h("button", { type: "button", class: "primary", onclick: () => {
      const canvas = h("canvas", { width: video.videoWidth, height: video.videoHeight });
      canvas.getContext("2d").drawImage(video, 0, 0);
      canvas.toBlob((blob) => { stop(); if (blob) onPhoto(new File([blob], "photo.jpg", { type: "image/jpeg" })); },
        "image/jpeg", 0.9);
    } }, t("materials.take")),
    h("button", { type: "button", class: "secondary", onclick: stop }, t("form.cancel"))));
  holder.append(panel);
}
