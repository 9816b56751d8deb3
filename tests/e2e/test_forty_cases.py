"""The script of issue 9, with a real county server and a real agent and no fault at all: accept, sync, complete,
sync, rate, for 40 cases. Before causal order the county lost a third of the ratings (two actions of one PC within a
second, swapped by a clock offset measured afresh at each sync). Every completion and rating the PC holds must be
on the county, and `rollups verify` must find nothing."""

from __future__ import annotations

import subprocess

from scripts.cluster import BIN, http_json
from tests import database
from tests.e2e.conftest import accept, act, stats

CASES = 40


def test_every_completion_and_rating_the_pc_holds_is_on_the_county(cluster):
    cluster.server.start()
    cluster.add_agent("pc1", interval_s=3600).start()
    url = cluster.agent_url("pc1")
    assert http_json("POST", f"{url}/api/sync")[1]["ok"]
    held: dict[str, tuple[str, int]] = {}
    for n in range(CASES):
        case = accept(url, n)
        http_json("POST", f"{url}/api/sync")
        act(url, case["case_id"], "completed", result="approved")
        http_json("POST", f"{url}/api/sync")
        rated = act(url, case["case_id"], "evaluated", rating=1 + n % 5)
        held[case["case_id"]] = (rated["state"], rated["rating"])
    final = http_json("POST", f"{url}/api/sync")[1]
    assert final["ok"] and final["pending"] == 0 and final["digest_agrees"] is True, final
    with database.connect(cluster.server_config, readonly=True) as db:
        county = {r[0]: (r[1], r[2]) for r in db.execute("SELECT case_id, state, rating FROM cases")}
        (conflicts,) = db.execute("SELECT count(*) FROM conflicts").fetchone()
    assert county == held
    assert conflicts == 0
    figures = stats(cluster, "county")["513422000000"]
    assert (figures["accepted"], figures["completed"], figures["evaluations"]) == (CASES, CASES, CASES)
    verify = subprocess.run([str(BIN / "county-server"), "rollups", "verify", "--config", str(cluster.server_config)],
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "cases match their events" in verify.stdout
