// Conflicts (县级未采纳): an action the county could not apply because another window acted on the same case first,
// with both sides and what staff can do: redo it on the case's current state, or accept the county's state. Both are
// recorded as events, so the county and every window know the conflict is settled.
import { api, dateTime, h } from "./dom.js";
import { has, t } from "./i18n.js";

function kindLabel(kind) {
  return has(`kind.${kind}`) ? t(`kind.${kind}`) : kind;
}

// Who did it: this PC, or another window by the name the county gave it.
export function who(by) {
  if (!by) return "";
  return by.is_this_pc ? t("conflict.this_pc") : by.name || by.agent_id;
}

// `withCaseLink`: in the sync panel, a link to the case (not on the case's own page).
export function conflictCard(c, onSettled, withCaseLink = false) {
  const result = h("p", { class: "banner", role: "status", hidden: true });
  const lostTo = c.lost_to
    ? t("conflict.lost_to", { kind: kindLabel(c.lost_to_kind), who: who(c.lost_to_by), time: dateTime(c.lost_to_at) })
    : t("conflict.no_lost_to");
  const settled = c.settled_by
    ? h("p", { class: "conflict-settled" }, t(`conflict.settled_${c.outcome}`))
    : null;
  const act = (path, done) => async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    const { ok, body } = await api("POST", `/api/conflicts/${c.event_id}/${path}`, {});
    result.hidden = false;
    result.className = `banner ${ok ? "ok" : "error"}`;
    result.textContent = ok ? t(done) : body.message;
    if (ok) onSettled?.();
    else button.disabled = false;
  };
  const actions = c.settled_by ? null : h("div", { class: "actions" },
    c.can_redo ? h("button", { type: "button", class: "primary", dataset: { conflictAction: "redo" },
      onclick: act("redo", "conflict.done_redo") }, t("conflict.redo")) : null,
    h("button", { type: "button", class: "secondary", dataset: { conflictAction: "accept" },
      onclick: act("accept", "conflict.done_accept") }, t("conflict.accept")));
  return h("article", { class: `conflict-card${c.settled_by ? " settled" : ""}`, dataset: { eventId: c.event_id } },
    h("h3", {}, t("conflict.title", { kind: kindLabel(c.kind) }), " ",
      h("span", { class: "muted" }, t("conflict.by", { who: who(c.by), time: dateTime(c.at) })),
      withCaseLink && c.case_no ? [" ", h("a", { href: `#/case/${c.case_id}`, class: "mono" }, c.case_no)] : null),
    h("p", {}, h("strong", {}, `${t("conflict.reason")}: `), c.message),
    h("p", {}, lostTo),
    c.can_redo || c.settled_by ? null : h("p", { class: "hint" }, t("conflict.cannot_redo")),
    settled, actions, result);
}
