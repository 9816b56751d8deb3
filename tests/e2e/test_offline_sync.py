"""Cases entered while the county server is down reach it once it is up, and the figures match, per level."""

from __future__ import annotations

from scripts.cluster import http_json
from tests.e2e.conftest import TOWNSHIP, VILLAGE, accept, act, stats, wait_synced


def test_cases_entered_while_the_server_is_down_reach_it_and_the_figures_match(cluster):
    cluster.server.start()
    agent = cluster.add_agent("pc1")
    agent.start()
    url = cluster.agent_url("pc1")
    wait_synced(url)  # the first round fetches the catalog and calendar
    cluster.server.stop()

    cases = [accept(url, n) for n in range(6)]
    centre_case = accept(url, 99, village_code=None, org_code=f"{TOWNSHIP}000")
    station_case = accept(url, 98, org_code=VILLAGE)
    for case in cases[:4]:
        act(url, case["case_id"], "completed", result="approved")
    act(url, cases[0]["case_id"], "evaluated", rating=5)
    act(url, cases[1]["case_id"], "evaluated", rating=1, comment="等了很久")
    act(url, cases[4]["case_id"], "rejected", reason="材料不属于本中心受理范围")
    act(url, station_case["case_id"], "completed", result="approved")
    status = http_json("GET", f"{url}/api/status")[1]
    assert status["pending"] == 8 + 4 + 2 + 1 + 1
    assert status["last_error"] is None or status["pending"] > 0

    cluster.server.start()
    http_json("POST", f"{url}/api/sync")
    wait_synced(url)

    county = stats(cluster, "county")["513422000000"]
    assert county["accepted"] == 7  # 8 entered, one of them 不予受理
    assert county["completed"] == 5
    assert county["completed_on_time"] == 5
    assert county["rejected"] == 1
    assert county["evaluations"] == 2
    assert county["good_ratings"] == 1
    township = stats(cluster, "township", "513422")
    assert township[f"{TOWNSHIP}000"]["accepted"] == 7
    assert sum(row["accepted"] for row in township.values()) == 7  # nothing leaks to other townships
    villages = stats(cluster, "village", TOWNSHIP)
    assert villages[VILLAGE]["accepted"] == 1 and villages[VILLAGE]["completed"] == 1  # the station's own case
    assert centre_case["org_code"] == f"{TOWNSHIP}000"


def test_an_idle_agent_still_reports_to_the_county_each_round(cluster):
    import json
    import time

    cluster.server.start()
    cluster.add_agent("pc1", interval_s=3600).start()
    url = cluster.agent_url("pc1")
    wait_synced(url)  # this round pulled the reference data

    def last_push_at() -> str | None:
        (line,) = cluster.county("agents", "list", "--json").splitlines()  # one JSON object per agent
        return json.loads(line)["last_push_at"]

    before = last_push_at()
    time.sleep(1.1)
    summary = http_json("POST", f"{url}/api/sync")[1]
    assert summary["ok"] and summary["pushed"] == 0
    after = last_push_at()
    assert after is not None and (before is None or after > before)
