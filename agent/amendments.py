"""更正: staff correct a case's own fields, with a reason. Pure: the service reads and writes around it.

Which fields, and which need the county's grant once the case is closed or rated, is the rule both sides fold by
(`protocol.corrections`). Each value is checked as on the acceptance form (certificate check digits, phone format,
the township's villages and units, the catalog); a corrected item brings its promised days and due date again,
never typed. What the author saw of each changed field goes with the event (`before`), for every history.
(Not to be confused with `agent.corrections`: resending an event the county refused.)
"""

from __future__ import annotations

from typing import Any

import msgspec

from agent.cases import Stamp, event_for
from agent.errors import InvalidInput
from agent.explain import invalid_input
from agent.records import OutboxEvent
from agent.reference import Reference
from protocol import certificates
from protocol.corrections import CORRECTABLE, FIELD_LABELS, needs_grant, needs_grant_message
from protocol.lifecycle import Case, IllegalTransition, apply_event
from protocol.messages import CorrectedData, decode_event_data
from protocol.vocabulary import Channel, EventKind, Level

FORM_FIELDS = (*CORRECTABLE, "reason")


def correct(case: Case, form: Any, ref: Reference, stamp: Stamp, parents: tuple[str, ...],
            grant: str | None = None) -> tuple[Case, OutboxEvent]:
    """The `corrected` event for `form` ({field: new value, ..., "reason": why}): only the fields that differ from
    the case change. Raises InvalidInput naming the fields at fault (code `correction_needs_grant` when a closed or
    rated case would change a figure without `grant`)."""
    if not isinstance(form, dict):
        raise InvalidInput("更正内容应为 JSON 对象")
    unknown = sorted(set(form) - set(FORM_FIELDS))
    if unknown:
        raise InvalidInput("这些字段不能更正：" + "、".join(unknown), {f: "不能更正此字段" for f in unknown})
    text = {k: ("" if v is None else str(v).strip()) for k, v in form.items()}
    reason = text.pop("reason", "")
    fields = _check(case, text, ref)
    if not reason:
        fields["reason"] = "请填写更正原因"
    if fields:
        raise InvalidInput("请改正标出的字段", fields)
    changes: dict[str, Any] = {k: v for k, v in text.items() if v != (getattr(case, k) or "")}
    if not changes:
        raise InvalidInput("这次更正没有修改任何字段", {"reason": "没有修改任何字段"})
    blocked = needs_grant(case, changes)
    if blocked and grant is None:
        message = needs_grant_message(blocked)
        raise InvalidInput(message, {f: "须县级授权" for f in blocked}, code="correction_needs_grant")
    before: dict[str, Any] = {k: getattr(case, k) for k in changes}
    if "item_code" in changes:
        item = ref.items[changes["item_code"]]
        changes["promised_days"] = item.promised_days
        changes["due_on"] = ref.due_on(case.accepted_on, item.promised_days, case.supplements)
        before |= {"promised_days": case.promised_days, "due_on": case.due_on}
    try:
        data = decode_event_data(EventKind.CORRECTED, {**changes, "reason": reason, "before": before,
                                                       "grant": grant})
    except msgspec.ValidationError as e:
        raise invalid_input(e) from None
    assert isinstance(data, CorrectedData)
    try:
        new_case = apply_event(case, case.case_id, EventKind.CORRECTED, data, stamp.corrected)
    except IllegalTransition as e:
        raise InvalidInput(e.message, {"reason": e.message}, code=e.code) from None
    return new_case, event_for(case.case_id, EventKind.CORRECTED, data, stamp, parents=parents)


def _check(case: Case, text: dict[str, str], ref: Reference) -> dict[str, str]:
    """Field -> message for the values that cannot stand; normalises certificate and phone numbers in `text`."""
    fields: dict[str, str] = {}
    for key in ("applicant_name", "cert_no", "cert_type", "item_code", "org_code", "channel"):
        if key in text and not text[key]:
            fields[key] = f"{FIELD_LABELS[key]}不能为空"
    if text.get("cert_type") and text["cert_type"] not in certificates.CERT_TYPES:
        fields["cert_type"] = certificates.MESSAGES["cert_type.unknown"]
    if ("cert_no" in text or "cert_type" in text) and not fields.keys() & {"cert_no", "cert_type"}:
        cert_type = text.get("cert_type") or case.cert_type
        number = certificates.normalise_certificate(cert_type, text.get("cert_no") or case.cert_no)
        problem = certificates.check_certificate(cert_type, number)
        if problem:
            fields["cert_no"] = problem
        elif "cert_no" in text:
            text["cert_no"] = number
    if text.get("phone"):
        text["phone"] = certificates.normalise_phone(text["phone"])
        problem = certificates.check_phone(text["phone"])
        if problem:
            fields["phone"] = problem
    if text.get("village_code"):
        unit = ref.org_units.get(text["village_code"])
        if unit is None or unit.level != Level.VILLAGE:
            fields["village_code"] = "请选择本乡镇的村（社区）"
    if text.get("org_code") and text["org_code"] not in ref.org_units:
        fields["org_code"] = "办理单位不属于本乡镇"
    if text.get("item_code") and text["item_code"] not in ref.items:
        fields["item_code"] = "事项目录中没有这个事项编码"
    if text.get("channel") and text["channel"] not in Channel.__members__.values():
        fields["channel"] = "受理渠道无效"
    for key in ("phone", "village_code", "staff", "note"):  # optional: an empty one is not a correction
        if key in text and not text[key] and getattr(case, key) is None:
            del text[key]
        elif key in text and not text[key]:
            fields[key] = f"{FIELD_LABELS[key]}不能改为空"
    return fields
