"""Staff actions become a validated event plus the case's new row. Pure: no I/O, the clock and ids are passed in.

Both the local API and the web page go through here, so a bad entry gets the same clear error everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from agent.errors import InvalidInput
from agent.explain import invalid_input
from agent.records import OutboxEvent
from agent.reference import Reference
from protocol import certificates, corrections
from protocol.codes import staff_message
from protocol.lifecycle import Case, IllegalTransition, apply_event, china_seconds, corrected_at
from protocol.messages import AcceptedData, Conflict, SettledData, decode_event_data
from protocol.vocabulary import BAD_RATINGS, Channel, EventKind, Outcome

_json = msgspec.json.Encoder()

# Fields a staff member fills in when accepting; the rest of AcceptedData is derived here.
ACCEPT_FIELDS = ("item_code", "org_code", "village_code", "channel", "applicant_name", "cert_type", "cert_no",
                 "phone", "staff")

# Actions on an existing case that staff may take through the API (accepted creates, consulted is no case, settled
# answers a conflict: `settle`, corrected has its own checks: `amendments.correct`).
ACTIONS = frozenset(EventKind) - {EventKind.ACCEPTED, EventKind.CONSULTED, EventKind.SETTLED, EventKind.CORRECTED}


@dataclass(frozen=True)
class Stamp:
    """Who and when: the ids and clock of one action, made by the caller."""

    event_id: str
    now: datetime  # the PC's clock, aware
    offset_ms: int  # PC clock minus server clock, last measured
    staff_id: str | None = None  # the signed-in staff member; None: the agent itself, or no sign-in yet

    @property
    def at(self) -> str:
        # Milliseconds: two actions within one second stay apart (the county orders concurrent events by time).
        return self.now.isoformat(timespec="milliseconds")

    @property
    def when(self) -> datetime:
        return corrected_at(self.at, self.offset_ms)

    @property
    def corrected(self) -> str:
        """`when` as `apply_event` takes it."""
        return china_seconds(self.when)


def form_text(form: Any, allowed: tuple[str, ...]) -> dict[str, str]:
    """A staff form as stripped text per field; refuses what is not an object or names an unknown field."""
    if not isinstance(form, dict):
        raise InvalidInput("请求内容应为 JSON 对象")
    unknown = set(form) - set(allowed)
    if unknown:
        raise InvalidInput(f"未知字段: {', '.join(sorted(unknown))}")
    return {k: (str(v).strip() if v is not None else "") for k, v in form.items()}


def accept(form: dict[str, Any], ref: Reference, *, case_id: str, case_no: str,
           stamp: Stamp) -> tuple[Case, OutboxEvent]:
    """受理: check the form against the catalog, org units and certificate rules; compute the due date."""
    text = form_text(form, ACCEPT_FIELDS)
    fields: dict[str, str] = {}

    item = ref.items.get(text.get("item_code", ""))
    if item is None:
        fields["item_code"] = "请从事项目录中选择事项" if not text.get("item_code") else "事项目录中没有这个事项编码"
    org_code = text.get("org_code") or ref.township.code
    if org_code not in ref.org_units:
        fields["org_code"] = "办理单位不属于本乡镇"
    village_code = text.get("village_code") or None
    if village_code is not None and (village_code not in ref.org_units or village_code == ref.township.code):
        fields["village_code"] = "请选择本乡镇的村(社区)"
    channel = text.get("channel") or Channel.WINDOW.value
    if channel not in Channel.__members__.values():
        fields["channel"] = "受理渠道无效"
    if not text.get("applicant_name"):
        fields["applicant_name"] = "请填写申请人姓名"
    elif len(text["applicant_name"]) > 100:
        fields["applicant_name"] = "申请人姓名不能超过100个字符"
    cert_type = text.get("cert_type") or certificates.RESIDENT_ID
    cert_no = certificates.normalise_certificate(cert_type, text.get("cert_no", ""))
    problem = certificates.check_certificate(cert_type, cert_no)
    if problem:
        fields["cert_no" if cert_type in certificates.CERT_TYPES else "cert_type"] = problem
    phone = text.get("phone") or None
    if phone is not None:
        phone = certificates.normalise_phone(phone)
        problem = certificates.check_phone(phone)
        if problem:
            fields["phone"] = problem
    if fields:
        raise InvalidInput("请改正标出的字段", fields)

    assert item is not None
    when = stamp.when
    data = AcceptedData(
        case_no=case_no,
        item_code=item.code,
        org_code=org_code,
        village_code=village_code,
        channel=Channel(channel),
        applicant_name=text["applicant_name"],
        cert_type=cert_type,
        cert_no=cert_no,
        phone=phone,
        promised_days=item.promised_days,
        due_on=ref.due_on(when.date().isoformat(), item.promised_days),
        staff=text.get("staff") or None,
        item_version=item.version,  # the catalog entry it is accepted under
    )
    case = apply_event(None, case_id, EventKind.ACCEPTED, data, china_seconds(when))
    return case, event_for(case_id, EventKind.ACCEPTED, data, stamp, parents=())


def act(case: Case, kind: str, body: dict[str, Any], ref: Reference, stamp: Stamp,
        parents: tuple[str, ...] = ()) -> tuple[Case, OutboxEvent]:
    """A further action on an existing case, made on its state after `parents` (its heads). Raises InvalidInput for
    bad fields or an illegal transition."""
    try:
        event_kind = EventKind(kind)
    except ValueError:
        raise InvalidInput(f"未知的操作: {kind}", {"kind": "未知的操作"}) from None
    if event_kind not in ACTIONS:
        raise InvalidInput(f"不能对已有办件执行 {kind}", {"kind": "不能对已有办件执行此操作"})
    if event_kind is EventKind.UPDATED and corrections.is_settled(case):
        raise InvalidInput(staff_message("correction_required"), {"kind": "请用「更正」并写明原因"},
                           code="correction_required")
    body = dict(body or {})
    if event_kind is EventKind.SUPPLEMENT_RECEIVED:
        # The new due date follows from the pause; staff never type it.
        received_on = stamp.when.date().isoformat()
        pauses = [list(p) for p in case.supplements]
        if pauses and pauses[-1][1] is None:
            pauses[-1][1] = received_on
        body["due_on"] = ref.due_on(case.accepted_on, case.promised_days, pauses)
    if event_kind is EventKind.EVALUATED and body.get("rating") in BAD_RATINGS:
        body["follow_up_due"] = ref.follow_up_due(stamp.corrected[:10])  # staff never type it
    if event_kind is EventKind.UPDATED:
        _check_update(body, ref, case)
        if "item_code" in body and body["item_code"] in ref.items:
            body["promised_days"] = ref.items[body["item_code"]].promised_days
            if ref.items[body["item_code"]].version is not None:
                body["item_version"] = ref.items[body["item_code"]].version
            body["due_on"] = ref.due_on(case.accepted_on, body["promised_days"], case.supplements)
    try:
        data = decode_event_data(event_kind, body)
    except msgspec.ValidationError as e:
        raise invalid_input(e) from None
    try:
        new_case = apply_event(case, case.case_id, event_kind, data, stamp.corrected, stamp.event_id)
    except IllegalTransition as e:
        raise InvalidInput(e.message, {"kind": e.message}) from None
    return new_case, event_for(case.case_id, event_kind, data, stamp, parents=parents)


def settle(conflict: Conflict, outcome: Outcome, stamp: Stamp, parents: tuple[str, ...],
           redo_event_id: str | None = None, note: str | None = None) -> OutboxEvent:
    """The `settled` event that tells everyone staff dealt with `conflict`: the county's state stands (accepted) or
    the action was done again on the current state (redone, by `redo_event_id`)."""
    data = SettledData(event_id=conflict.event_id, outcome=outcome, redo_event_id=redo_event_id, note=note or None)
    return event_for(conflict.case_id, EventKind.SETTLED, data, stamp, parents=parents)


def _check_update(body: dict[str, Any], ref: Reference, case: Case) -> None:
    fields = {}
    if "item_code" in body and body["item_code"] not in ref.items:
        fields["item_code"] = "事项目录中没有这个事项编码"
    for key in ("org_code", "village_code"):
        if key in body and body[key] not in ref.org_units:
            fields[key] = "不属于本乡镇"
    if "cert_no" in body:
        cert_type = body.get("cert_type") or case.cert_type
        body["cert_no"] = certificates.normalise_certificate(cert_type, str(body["cert_no"]))
        problem = certificates.check_certificate(cert_type, body["cert_no"])
        if problem:
            fields["cert_no"] = problem
    if fields:
        raise InvalidInput("请改正标出的字段", fields)


def event_for(case_id: str, kind: EventKind, data: msgspec.Struct, stamp: Stamp, *,
              parents: tuple[str, ...] | None, replaces: str | None = None) -> OutboxEvent:
    """The outbox row of one action: `data` encoded once, here. `parents`: the case's heads it was made on
    (protocol.causal; a consultation has none)."""
    return OutboxEvent(
        event_id=stamp.event_id,
        case_id=case_id,
        kind=kind.value,
        at=stamp.at,
        offset_ms=stamp.offset_ms,
        data=_json.encode(data),
        parents=parents,
        replaces=replaces,
        staff_id=stamp.staff_id,
    )
