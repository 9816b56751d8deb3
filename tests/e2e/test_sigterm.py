"""SIGTERM (systemctl stop) in the middle of work: the program exits well within TimeoutStopSec, and no event is
lost, doubled or half-applied."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from scripts.cluster import http_json
from tests.e2e.conftest import accept, stats, wait_synced
from tests.e2e.test_identity import county_events

pytestmark = pytest.mark.e2e
STOP_LIMIT_S = 30  # the units' TimeoutStopSec


def test_sigterm_while_the_agent_uploads_a_backlog_loses_and_doubles_nothing(cluster):
    cluster.server.start()
    agent = cluster.add_agent("pc1", batch_size=10, interval_s=3600)
    agent.start()
    url = cluster.agent_url("pc1")
    http_json("POST", f"{url}/api/sync")
    wait_synced(url)
    cluster.server.stop()
    for n in range(300):
        accept(url, n)
    cluster.server.start()

    threading.Thread(target=lambda: http_json("POST", f"{url}/api/sync", timeout_s=60), daemon=True).start()
    log = agent.log_path
    deadline = time.monotonic() + 30
    while log.read_text(encoding="utf-8").count("sync pushed") < 2:  # a few batches are in
        assert time.monotonic() < deadline
        time.sleep(0.01)
    started = time.monotonic()
    assert agent.stop(signal.SIGTERM, timeout_s=STOP_LIMIT_S) == 0
    assert time.monotonic() - started < STOP_LIMIT_S
    assert "agent stopped" in log.read_text(encoding="utf-8")
    partial, _ = county_events(cluster)
    assert partial >= 20  # at least two batches had arrived before the stop

    agent.start()
    http_json("POST", f"{url}/api/sync", timeout_s=60)
    wait_synced(url)
    assert county_events(cluster) == (300, 300)
    assert stats(cluster, "county")["513422000000"]["accepted"] == 300
