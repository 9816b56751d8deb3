"""Login throttling: failed logins counted per account name and per client address over a window; past a limit the
name or the address is locked for a while, the right password included.

Kept in the server's memory, the only process that answers logins: a lock ends when its time is up, or when the
server restarts (which only an administrator can do). Unknown names are counted like known ones, so a lock tells a
guesser nothing about which names exist. The tables are bounded: past `MAX_KEYS` keys the oldest are dropped, so a
flood of made-up names cannot grow them (a flood from one address is stopped by that address's own lock first).
"""

from __future__ import annotations

import math
from collections import deque
from typing import NamedTuple

MAX_KEYS = 10_000


class Limits(NamedTuple):
    per_account: int
    per_address: int
    window_s: float
    lock_s: float


class _Key:
    __slots__ = ("failures", "locked_until")

    def __init__(self) -> None:
        self.failures: deque[float] = deque()
        self.locked_until = 0.0


class LoginThrottle:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._keys: dict[tuple[str, str], _Key] = {}  # ("name" | "address", value) -> its failures and lock

    def retry_after_s(self, name: str, address: str, now: float) -> int | None:
        """Seconds until a login for `name` from `address` may be tried again, or None when it may now."""
        until = max(self._locked_until(("name", name), now), self._locked_until(("address", address), now))
        return math.ceil(until - now) if until > now else None

    def failed(self, name: str, address: str, now: float) -> list[str]:
        """Count a failed login; lock the name or the address that reached its limit. Returns what was locked now:
        "name", "address", both or neither."""
        limits = self.limits
        locked = []
        for key, limit in ((("name", name), limits.per_account), (("address", address), limits.per_address)):
            entry = self._keys.pop(key, None) or _Key()
            self._keys[key] = entry  # now the newest
            entry.failures.append(now)
            while entry.failures and entry.failures[0] <= now - limits.window_s:
                entry.failures.popleft()
            if len(entry.failures) >= limit and entry.locked_until <= now:
                entry.locked_until = now + limits.lock_s
                entry.failures.clear()
                locked.append(key[0])
        while len(self._keys) > MAX_KEYS:
            del self._keys[next(iter(self._keys))]
        return locked

    def succeeded(self, name: str) -> None:
        """A right password: the name's failures are forgotten (the address keeps its count)."""
        self._keys.pop(("name", name), None)

    def _locked_until(self, key: tuple[str, str], now: float) -> float:
        entry = self._keys.get(key)
        return entry.locked_until if entry is not None and entry.locked_until > now else 0.0
