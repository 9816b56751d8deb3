"""A restored or reset township PC rejoins without reusing a seq and without losing or doubling a case."""

from __future__ import annotations

import re
import subprocess
import time
import urllib.request

import pytest

from ops.metrics import parse
from scripts.cluster import BIN, http_json
from tests import database
from tests.e2e.conftest import accept, stats, wait_synced

pytestmark = pytest.mark.e2e


def township_agent(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "township-agent"), *args], capture_output=True, text=True, timeout=60)


def register_again(cluster, agent) -> str:
    """`county-server agents add` for the same PC, and the new token into its config; returns the new agent id."""
    out = cluster.county("agents", "add", "--township", "513422100", "--name", "pc1 again")
    token = next(w for w in out.split() if w.startswith("513422100-") and "." in w)
    text = agent.config.read_text(encoding="utf-8")
    agent.config.write_text(re.sub(r'token = "[^"]*"', f'token = "{token}"', text), encoding="utf-8")
    return token.split(".")[0]


def wait_for(predicate, timeout_s: float = 20):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached")


def metric(url: str, name: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as resp:
        return parse(resp.read().decode())[name]


def county_events(cluster) -> tuple[int, int]:
    with database.connect(cluster.server_config, readonly=True) as db:
        return db.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone()


def test_a_pc_restored_from_an_old_backup_registers_again_and_every_case_arrives_once(cluster, tmp_path):
    cluster.server.start()
    agent = cluster.add_agent("pc1")
    agent.start()
    url = cluster.agent_url("pc1")
    wait_synced(url)
    for n in range(3):
        accept(url, n)
    wait_synced(url)

    # The county is away: four cases wait on the PC when the backup is taken.
    cluster.server.stop()
    for n in range(3, 7):
        accept(url, n)
    backup = tmp_path / "pc1.sqlite3"
    made = township_agent("backup", "--config", str(agent.config), "--to", str(backup))
    assert made.returncode == 0, made.stderr
    cluster.server.start()
    http_json("POST", f"{url}/api/sync")
    wait_synced(url)
    for n in range(7, 9):  # after the backup: the restore loses these on the PC, the county has them
        accept(url, n)
    wait_synced(url)

    # The disk is replaced; the backup comes back.
    agent.stop()
    restored = township_agent("restore", "--config", str(agent.config), "--from", str(backup))
    assert restored.returncode == 0, restored.stderr
    agent.start()
    accept(url, 9)  # staff keep working; this event's local seq was used by a lost one
    http_json("POST", f"{url}/api/sync")
    status = http_json("GET", f"{url}/api/status")[1]
    assert "county-server agents add" in status["last_error"]
    assert status["pending"] == 5
    assert metric(url, "township_agent_identity_retired") == 1

    register_again(cluster, agent)
    agent.stop()
    agent.start()
    http_json("POST", f"{url}/api/sync")
    status = wait_synced(url)
    assert metric(url, "township_agent_identity_retired") == 0
    assert status["quarantined"] == []  # re-sent events of the old identity count as delivered
    assert stats(cluster, "county")["513422000000"]["accepted"] == 10
    assert county_events(cluster) == (10, 10)


def test_a_pc_whose_database_was_reset_stops_at_the_first_seq_reused_and_rejoins(cluster, tmp_path):
    cluster.server.start()
    agent = cluster.add_agent("pc1")
    agent.start()
    url = cluster.agent_url("pc1")
    wait_synced(url)
    for n in range(4):
        accept(url, n)
    wait_synced(url)

    # Someone deletes the database but keeps the config (and so the old token).
    agent.stop()
    for path in cluster.base.glob("agent-pc1.sqlite3*"):
        path.unlink()
    agent.start()
    wait_synced(url)  # reference data comes back
    for n in range(10, 13):
        accept(url, n)
    http_json("POST", f"{url}/api/sync")
    status = wait_for(lambda: (s := http_json("GET", f"{url}/api/status")[1])["last_error"] and s)
    assert "seq_reused" in status["last_error"]
    assert metric(url, "township_agent_identity_retired") == 1

    register_again(cluster, agent)
    agent.stop()
    agent.start()
    http_json("POST", f"{url}/api/sync")
    status = wait_synced(url)
    assert status["quarantined"] == []  # the seq_reused refusals went back to pending and were sent again
    assert stats(cluster, "county")["513422000000"]["accepted"] == 7
    assert county_events(cluster) == (7, 7)
