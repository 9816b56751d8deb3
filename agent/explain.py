"""Errors in plain Chinese for staff, from the technical text of the libraries and the county. Pure.

msgspec says `Expected `str` of length <= 2000 - at `$.note``; staff read 「备注不能超过2000个字」 under the note. The
same wording serves the agent's own checks of an action and the `detail` of an event the county refused. Failures of the
link to the county (aiohttp's `ClientConnectorError`, timeouts, 5xx) become a reason code of `protocol.codes`; the
technical text stays available for ops beside it.
"""

from __future__ import annotations

import re

import msgspec

from agent.errors import InvalidInput
from protocol.codes import CODES, staff_message

# What staff call each field of the forms and events (the labels of the page).
FIELD_LABELS = {
    "item_code": "事项", "org_code": "办理单位", "village_code": "所在村（社区）", "channel": "受理渠道",
    "applicant_name": "申请人姓名", "cert_type": "证件类型", "cert_no": "证件号码", "phone": "联系电话",
    "staff": "经办人", "topic": "咨询事由", "missing": "缺少的材料", "note": "备注", "result": "办理结果",
    "reason": "原因", "rating": "评价", "comment": "评价意见", "trips": "跑动次数", "due_on": "办结期限",
    "promised_days": "承诺时限", "case_no": "办件编号", "kind": "操作类型",
}
_TYPES = {"str": "文字", "int": "整数", "array": "列表（每行一项）", "object": "一组字段", "bool": "是或否",
          "float": "数字", "null": "空"}

_AT = re.compile(r" - at `\$\.(?P<field>\w+)(?:\[(?P<index>\d+)\])?")
_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Expected `str` of length <= (?P<n>\d+)"), "{label}{item}不能超过{n}个字"),
    (re.compile(r"Expected `str` of length >= 1"), "请填写{label}{item}"),
    (re.compile(r"Expected `str` of length >= (?P<n>\d+)"), "{label}{item}至少要有{n}个字"),
    (re.compile(r"Expected `array` of length >= 1"), "请至少填写一项{label}"),
    (re.compile(r"Expected `array` of length <= (?P<n>\d+)"), "{label}最多{n}项"),
    (re.compile(r"Expected `int` >= (?P<n>-?\d+)"), "{label}不能小于{n}"),
    (re.compile(r"Expected `int` <= (?P<n>-?\d+)"), "{label}不能大于{n}"),
    (re.compile(r"Expected `str` matching regex"), "{label}{item}的格式不对"),
    (re.compile(r"Invalid enum value"), "{label}的取值无效，请从列表中选择"),
    (re.compile(r"Expected `(?P<type>\w+)`(?: \| `null`)?, got `\w+`"), "{label}{item}应为{type}"),
    (re.compile(r"Object missing required field `(?P<field>\w+)`"), "请填写{label}"),
    (re.compile(r"Object contains unknown field `(?P<field>\w+)`"), "不能填写「{label}」这一项"),
]


def label_of(field: str) -> str:
    return FIELD_LABELS.get(field, field)


def explain_validation(text: str) -> tuple[str | None, str] | None:
    """The field and the Chinese message for one msgspec validation message (also found inside a longer text, such
    as a county refusal's detail); None when the text is none of msgspec's."""
    at = _AT.search(text)
    for pattern, template in _RULES:
        match = pattern.search(text)
        if match is None:
            continue
        values = match.groupdict()
        field = values.pop("field", None) or (at["field"] if at else None)
        item = f"第{int(at['index']) + 1}项" if at and at["index"] is not None else ""
        if "type" in values:
            values["type"] = _TYPES.get(values["type"], values["type"])
        return field, template.format(label=label_of(field) if field else "内容", item=item, **values)
    return None


def invalid_input(error: msgspec.ValidationError) -> InvalidInput:
    """An InvalidInput naming the field msgspec found at fault, in Chinese; the technical text goes with it as the
    detail for ops."""
    explained = explain_validation(str(error))
    if explained is None:
        return InvalidInput("内容不符合要求，请检查后再保存", detail=str(error))
    field, message = explained
    return InvalidInput(message, {field: message} if field else None, detail=str(error))


def refusal_reason(code: str, technical: str) -> str:
    """What staff read for an event the county refused: the code's Chinese message, and for invalid fields which
    field and why."""
    reason = staff_message(code) if code in CODES else f"县服务器退回了这条记录（{code}）"
    explained = explain_validation(technical)
    return f"{reason}：{explained[1]}" if explained else reason
