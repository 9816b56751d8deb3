"""Two `county-server serve` processes on one PostgreSQL database, as behind a round-robin balancer: failed logins
of one name alternating between them lock the name after the configured limit in total, not per process, and the
locked name is refused by both, the right password included.

Needs this machine's PostgreSQL (`tests.postgres`): skipped without it, failed under CI=true.
"""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from scripts.cluster import BIN, Cluster
from tests import postgres

pytestmark = pytest.mark.postgres

PASSWORD = "县政务服务看板 2026!"
PER_ACCOUNT = 4
# Per account 4 in a window; per address far more, so that only the name's count can lock (every login here comes
# from 127.0.0.1).
LIMITS = (f"[dashboard]\nlogin_failures_per_account = {PER_ACCOUNT}\nlogin_failures_per_address = 100\n"
          "login_window_minutes = 15\nlogin_lock_minutes = 15\n")


def _login(server: Cluster, name: str, password: str) -> tuple[int, str, str | None]:
    """(status, error code or "", Retry-After) of a dashboard login at `server`."""
    req = urllib.request.Request(f"{server.server_url}/api/v1/session", method="POST",
                                 data=json.dumps({"name": name, "password": password}).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, "", resp.headers.get("Retry-After")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}").get("code", ""), e.headers.get("Retry-After")


def test_failed_logins_alternating_between_two_servers_lock_the_name_at_the_limit_in_total(tmp_path: Path) -> None:
    storage = postgres.storage_section(tmp_path / "shared", always=True)  # one schema for both servers
    keys = f'[privacy]\nkey_file = "{tmp_path / "county.keys"}"\n'
    one = Cluster(tmp_path / "one", storage=storage, server_settings=keys + LIMITS)
    two = Cluster(tmp_path / "two", storage=storage, server_settings=keys + LIMITS)
    try:
        starting = [threading.Thread(target=c.server.start) for c in (one, two)]  # type: ignore[union-attr]
        for t in starting:
            t.start()
        for t in starting:
            t.join()
        added = subprocess.run([str(BIN / "county-server"), "users", "add", "--name", "zhangsan", "--password-stdin",
                                "--config", str(one.server_config)], input=PASSWORD + "\n", capture_output=True,
                               text=True, timeout=60)
        assert added.returncode == 0, added.stdout + added.stderr
        assert _login(two, "zhangsan", PASSWORD)[0] == 200  # one account, seen by both; its failures start at 0
        servers = (one, two)
        # Each server answers half of the failures: PER_ACCOUNT / 2 each, below the limit per process.
        refused = [_login(servers[n % 2], "zhangsan", f"wrong guess {n}")[:2] for n in range(PER_ACCOUNT)]
        assert refused == [(401, "login_failed")] * PER_ACCOUNT
        for server in servers:  # locked on both, the right password included
            status, code, retry_after = _login(server, "zhangsan", PASSWORD)
            assert (status, code) == (429, "login_throttled")
            assert retry_after is not None and 14 * 60 < int(retry_after) <= 15 * 60
        # The name is locked, not the address: another name still gets its answer from either server.
        assert [_login(server, "lisi", "wrong guess")[:2] for server in servers] == [(401, "login_failed")] * 2
        logs = [(c.base / "server.log").read_text(encoding="utf-8") for c in servers]
        assert sum(log.count("login locked name=zhangsan") for log in logs) == 1, logs  # locked once, by one
    finally:
        one.stop_all()
        two.stop_all()
