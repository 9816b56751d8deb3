"""systemd's notification protocol (`sd_notify`) without a dependency: READY=1, STATUS=, WATCHDOG=1, STOPPING=1 as
datagrams to `$NOTIFY_SOCKET`, plus a watchdog that pings only while the program really works.

Outside systemd (`$NOTIFY_SOCKET` unset) every call is a no-op, so the programs run the same from a terminal.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

# A ping after every half of WatchdogSec, as sd_watchdog_enabled(3) advises: one late tick is not yet a kill.
PINGS_PER_PERIOD = 2


def notify(*states: str) -> bool:
    """Send `states` (e.g. "READY=1", "STATUS=migrating") to systemd. Returns False when not under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace socket
        address = "\0" + address[1:]
    # Non-blocking: this runs on the event loop, and a receiver that stopped reading (its datagram queue full, 10
    # on a default kernel) would otherwise freeze the program inside this call. A lost ping is a late ping.
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK) as sock:
        try:
            sock.connect(address)
            sock.sendall("\n".join(states).encode())
        except OSError as e:
            log.warning("systemd notify failed error=%s", e)
            return False
    return True


def watchdog_period_s() -> float | None:
    """WatchdogSec of the unit in seconds, when systemd asked this very process for pings; else None."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 1_000_000
    except ValueError:
        return None


class Watchdog:
    """Pings `WATCHDOG=1` every `period_s / 2`, but only after `probe()` succeeded within `timeout_s`.

    The probe proves the event loop runs (this task got scheduled) and the database answers (the probe runs a
    trivial query through the program's own connection and write lock). When it fails or hangs the ping is
    skipped and a warning logged once per failure streak; systemd then restarts the program after WatchdogSec.
    `run_once()` does one probe-and-ping, for tests.
    """

    def __init__(self, probe: Callable[[], Awaitable[object]], *, period_s: float, timeout_s: float | None = None,
                 send: Callable[..., bool] = notify) -> None:
        self._probe = probe
        self.interval_s = period_s / PINGS_PER_PERIOD
        self.timeout_s = timeout_s if timeout_s is not None else self.interval_s
        self._send = send
        self._task: asyncio.Task[None] | None = None
        self.failures = 0
        self.last_ok_at: float | None = None
        self._stopped = False

    async def run_once(self) -> bool:
        started = time.monotonic()
        try:
            await asyncio.wait_for(self._probe(), self.timeout_s)
        except Exception as e:  # any failure of the probe means: do not tell systemd we are fine
            self.failures += 1
            if self.failures == 1:
                log.warning("watchdog probe failed, not pinging error=%s", type(e).__name__ + (f": {e}" if str(e)
                                                                                               else ""))
            return False
        if self.failures:
            log.info("watchdog probe recovered failures=%d", self.failures)
        self.failures = 0
        self.last_ok_at = time.monotonic()
        self._send("WATCHDOG=1")
        log.debug("watchdog ping took_ms=%d", (time.monotonic() - started) * 1000)
        return True

    async def _loop(self) -> None:
        while not self._stopped:
            await self.run_once()
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="watchdog")

    async def stop(self) -> None:
        # Python 3.11's wait_for can swallow a cancellation that lands as the probe finishes, and the loop would
        # go on: the flag ends it at its next turn, and the cancellation is repeated until the task is done.
        self._stopped = True
        task, self._task = self._task, None
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)


class ServiceNotifier:
    """The lifetime of a program as systemd sees it: `ready()` once serving, `stopping()` on the way out, and a
    `Watchdog` when the unit has WatchdogSec. Both programs build one in their composition root."""

    def __init__(self, probe: Callable[[], Awaitable[object]], *, timeout_s: float | None = None) -> None:
        period = watchdog_period_s()
        self.watchdog = Watchdog(probe, period_s=period, timeout_s=timeout_s) if period else None

    def ready(self, status: str) -> None:
        notify("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")
        if self.watchdog is not None:
            self.watchdog.start()

    async def stopping(self, status: str = "stopping") -> None:
        # The watchdog ends first: a ping still in flight would otherwise follow STOPPING=1.
        if self.watchdog is not None:
            await self.watchdog.stop()
        notify("STOPPING=1", f"STATUS={status}")
