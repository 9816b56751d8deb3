"""Run an aiohttp app as a systemd service: listen, then READY=1; watchdog pings while the probe passes; on SIGTERM
or SIGINT send STOPPING=1, stop listening, let requests in flight finish (up to `drain_s`), then run the app's
cleanup (which finishes or abandons the work in flight and closes the database).

Used by both programs' `run` instead of `web.run_app`, which would say READY before the socket is open.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import web

from ops.systemd_notify import ServiceNotifier

log = logging.getLogger(__name__)

# The composition root puts its liveness probe here: an async call that runs a trivial query on the program's own
# database connection. The watchdog and /readyz use it.
PROBE: web.AppKey[Callable[[], Awaitable[object]]] = web.AppKey("ops_probe")

# Requests in flight get this long after SIGTERM; the units' TimeoutStopSec (30 s) leaves room for the cleanup.
DRAIN_S = 10.0


AppOrFactory = web.Application | Coroutine[Any, Any, web.Application]


def run(app: AppOrFactory, *, host: str, port: int, name: str, drain_s: float = DRAIN_S,
        ssl_context: ssl.SSLContext | None = None) -> None:
    """Serve until SIGTERM/SIGINT (HTTPS with `ssl_context`). `app` may be a coroutine that builds it (in the loop
    that serves it). Raises what start-up raises (config, migrations, lock held, port in use)."""
    asyncio.run(_serve(app, host=host, port=port, name=name, drain_s=drain_s, ssl_context=ssl_context))


async def _serve(app: AppOrFactory, *, host: str, port: int, name: str, drain_s: float,
                 ssl_context: ssl.SSLContext | None = None) -> None:
    if not isinstance(app, web.Application):
        app = await app
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=drain_s)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    received: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig.name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    await runner.setup()  # the app's start-up: open the database, apply migrations
    notifier: ServiceNotifier | None = None
    try:
        site = web.TCPSite(runner, host, port, shutdown_timeout=drain_s, ssl_context=ssl_context)
        await site.start()
        notifier = ServiceNotifier(app[PROBE])
        notifier.ready(f"{name} serving on {host}:{port}")
        log.info("serving name=%s listen=%s:%d tls=%s watchdog=%s", name, host, port, ssl_context is not None,
                 notifier.watchdog is not None)
        await stop.wait()
        log.info("stopping signal=%s", received[0] if received else "?")
    finally:
        started = time.monotonic()
        if notifier is not None:
            await notifier.stopping()
        await runner.cleanup()
        log.info("stopped name=%s took_ms=%d", name, (time.monotonic() - started) * 1000)
