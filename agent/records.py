"""The agent's records as the store hands them out and takes them in: plain data, no SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OutboxEvent:
    """An event as written to the outbox; `data` is already JSON."""

    event_id: str
    case_id: str
    kind: str
    at: str
    offset_ms: int
    data: bytes


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


@dataclass(frozen=True)
class Consultation:
    """咨询: one counter entry, kept locally to list the day's consultations."""

    consultation_id: str
    day: str
    at: str
    topic: str
    channel: str
    org_code: str
