"""Attacks on the real county server process over loopback: gzip bombs while another client keeps asking,
half-sent heads and bodies (slowloris), and /metrics without its token."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from scripts.cluster import Cluster
from tests import postgres
from tests.conftest import free_port
from tests.server.attacks import gzip_bomb, post_head, raw_request

pytestmark = pytest.mark.e2e


class Poller:
    """Another client: GETs `url` back to back (with `headers`), and records how long each answer took."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url, self.headers = url, headers or {}
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                with urllib.request.urlopen(urllib.request.Request(self.url, headers=self.headers), timeout=10) as r:
                    r.read()
                    if r.status != 200:
                        self.failures.append(str(r.status))
            except (OSError, urllib.error.HTTPError) as exc:
                self.failures.append(repr(exc))
            self.latencies.append(time.monotonic() - started)
            self._stop.wait(0.02)


@pytest.fixture
def county(tmp_path):
    """The server with 2 s to send a request head or body, and a metrics listener of its own."""
    metrics_port = free_port()
    cluster = Cluster(tmp_path / "county", server_section="header_timeout_s = 2\nbody_timeout_s = 2\n",
                      server_settings=f'host = "127.0.0.1"\nport = {metrics_port}\n',  # of [metrics]
                      storage=postgres.storage_section(tmp_path))
    cluster.server.start()
    agent = json.loads(cluster.county("agents", "add", "--township", "513422100", "--name", "pc1", "--json"))
    agent["metrics_port"] = metrics_port
    yield cluster, agent
    cluster.stop_all()


def test_gzip_bombs_are_refused_at_once_while_another_clients_requests_are_answered_within_1_s(county):
    cluster, agent = county
    bomb = gzip_bomb()  # 1 MB on the wire, 1 GiB of zeros inside
    port = cluster.server_port
    senders = [  # four at once, as in the report: with the PC's token, without any, and at the login
        post_head("/api/v1/sync/push", len(bomb), Content_Encoding="gzip", Content_Type="application/json",
                  Authorization=f"Bearer {agent['token']}"),
        post_head("/api/v1/sync/push", len(bomb), Content_Encoding="gzip", Content_Type="application/json"),
        post_head("/api/v1/session", len(bomb), Content_Encoding="gzip", Content_Type="application/json"),
        post_head("/api/v1/sync/push", len(bomb), Content_Encoding="gzip", Content_Type="application/json",
                  Authorization=f"Bearer {agent['token']}"),
    ]
    stats = f"{cluster.server_url}/api/v1/stats?level=township&from=2026-01-01&to=2026-12-31"

    def send(head: str) -> tuple[int, float]:
        started = time.monotonic()
        status, _ = raw_request(port, head, bomb)
        return status, time.monotonic() - started

    with Poller(stats, {"Authorization": f"Bearer {cluster.admin_token}"}) as poller:
        time.sleep(0.3)
        with ThreadPoolExecutor(4) as pool:
            for _ in range(3):
                answers = list(pool.map(send, senders))
                assert [s for s, _ in answers] == [413, 401, 413, 413], answers
                assert max(t for _, t in answers) < 3.0, answers
        time.sleep(0.3)
    assert poller.failures == []
    assert len(poller.latencies) > 10
    assert max(poller.latencies) < 1.0, sorted(poller.latencies)[-5:]


def test_half_sent_heads_and_bodies_are_cut_and_the_server_keeps_answering(county):
    cluster, agent = county
    port = cluster.server_port
    slow_heads = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
    for s in slow_heads:
        s.sendall(b"POST /api/v1/sync/push HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    started = time.monotonic()
    with Poller(f"{cluster.server_url}/healthz") as poller, ThreadPoolExecutor(5) as pool:
        head = post_head("/api/v1/sync/push", 100_000, Content_Type="application/json",
                         Authorization=f"Bearer {agent['token']}")
        slow_bodies = list(pool.map(lambda _: raw_request(port, head, b'{"agent_id": "', 20), range(5)))
        for s in slow_heads:
            s.settimeout(10)
            assert s.recv(100) == b""  # closed by the server, never answered
            s.close()
    assert time.monotonic() - started < 8
    assert [status for status, _ in slow_bodies] == [408] * 5
    assert all(b'"body_timeout"' in data for _, data in slow_bodies)
    assert poller.failures == [] and max(poller.latencies) < 1.0


def test_metrics_list_no_pc_to_anyone_without_the_token_and_their_own_listener_serves_them(county):
    cluster, agent = county
    try:
        urllib.request.urlopen(f"{cluster.server_url}/metrics", timeout=10)
        raise AssertionError("/metrics answered without a token")
    except urllib.error.HTTPError as exc:
        assert exc.code == 401 and agent["agent_id"] not in exc.read().decode()
    request = urllib.request.Request(f"{cluster.server_url}/metrics",
                                     headers={"Authorization": f"Bearer {cluster.metrics_token}"})
    with urllib.request.urlopen(request, timeout=10) as r:
        assert agent["agent_id"] in r.read().decode()
    with urllib.request.urlopen(f"http://127.0.0.1:{agent['metrics_port']}/metrics", timeout=10) as r:
        assert agent["agent_id"] in r.read().decode()
