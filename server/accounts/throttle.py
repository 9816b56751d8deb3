"""Login throttling: failed logins counted per account name and per client address over a window; past a limit the
name or the address is locked for a while, the right password included.

The rule is `server.model.login_throttle`'s; the tallies are kept in the database (`DashboardStore`), so every
server process of one database counts the same failures and honours the same locks, whichever process a balancer
sends a login to. A lock ends when its time is up (a restart does not end it).
"""

from __future__ import annotations

import time

from server.model.login_throttle import Limits, retry_after_s
from server.storage.dashboard import DashboardStore


def _now() -> float:
    # The wall clock, not time.monotonic(): the times are stored and compared by server processes that may run on
    # several hosts, which share no monotonic clock (each starts at its host's boot) but agree on the wall clock.
    return time.time()


class LoginThrottle:
    def __init__(self, store: DashboardStore, limits: Limits) -> None:
        self._store = store
        self.limits = limits

    async def retry_after_s(self, name: str, address: str) -> int | None:
        """Seconds until a login for `name` from `address` may be tried again, or None when it may now."""
        return retry_after_s([await self._store.login_locked_until(name, address)], _now())

    async def failed(self, name: str, address: str) -> list[str]:
        """Count a failed login; lock the name or the address that reached its limit. Returns what was locked now:
        "name", "address", both or neither."""
        return await self._store.count_login_failure(name, address, self.limits, _now())

    async def succeeded(self, name: str) -> None:
        """A right password: the name's failures are forgotten (the address keeps its count)."""
        await self._store.forget_login_failures(name)
