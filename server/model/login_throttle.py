"""The login throttle's rule: failed logins counted per account name and per client address over a window; at a
limit the name or the address is locked for a while, the right password included.

Pure: the state of one name or address (a `Tally`) goes in with the time, the next state comes out; where tallies
are kept is the storage's (`DashboardStore.count_login_failure`), in the database every server process of a county
shares. Unknown names are counted like known ones, so a lock tells a guesser nothing about which names exist. A
right password forgets the name's failures, not the address's. Kept bounded: a tally holds at most `limit` failure
times (the newest, the only ones a decision needs), says nothing once `expires_at` has passed (the storage deletes
it then), and the storage keeps at most `Limits.max_tallies` of them, dropping those that expire first, so a flood
of made-up names cannot grow it (a flood from one address is stopped by that address's own lock first).

Times are epoch seconds of the wall clock: server processes on several hosts share no monotonic clock, but their
clocks agree (NTP) well within a window of minutes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

NAME, ADDRESS = "name", "address"  # the kinds of tally
MAX_TALLIES = 10_000


class Limits(NamedTuple):
    per_account: int
    per_address: int
    window_s: float
    lock_s: float
    max_tallies: int = MAX_TALLIES

    def of(self, kind: str) -> int:
        """The failures within the window that lock a name or an address."""
        return self.per_account if kind == NAME else self.per_address


class Tally(NamedTuple):
    """What is known of one name or one address."""

    failures: tuple[float, ...] = ()  # the times of its failures within the window, oldest first
    locked_until: float = 0.0  # 0: never locked

    def expires_at(self, window_s: float) -> float:
        """When the tally says nothing any more: its lock is over and its last failure out of the window."""
        return max(self.locked_until, self.failures[-1] + window_s if self.failures else 0.0)


def count_failure(tally: Tally, kind: str, limits: Limits, now: float) -> tuple[Tally, bool]:
    """The tally of a name or an address (`kind`) after one more failure at `now`, and whether that failure locked
    it: it reached its limit of failures within the window while not locked; the lock lasts `lock_s` and the
    failures before it are forgotten."""
    limit = limits.of(kind)
    failures = sorted([t for t in tally.failures if t > now - limits.window_s] + [now])[-limit:]
    if len(failures) >= limit and tally.locked_until <= now:
        return Tally((), now + limits.lock_s), True
    return Tally(tuple(failures), tally.locked_until), False


def retry_after_s(locked_until: Iterable[float], now: float) -> int | None:
    """Seconds until a login may be tried again under these locks (of its name and its address), or None when it
    may now."""
    until = max(locked_until, default=0.0)
    return math.ceil(until - now) if until > now else None
