"""Real processes on loopback ports: a county server and township agents, each with its own SQLite file (the
county's in PostgreSQL under TEST_SERVER_BACKEND=postgres)."""

from __future__ import annotations

import time
from datetime import date

import pytest

from scripts.cluster import Cluster, http_json
from tests import postgres

pytestmark = pytest.mark.e2e

TOWNSHIP = "513422100"
VILLAGE = "513422100201"
VALID_IDS = ["11010519491231002X", "513422199001011230", "513422198512120013"]


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path / "cluster", storage=postgres.storage_section(tmp_path))
    yield c
    c.stop_all()


def fix_id(body17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body17 + "10X98765432"[sum(int(c) * w for c, w in zip(body17, weights, strict=True)) % 11]


def form(n: int = 0, **overrides) -> dict:
    body = {"item_code": "GG-0003", "applicant_name": f"申请人{n}", "cert_type": "resident_id",
            "cert_no": fix_id(f"51342219900101{n % 1000:03d}"), "channel": "window", "village_code": VILLAGE}
    body.update(overrides)
    return body


def accept(agent_url: str, n: int = 0, staff: tuple[str, str] | None = None, **overrides) -> dict:
    status, case = http_json("POST", f"{agent_url}/api/cases", form(n, **overrides), staff=staff)
    assert status == 201, case
    return case


def act(agent_url: str, case_id: str, kind: str, **data) -> dict:
    status, case = http_json("POST", f"{agent_url}/api/cases/{case_id}/events", {"kind": kind, "data": data})
    assert status == 201, case
    return case


def wait_synced(agent_url: str, timeout_s: float = 30) -> dict:
    """Wait until the agent reports nothing pending and no error; returns its status."""
    deadline = time.monotonic() + timeout_s
    status: dict = {}
    while time.monotonic() < deadline:
        status = http_json("GET", f"{agent_url}/api/status")[1]
        if status["pending"] == 0 and not status["last_error"] and status["last_sync_at"]:
            return status
        time.sleep(0.1)
    raise AssertionError(f"agent did not sync within {timeout_s}s: {status}")


def stats(cluster: Cluster, level: str, org: str | None = None) -> dict[str, dict]:
    today = date.today()
    query = f"level={level}&from={today.year - 1}-01-01&to={today.year + 1}-12-31" + (f"&org={org}" if org else "")
    code, body = http_json("GET", f"{cluster.server_url}/api/v1/stats?{query}", token=cluster.admin_token)
    assert code == 200, body
    return {row["code"]: row for row in body["rows"]}
