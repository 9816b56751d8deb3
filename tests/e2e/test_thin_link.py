"""A link that cuts every upload after a few kilobytes still drains: the agent halves its batch down to what gets
through and grows it back after successes; the county logs each cut upload as one INFO line ("client went away"),
never an ERROR with a traceback, and counts it as 499, never as a 5xx."""

from __future__ import annotations

import urllib.request

from ops.metrics import parse
from scripts.cluster import http_json
from tests.e2e.conftest import accept, stats, wait_synced
from tests.e2e.faults import FaultProxy


def test_a_backlog_drains_through_a_link_that_cuts_every_upload_after_a_few_kilobytes(cluster):
    cluster.server.start()
    proxy = FaultProxy(cluster.server_port)
    cluster.add_agent("pc1", county_url=proxy.url, interval_s=3600, early_delay_s=3600, batch_size=500).start()
    url = cluster.agent_url("pc1")
    assert http_json("POST", f"{url}/api/sync")[1]["ok"]
    for n in range(120):
        accept(url, n, cert_type="passport", cert_no=f"E{n:08d}")
    proxy.set(cut_requests_over=4_000)  # about 20 events of gzip JSON, headers included
    rounds = []
    for _ in range(10):
        rounds.append(http_json("POST", f"{url}/api/sync", timeout_s=60)[1])
        if rounds[-1]["pending"] == 0:
            break
    status = wait_synced(url)
    assert status["pending"] == 0
    assert sum(r["shrunk"] for r in rounds) >= 3  # 500 -> 250 -> 125 -> 62 -> 31 -> ... until it fits
    assert proxy.counts["cut_request"] >= 3
    assert stats(cluster, "county")["513422000000"]["accepted"] == 120
    log = (cluster.base / "server.log").read_text(encoding="utf-8")
    assert log.count("client went away") >= proxy.counts["cut_request"] - 1  # one may die before its headers
    assert "Traceback" not in log
    assert [line for line in log.splitlines() if line.startswith("ERROR")] == []
    request = urllib.request.Request(f"{cluster.server_url}/metrics",
                                     headers={"Authorization": f"Bearer {cluster.metrics_token}"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        metrics = parse(resp.read().decode())
    push = {k: v for k, v in metrics.items() if k.startswith("county_server_requests_total")
            and 'route="/api/v1/sync/push"' in k}
    assert not any('status="5' in k for k in push), push
    assert push.get('county_server_requests_total{route="/api/v1/sync/push",status="499"}', 0) >= 1, push
    proxy.close()
