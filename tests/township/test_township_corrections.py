"""更正 across a township: a correction made at one window reaches the county and the other window's history; a
county grant given on the dashboard reaches both windows with the pull, and one of them, offline again, corrects a
rated case's item under it; everyone ends with the same case, counted once."""

from __future__ import annotations

from tests.server.helpers import ADMIN_TOKEN, QIAOWA, CountyServer
from tests.township.conftest import PC
from tests.township.test_shared_cases import form, sync


async def test_a_correction_and_a_county_grant_travel_across_the_township(
        county_server: CountyServer, township_pc: PC) -> None:
    pc1, pc2 = await township_pc("窗口1"), await township_pc("窗口2")
    for pc in (pc1, pc2):
        await sync(pc)
    case = await (await pc1.post("/api/cases", json=form())).json()
    url = f"/api/cases/{case['case_id']}/events"
    for kind, data in (("completed", {"result": "approved"}), ("evaluated", {"rating": 2, "comment": "慢"}),
                       ("corrected", {"phone": "13900000002", "reason": "电话记错"})):
        assert (await pc1.post(url, json={"kind": kind, "data": data})).status == 201
    refused = await pc1.post(url, json={"kind": "corrected", "data": {"item_code": "GG-0004", "reason": "选错"}})
    assert (await refused.json())["code"] == "correction_needs_grant"
    await sync(pc1)
    await sync(pc2)
    history = await (await pc2.get(f"/api/cases/{case['case_id']}/history")).json()
    [fix] = [e for e in history["events"] if e["kind"] == "corrected"]
    assert fix["data"]["reason"] == "电话记错" and fix["status"] == "county" and not fix["by"]["is_this_pc"]

    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with county_server.session.post(f"{county_server.url}/api/v1/cases/{case['case_id']}/grants",
                                          json={"reason": "核实后改事项"}, headers=headers) as r:
        assert r.status == 201
    await sync(pc2)  # the grant arrives with the pull; then the county may be down
    moved = await pc2.post(url, json={"kind": "corrected", "data": {"item_code": "GG-0004", "reason": "选错事项"}})
    assert moved.status == 201, await moved.text()
    before = (await county_server.stats("township"))[QIAOWA + "000"]
    await sync(pc2)
    await sync(pc1)
    ours, theirs = [await (await pc.get(f"/api/cases/{case['case_id']}")).json() for pc in (pc1, pc2)]
    status, county = await county_server.get(f"/api/v1/cases/{case['case_id']}")
    assert ours == theirs and ours["item_code"] == "GG-0004" and ours["phone"] == "13900000002"
    assert county["case"]["item_code"] == "GG-0004" and county["phone"] == "13900000002"
    assert [h["kind"] for h in county["history"]][-2:] == ["corrected", "corrected"]
    after = (await county_server.stats("township"))[QIAOWA + "000"]
    assert (after["accepted"], after["evaluations"]) == (before["accepted"], before["evaluations"])  # moved, not added


