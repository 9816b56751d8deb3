"""The agent's records as the store hands them out and takes them in: plain data, no SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OutboxEvent:
    """An event as written to the outbox; `data` is already JSON. `parents`: the case's heads when it was made
    (protocol.causal); `replaces`: the refused event a correction takes the place of."""

    event_id: str
    case_id: str
    kind: str
    at: str
    offset_ms: int
    data: bytes
    parents: tuple[str, ...] | None = None
    replaces: str | None = None
    staff_id: str | None = None  # the signed-in staff member who did it


@dataclass(frozen=True)
class KnownEvent:
    """An event of a case as this PC knows it: its own (from the outbox, `is_own`), or pulled from the county. Its own
    carry the configured agent id and the local seq until the county's copy comes back under another identity."""

    event_id: str
    agent_id: str
    seq: int
    case_id: str
    kind: str
    at: str
    offset_ms: int
    parents: tuple[str, ...] | None
    replaces: str | None
    data: bytes  # JSON
    is_own: bool
    staff_id: str | None = None


@dataclass(frozen=True)
class Quarantined:
    seq: int
    event_id: str
    case_id: str
    kind: str
    code: str
    message: str
    data: dict[str, Any]


@dataclass(frozen=True)
class StoredEvent:
    """An outbox row as read back: `status` is pending, synced, quarantined, dismissed or resent."""

    seq: int
    event_id: str
    case_id: str
    kind: str
    at: str
    offset_ms: int
    data: dict[str, Any]
    status: str
    parents: tuple[str, ...] | None = None
    staff_id: str | None = None


@dataclass(frozen=True)
class Consultation:
    """咨询: one counter entry, kept locally to list the day's consultations."""

    consultation_id: str
    day: str
    at: str
    topic: str
    channel: str
    org_code: str


@dataclass(frozen=True)
class Attachment:
    """A scan or photo attached to a case (申请材料); the file is `agent.attachments.BlobDir.path_of(sha256)`.
    `upload_state`: pending (still to go to the county) or uploaded."""

    attachment_id: str
    case_id: str
    sha256: str
    name: str
    media_type: str
    size_bytes: int
    added_at: str
    upload_state: str
    uploaded_at: str | None
    upload_error: str | None
