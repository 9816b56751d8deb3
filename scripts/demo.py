"""The demo: a county server and one township agent (乔瓦镇) on loopback, with sample cases entered and synced."""

from __future__ import annotations

import random
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.cluster import BIN, ROOT, Cluster, http_json

VILLAGES = ["513422100201", "513422100202", "513422100203"]
NAMES = ["扎西", "卓玛", "次仁", "拉姆", "格桑", "央金", "阿呷", "木呷", "王芳", "李明"]


def resident_id(rng: random.Random) -> str:
    body = f"513422{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def load_sample_cases(agent_url: str, count: int = 40) -> None:
    rng = random.Random(20261123)
    ref = http_json("GET", f"{agent_url}/api/reference")[1]
    items = [i["code"] for i in ref["items"]]
    villages = [o["code"] for o in ref["org_units"] if o["level"] == "village"] or VILLAGES
    for n in range(count):
        status, case = http_json("POST", f"{agent_url}/api/cases", {
            "item_code": rng.choice(items), "applicant_name": rng.choice(NAMES), "cert_type": "resident_id",
            "cert_no": resident_id(rng), "phone": f"139{rng.randint(0, 99999999):08d}",
            "channel": rng.choice(["window", "window", "window", "online", "proxy", "home_visit"]),
            "village_code": rng.choice(villages),
        })
        assert status == 201, case
        url = f"{agent_url}/api/cases/{case['case_id']}/events"
        if n % 4 != 3:
            http_json("POST", url, {"kind": "completed", "data": {"result": "approved"}})
            if n % 2 == 0:
                http_json("POST", url, {"kind": "evaluated", "data": {"rating": rng.choice([5, 5, 5, 4, 3, 2])}})


def main() -> None:
    base = ROOT / "run" / "demo"
    if base.exists():
        shutil.rmtree(base)
    cluster = Cluster(base, server_port=8600)
    cluster.server.start()
    password = secrets.token_urlsafe(12)
    subprocess.run([str(BIN / "county-server"), "users", "add", "--name", "admin", "--password-stdin", "--config",
                    str(cluster.server_config)], input=password, text=True, check=True, capture_output=True)
    agent = cluster.add_agent("qiaowa-01", port=8700, interval_s=30)
    agent.start()
    agent_url = cluster.agent_url("qiaowa-01")
    http_json("POST", f"{agent_url}/api/sync")
    load_sample_cases(agent_url)
    http_json("POST", f"{agent_url}/api/sync")
    year = time.localtime().tm_year
    print(f"county server  {cluster.server_url}   (admin token: {cluster.admin_token})")
    print(f"dashboard      {cluster.server_url}/dashboard/   (login admin / {password})")
    print(f"township agent {agent_url}/   (乔瓦镇 便民服务中心, PC 01)")
    print(f"figures        curl -H 'Authorization: Bearer {cluster.admin_token}' "
          f"'{cluster.server_url}/api/v1/stats?level=township&from={year}-01-01&to={year}-12-31'")
    print(f"state and logs {base}/   — Ctrl-C stops both")
    stop = False

    def on_signal(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not stop and cluster.server.is_running and agent.is_running:
        time.sleep(0.5)
    cluster.stop_all()


if __name__ == "__main__":
    main()
