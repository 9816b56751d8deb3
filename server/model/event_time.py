"""The plausibility window of an event's time on the county's clock (its `at` corrected by the PC's measured offset),
around the server's clock. Outside it an event is refused (`implausible_time`). Pure."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

_CHINA = "+08:00"

# Earlier: a PC that stayed offline for years is still within it, a clock at 1970 or 2000 is not (its offset corrects
# it back, unless the clock moved after the offset was measured). Later: a day covers a clock moved forward since the
# last measure; beyond that a case would count on days that have not come.
EVENT_TIME_PAST = timedelta(days=3653)  # 10 years
EVENT_TIME_FUTURE = timedelta(days=1)


def time_window(now: datetime) -> tuple[str, str]:
    """(earliest, latest) corrected event time accepted at `now` (aware), as the text `protocol.causal.china_millis`
    makes: the first 29 characters of an `order_key` compare with them as strings."""
    china = now.astimezone(timezone(timedelta(hours=8))).replace(tzinfo=None)
    return ((china - EVENT_TIME_PAST).isoformat(timespec="milliseconds") + _CHINA,
            (china + EVENT_TIME_FUTURE).isoformat(timespec="milliseconds") + _CHINA)
