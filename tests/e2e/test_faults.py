"""Faults with real processes: dropped answers, SIGKILL of the agent and of the server, refused events, scope."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import threading
import time
import urllib.request

from scripts.cluster import BIN, ROOT, http_json
from tests.e2e.conftest import TOWNSHIP, accept, act, stats, wait_synced
from tests.e2e.proxy import DroppingProxy


def test_an_answer_lost_after_the_server_committed_causes_no_duplicate(cluster):
    cluster.server.start()
    proxy = DroppingProxy(cluster.server_port)
    # no early round after a write: the test pushes by hand, so the dropped answer is the one it expects
    agent = cluster.add_agent("pc1", county_url=proxy.url, interval_s=3600, early_delay_s=3600)
    agent.start()
    url = cluster.agent_url("pc1")
    http_json("POST", f"{url}/api/sync")
    cases = [accept(url, n) for n in range(5)]
    for case in cases:
        act(url, case["case_id"], "completed", result="approved")
    proxy.drops = 1
    summary = http_json("POST", f"{url}/api/sync")[1]
    assert proxy.dropped == 1
    assert summary["ok"], summary  # the retry got the answer
    assert summary["duplicates"] == 10  # the server had them all already
    wait_synced(url)
    county = stats(cluster, "county")["513422000000"]
    assert county["accepted"] == 5 and county["completed"] == 5
    proxy.close()


def test_every_case_answered_201_survives_a_sigkill_of_the_agent_and_syncs_once(cluster):
    cluster.server.start()
    agent = cluster.add_agent("pc1", interval_s=3600)
    agent.start()
    url = cluster.agent_url("pc1")
    http_json("POST", f"{url}/api/sync")
    answered: list[str] = []
    stop = threading.Event()

    def writer(offset: int) -> None:
        n = offset
        while not stop.is_set():
            try:
                status, case = http_json("POST", f"{url}/api/cases", {
                    "item_code": "GG-0003", "applicant_name": f"甲{n}", "cert_type": "passport",
                    "cert_no": f"E{n:08d}", "channel": "window"}, timeout_s=5)
            except OSError:
                return
            if status == 201:
                answered.append(case["case_id"])
            n += 2

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    agent.kill()
    stop.set()
    for t in threads:
        t.join()
    assert len(answered) > 10, "the agent answered too few writes before the kill to prove anything"

    agent.start()
    for case_id in answered:
        code, case = http_json("GET", f"{url}/api/cases/{case_id}")
        assert code == 200, f"case {case_id} was answered 201 but is gone after SIGKILL"
    # Counted in the agent's own file (WAL lets a reader in beside it): the API lists at most 1000 cases.
    with sqlite3.connect(cluster.base / "agent-pc1.sqlite3") as db:
        (local,) = db.execute("SELECT count(*) FROM cases").fetchone()
    assert local >= len(answered)
    http_json("POST", f"{url}/api/sync")
    wait_synced(url)
    assert stats(cluster, "county")["513422000000"]["accepted"] == local


def test_a_server_killed_during_ingest_leaves_nothing_half_applied(cluster):
    cluster.server.start()
    agent = cluster.add_agent("pc1", interval_s=3600, batch_size=200)
    agent.start()
    url = cluster.agent_url("pc1")
    http_json("POST", f"{url}/api/sync")
    cluster.server.stop()
    for n in range(600):
        case = accept(url, n, cert_type="passport", cert_no=f"E{n:08d}")
        act(url, case["case_id"], "completed", result="approved")
    cluster.server.start()
    syncing = threading.Thread(target=http_json, args=("POST", f"{url}/api/sync"), kwargs={"timeout_s": 60})
    syncing.start()
    time.sleep(0.3)
    assert len(_ingest_workers(cluster)) == 2  # the default [server] ingest_workers
    cluster.server.kill()
    syncing.join()
    # Its ingest workers die with it (PR_SET_PDEATHSIG), even in the middle of a transaction.
    deadline = time.monotonic() + 5
    while _ingest_workers(cluster) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _ingest_workers(cluster) == []
    verify = subprocess.run([str(BIN / "county-server"), "rollups", "verify", "--config", str(cluster.server_config)],
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    cluster.server.start()
    http_json("POST", f"{url}/api/sync", timeout_s=60)
    wait_synced(url, timeout_s=60)
    county = stats(cluster, "county")["513422000000"]
    assert county["accepted"] == 600 and county["completed"] == 600


def test_an_event_the_server_refuses_is_quarantined_and_the_rest_flows_on(cluster, tmp_path):
    catalog = tmp_path / "catalog.csv"
    shutil.copy(ROOT / "config" / "catalog.csv", catalog)
    text = cluster.server_config.read_text(encoding="utf-8")
    cluster.server_config.write_text(
        "\n".join(f'catalog = "{catalog}"' if line.startswith("catalog") else line for line in text.splitlines()),
        encoding="utf-8")
    cluster.server.start()
    agent = cluster.add_agent("pc1", interval_s=3600)
    agent.start()
    url = cluster.agent_url("pc1")
    http_json("POST", f"{url}/api/sync")
    cluster.server.stop()
    doomed = accept(url, 1, item_code="XK-0001")
    kept = [accept(url, n) for n in range(2, 5)]
    # The county withdraws item XK-001 from its catalog while the PC is offline.
    lines = catalog.read_text(encoding="utf-8").splitlines()
    catalog.write_text("\n".join(line for line in lines if not line.startswith("XK-0001,")) + "\n", encoding="utf-8")
    cluster.server.start()
    summary = http_json("POST", f"{url}/api/sync")[1]
    assert summary["refused"] == 1
    status = http_json("GET", f"{url}/api/status")[1]
    assert status["pending"] == 0
    assert [q["case_id"] for q in status["quarantined"]] == [doomed["case_id"]]
    assert status["quarantined"][0]["code"] == "unknown_item"
    assert stats(cluster, "county")["513422000000"]["accepted"] == len(kept)


def test_a_token_cannot_write_another_townships_cases(cluster):
    cluster.server.start()
    out = cluster.county("agents", "add", "--township", TOWNSHIP, "--name", "pc-a")
    token = next(w for w in out.split() if w.startswith(f"{TOWNSHIP}-") and "." in w)
    event = {"event_id": "01900000-0000-7000-8000-000000000001", "seq": 1,
             "case_id": "01900000-0000-7000-8000-0000000000aa", "kind": "accepted",
             "at": "2026-03-02T09:00:00+08:00", "offset_ms": 0,
             "data": {"case_no": "X1", "item_code": "GG-0003", "org_code": "513422101000", "channel": "window",
                      "applicant_name": "某", "cert_type": "passport", "cert_no": "E1234567",
                      "promised_days": 3}}
    body = gzip.compress(json.dumps({"agent_id": token.split(".")[0], "events": [event]}).encode())
    req = urllib.request.Request(f"{cluster.server_url}/api/v1/sync/push", data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Encoding": "gzip"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        answer = json.loads(resp.read())
    assert [r["code"] for r in answer["refused"]] == ["wrong_township"]
    assert answer["acked_seq"] == 1 and answer["stored"] == 0
    assert stats(cluster, "county")["513422000000"]["accepted"] == 0


def _ingest_workers(cluster) -> list[int]:
    """Pids of running ingest workers of this cluster's database."""
    database = str(cluster.base / "county.sqlite3")
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
            with open(f"/proc/{entry}/stat") as f:
                zombie = f.read().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            continue
        if b"server.ingest.worker" in args and database.encode() in args and not zombie:
            out.append(int(entry))
    return out
