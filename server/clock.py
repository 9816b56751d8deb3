"""The server's clock, in the two forms the API and the database use."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_iso() -> str:
    """UTC, ISO 8601 with milliseconds: for `received_at`, `created_at` and similar audit columns."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def now_ms() -> int:
    """Unix epoch milliseconds: `server_time_ms` and the X-Server-Time-Ms header."""
    return time.time_ns() // 1_000_000
