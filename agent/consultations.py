"""咨询: a consultation becomes a `consulted` event plus a local row. Pure, like `cases`: ids and clock come in.

A consultation is not a case. Its event carries a case_id of its own (a new uuid7 per consultation), so the county
stores and deduplicates it like any event and counts it in the consultations figure (咨询量).
"""

from __future__ import annotations

from typing import Any

from agent.cases import Stamp, event_for, form_text
from agent.errors import InvalidInput
from agent.records import Consultation, OutboxEvent
from agent.reference import Reference
from protocol.messages import ConsultedData
from protocol.vocabulary import Channel, EventKind

FIELDS = ("topic", "channel", "org_code")
TOPIC_MAX_CHARS = 200  # ConsultedData.topic


def consult(form: dict[str, Any], ref: Reference, *, consultation_id: str,
            stamp: Stamp) -> tuple[Consultation, OutboxEvent]:
    """Check topic, channel and org unit (the township centre by default); raise InvalidInput naming the fields."""
    text = form_text(form, FIELDS)
    fields: dict[str, str] = {}
    topic = text.get("topic", "")
    if not topic:
        fields["topic"] = "请填写咨询事由"
    elif len(topic) > TOPIC_MAX_CHARS:
        fields["topic"] = f"咨询事由不能超过{TOPIC_MAX_CHARS}个字符"
    channel = text.get("channel") or Channel.WINDOW.value
    if channel not in Channel.__members__.values():
        fields["channel"] = "受理渠道无效"
    org_code = text.get("org_code") or ref.township.code
    if org_code not in ref.org_units:
        fields["org_code"] = "办理单位不属于本乡镇"
    if fields:
        raise InvalidInput("请改正标出的字段", fields)
    data = ConsultedData(topic=topic, org_code=org_code, channel=Channel(channel))
    when = stamp.when
    row = Consultation(consultation_id=consultation_id, day=when.date().isoformat(), at=stamp.at, topic=topic,
                       channel=channel, org_code=org_code)
    return row, event_for(consultation_id, EventKind.CONSULTED, data, stamp, parents=())
