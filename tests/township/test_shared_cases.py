"""Several PCs of one township share its cases through the county: each pulls the others' events and folds them
with the county's function, so any window continues any case and every PC agrees with the county."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient

from tests import database
from tests.agent.conftest import accept_form
from tests.server.helpers import WACHANG, CountyServer
from tests.township.conftest import PC


async def sync(pc: TestClient) -> dict[str, Any]:
    summary = await (await pc.post("/api/sync", json={})).json()
    assert summary["ok"], summary
    return summary


def form(**overrides: Any) -> dict[str, Any]:
    return accept_form(**{"item_code": "GG-0003", "village_code": "513422100201", **overrides})


async def test_a_case_accepted_at_one_window_is_continued_at_another_and_all_agree(
        county_server: CountyServer, township_pc: PC) -> None:
    pc1, pc2, other = await township_pc("窗口1"), await township_pc("窗口2"), await township_pc("瓦厂", WACHANG)
    for pc in (pc1, pc2, other):
        await sync(pc)  # the catalog
    case = await (await pc1.post("/api/cases", json=form())).json()
    theirs = await (await other.post("/api/cases", json=form(village_code=None))).json()
    await sync(pc1)
    await sync(other)
    first = await sync(pc2)
    assert first["pulled"] == 1 and first["digest_agrees"] is True
    done = await pc2.post(f"/api/cases/{case['case_id']}/events",
                          json={"kind": "completed", "data": {"result": "approved"}})
    assert done.status == 201
    await sync(pc2)
    back = await sync(pc1)
    shown = await (await pc1.get(f"/api/cases/{case['case_id']}/history")).json()
    assert back["pulled"] == 1 and back["digest_agrees"] is True
    assert shown["case"]["state"] == "completed"
    assert shown["case"]["accepted_by"]["is_this_pc"] and not shown["case"]["last_by"]["is_this_pc"]
    assert shown["case"]["last_by"]["name"] == "窗口2"
    assert [(e["kind"], e["status"]) for e in shown["events"]] == [("accepted", "synced"), ("completed", "county")]
    # Strictly the township's own: the other township's case never reaches 乔瓦镇's PCs, nor theirs ours.
    assert (await pc2.get(f"/api/cases/{theirs['case_id']}")).status == 404
    assert (await other.get(f"/api/cases/{case['case_id']}")).status == 404
    with database.connect(county_server.config) as db:
        (state,) = db.execute("SELECT state FROM cases WHERE case_id = ?", (case["case_id"],)).fetchone()
    assert state == "completed"
    status = await (await pc1.get("/api/status")).json()
    assert status["digest"]["agrees"] is True and status["digest"]["local"] == status["digest"]["county"]


async def test_two_windows_closing_one_case_offline_both_see_the_same_conflict_and_the_county_too(
        county_server: CountyServer, township_pc: PC) -> None:
    pc1, pc2 = await township_pc("窗口1"), await township_pc("窗口2")
    await sync(pc1)
    await sync(pc2)
    case = await (await pc1.post("/api/cases", json=form())).json()
    await sync(pc1)
    await sync(pc2)
    url = f"/api/cases/{case['case_id']}/events"
    # The county orders the two by each PC's clock less its offset as last measured, which is true to within a round
    # trip: the withdrawal comes after the completion by more than the two offsets differ, or the order is a toss.
    one_ms, two_ms = [(await (await pc.get("/api/status")).json())["clock_offset_ms"] or 0 for pc in (pc1, pc2)]
    await pc1.post(url, json={"kind": "completed", "data": {"result": "approved"}})  # both offline, both closing
    await asyncio.sleep((max(0, two_ms - one_ms) + 20) / 1000)
    await pc2.post(url, json={"kind": "withdrawn", "data": {"reason": "申请人撤回"}})
    pushed = await sync(pc2)
    await sync(pc1)
    await sync(pc2)
    one = await (await pc1.get(f"/api/cases/{case['case_id']}/history")).json()
    two = await (await pc2.get(f"/api/cases/{case['case_id']}/history")).json()
    assert pushed["conflicts"] == 0  # the withdrawal came first to the county: nothing had beaten it yet
    assert one["case"]["state"] == two["case"]["state"] == "completed"  # the completion was made first
    assert [(c["kind"], c["lost_to_kind"]) for c in one["conflicts"]] == [("withdrawn", "completed")]
    assert [c["event_id"] for c in one["conflicts"]] == [c["event_id"] for c in two["conflicts"]]
    status = await (await pc2.get("/api/status")).json()
    assert [c["kind"] for c in status["conflicts"]] == ["withdrawn"] and status["digest"]["agrees"] is True
    settle = await pc2.post(f"/api/conflicts/{two['conflicts'][0]['event_id']}/accept", json={})
    assert settle.status == 201
    await sync(pc2)
    await sync(pc1)
    with database.connect(county_server.config) as db:
        rows = db.execute("SELECT kind, is_open, settled_at IS NOT NULL FROM conflicts").fetchall()
    assert rows == [("withdrawn", 0, 1)]
    one = await (await pc1.get(f"/api/cases/{case['case_id']}/history")).json()
    assert one["conflicts"][0]["outcome"] == "accepted"
