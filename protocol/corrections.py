"""Corrections (更正) of a case's own fields, the rule both sides fold by: which fields a correction may change, and
which of them need a county admin's grant once the case is closed (办结, 不予受理, 撤回) or rated.

A closed or rated case already counts in published figures. A field that moves a figure (the rollup key: the item
and so its category, the unit where it was handled, the channel; the promised days and due date that decide 按时办结)
is then changed only under a grant the county gave for that case (`CorrectedData.grant`), and so is the applicant's
village, which places the case in the figures by residence; the others (who the applicant is and how to reach them,
the staff member, the completion note) change no figure and can be corrected at any time, always with a reason. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from protocol.vocabulary import OPEN_STATES

if TYPE_CHECKING:
    from protocol.lifecycle import Case

# Every field of a case a correction may change, in the order the page shows them.
CORRECTABLE: tuple[str, ...] = ("applicant_name", "cert_type", "cert_no", "phone", "staff", "note", "village_code",
                                "item_code", "org_code", "channel")
# Derived by the agent from the item (and the calendar), never typed: they follow a corrected item_code.
DERIVED: tuple[str, ...] = ("promised_days", "due_on")
# The fields whose change moves a figure of a closed or rated case (server.model.rollups keys: where handled, item
# category, channel, residence; and on-time).
FIGURE_FIELDS = frozenset({"item_code", "org_code", "channel", "village_code", *DERIVED})
FIELD_LABELS = {"applicant_name": "申请人姓名", "cert_type": "证件类型", "cert_no": "证件号码", "phone": "联系电话",
                "village_code": "所在村（社区）", "staff": "经办人", "note": "办结备注", "item_code": "事项",
                "org_code": "办理单位", "channel": "受理渠道", "promised_days": "承诺时限", "due_on": "办结期限"}


def is_settled(case: Case) -> bool:
    """Closed (办结, 不予受理, 撤回) or rated: the case counts in figures that a correction must not move unasked."""
    return case.state not in OPEN_STATES or case.rating is not None


def needs_grant(case: Case, fields: Iterable[str]) -> list[str]:
    """The fields among `fields` that a correction of `case` may change only under a county grant (sorted)."""
    if not is_settled(case):
        return []
    return sorted(f for f in fields if f in FIGURE_FIELDS)


def changes_of(data: Any) -> dict[str, Any]:
    """The new values a `CorrectedData` carries: every correctable or derived field that is set."""
    out: dict[str, Any] = {}
    for field in (*CORRECTABLE, *DERIVED):
        value = getattr(data, field, None)
        if value is not None:
            out[field] = getattr(value, "value", value)  # an enum (channel) as its wire string
    return out


def needs_grant_message(fields: Iterable[str]) -> str:
    names = "、".join(FIELD_LABELS.get(f, f) for f in fields if f not in DERIVED)
    return f"该办件已办结或已评价，更正「{names}」会改变统计数字，须县级管理员授权后才能更正"
