"""The server's clock: UTC instants for audit columns, and the configured zone's date for everything people read.

"Today" (periods without a date, overdue and due-soon lists, "截至" dates, exports, the yearbook) is the date in
the county's zone (`[server] time_zone`, default Asia/Shanghai), whatever the host's zone: a server kept on UTC
would otherwise be a day behind from 00:00 to 08:00 China time. Every date of the server comes from a `Clock`;
`tests/server/test_clock.py` greps `server/` for the calls that take the host's zone (today, now without a zone).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Shanghai"
# China has kept UTC+8 without daylight saving since 1991: the fallback when the host has no zone database.
_CHINA = timezone(timedelta(hours=8), DEFAULT_ZONE)


def zone_named(name: str) -> tzinfo:
    """The zone of an IANA name; raises ValueError for a name the host does not know (Asia/Shanghai always works)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name == DEFAULT_ZONE:
            return _CHINA
        raise ValueError(f"unknown time zone {name!r}") from None


class Clock:
    """Now, in UTC and in the county's zone. `now` may be given a function returning a UTC instant: tests run the
    server at 23:30 UTC with it."""

    def __init__(self, zone: str = DEFAULT_ZONE, now: Callable[[], datetime] | None = None) -> None:
        self.zone_name = zone
        self.zone = zone_named(zone)
        self._now = now or (lambda: datetime.now(UTC))

    def utc(self) -> datetime:
        return self._now().astimezone(UTC)

    def local(self) -> datetime:
        """Now in the county's zone."""
        return self._now().astimezone(self.zone)

    def today(self) -> date:
        """Today's date in the county's zone."""
        return self.local().date()

    def local_date_of(self, utc_iso: str) -> date:
        """The county's date of an ISO instant (with its offset)."""
        return datetime.fromisoformat(utc_iso).astimezone(self.zone).date()


SYSTEM = Clock()  # the real clock in China time, for code that has no configured clock at hand (the CLI's defaults)


def now_iso() -> str:
    """UTC, ISO 8601 with milliseconds: for `received_at`, `created_at` and similar audit columns."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def now_ms() -> int:
    """Unix epoch milliseconds: `server_time_ms` and the X-Server-Time-Ms header."""
    return time.time_ns() // 1_000_000
