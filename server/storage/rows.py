"""The rows of the tables both SQL backends share: their columns and how a case, a conflict or a day becomes one.

Pure (no driver): `sqlite/` binds these tuples as parameters, `postgres/` copies them (binary COPY), so a case is
the same row in either database and the township digest is the same number.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec

from protocol.causal import case_digest
from protocol.lifecycle import CHINA_TZ
from protocol.messages import Conflict
from server.storage.base import CaseRecord

CASE_COLUMNS = ("case_id", "case_no", "township_code", "org_code", "village_code", "item_code", "category",
                "channel", "state", "accepted_on", "due_on", "completed_on", "closed_on", "rating", "rated_on",
                "followed_up_on", "is_on_time", "last_key", "body", "updated_at", "meta", "digest")
EVENT_COLUMNS = ("event_id", "agent_id", "seq", "case_id", "kind", "at", "offset_ms", "order_key", "data",
                 "parents", "replaces", "received_at")
CONFLICT_COLUMNS = ("event_id", "case_id", "township_code", "agent_id", "kind", "code", "lost_to", "is_open",
                    "detected_at", "settled_at", "body")
REFUSAL_COLUMNS = ("event_id", "agent_id", "seq", "code", "detail", "body", "received_at")
CONSULTATION_COLUMNS = ("consultation_id", "event_id", "org_code", "channel", "consulted_on", "body")
AGENT_COLUMNS = ("agent_id, township_code, name, created_at, acked_seq, last_push_at, software_version, pending, "
                 "revoked_at, protocol_version, pull_cursor, digest_agrees")

_encode = msgspec.json.encode


def case_row(record: CaseRecord, updated_at: str, conflicts: Sequence[Conflict] = ()) -> tuple[object, ...]:
    """The row of a case (CASE_COLUMNS; JSON as UTF-8 bytes) and, for its `digest`, its conflicts (the digest hashes
    the body made here)."""
    c = record.case
    completed_on, due_on = c.completed_on, c.due_on
    on_time = None if completed_on is None or due_on is None else int(completed_on <= due_on)  # Case.is_on_time
    body = _encode(c)
    return (c.case_id, c.case_no, c.org_code[:9], c.org_code, c.village_code, c.item_code, record.category,
            c.channel, c.state, c.accepted_on, due_on, completed_on, c.closed_on, c.rating, c.rated_on,
            c.followed_up_on, on_time, record.last_key, body, updated_at, _encode(record.meta),
            case_digest(c, conflicts, encoded=body))


def conflict_row(c: Conflict, township_code: str, found_at: str) -> tuple[object, ...]:
    """CONFLICT_COLUMNS. `township_code`: the case's (the losing event may be another township's)."""
    return (c.event_id, c.case_id, township_code, c.agent_id, c.kind, c.code, c.lost_to, int(c.is_open), found_at,
            None if c.is_open else found_at, _encode(c))


def china_day(utc_iso: str) -> str:
    """The day in China time of an instant such as `received_at`: the day a quota counts on."""
    return datetime.fromisoformat(utc_iso).astimezone(CHINA_TZ).date().isoformat()
