"""A township's staff list goes through the county: the lead set up on one PC signs in at another, offline, and the
county stores who did each action."""

from __future__ import annotations

import base64
import sqlite3

import aiohttp
from aiohttp.test_utils import TestClient

from agent.http.api import STORE
from agent.staff import StaffDesk
from tests import database
from tests.server.helpers import ADMIN_TOKEN, QIAOWA, WACHANG, CountyServer
from tests.township.conftest import PC
from tests.township.test_shared_cases import form

PIN = "274915"


def basic(staff_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{staff_id}:{secret}".encode()).decode()}


async def sync(pc: TestClient, **headers: str) -> dict:
    summary = await (await pc.post("/api/sync", json={}, headers=headers)).json()
    assert summary["ok"], summary
    return summary


async def test_the_lead_set_up_on_one_pc_signs_in_at_another_offline_and_the_county_knows_who_did_what(
        county_server: CountyServer, township_pc: PC) -> None:
    pc1, pc2, other = await township_pc("窗口1"), await township_pc("窗口2"), await township_pc("瓦厂", WACHANG)
    await StaffDesk(pc1.server.app[STORE]).add(None, "L01", "卓玛", "lead", PIN)  # township-agent staff add --lead
    lead = basic("L01", PIN)
    await sync(pc1, **lead)
    await sync(other)
    await sync(pc2)  # before the lead existed, pc2 needed no sign-in; now it has the list
    assert (await pc2.get("/api/cases")).status == 401
    assert (await pc2.get("/api/cases", headers=lead)).status == 200
    assert (await other.get("/api/session")).status == 200
    assert (await (await other.get("/api/session")).json())["required"] is False  # 瓦厂 has its own list
    # The lead adds a clerk on pc2; the clerk works at pc1 once pc1 has synced the list.
    r = await pc2.post("/api/staff", json={"staff_id": "C07", "name": "扎西", "secret": "583920"}, headers=lead)
    assert r.status == 201
    await sync(pc2, **lead)
    clerk = basic("C07", "583920")
    assert (await pc1.get("/api/cases", headers=clerk)).status == 401
    await sync(pc1, **lead)
    case = await (await pc1.post("/api/cases", json=form(), headers=clerk)).json()
    await sync(pc1, **clerk)
    await sync(pc2, **lead)
    done = await pc2.post(f"/api/cases/{case['case_id']}/events",
                          json={"kind": "completed", "data": {"result": "approved"}}, headers=lead)
    assert done.status == 201
    await sync(pc2, **lead)
    with database.connect(county_server.config) as db:
        who = db.execute("SELECT kind, staff_id FROM events WHERE case_id = ? ORDER BY pos", (case["case_id"],))
        assert who.fetchall() == [("accepted", "C07"), ("completed", "L01")]
        held = db.execute("SELECT staff_id, name, role, secret_hash FROM staff WHERE township_code = '513422100'"
                          " ORDER BY staff_id").fetchall()
    assert [(s, n, r) for s, n, r, _ in held] == [("C07", "扎西", "clerk"), ("L01", "卓玛", "lead")]
    assert all(h.startswith("scrypt$") and PIN not in h and "583920" not in h for *_, h in held)
    # The dashboard's case list and its exports say who accepted and who completed the case, by name.
    status, listed = await county_server.get(f"/api/v1/cases?figure=accepted&org={QIAOWA}")
    assert status == 200, listed
    row = next(r for r in listed["rows"] if r["case_id"] == case["case_id"])
    assert (row["staff"], row["closed_by"]) == ("扎西（C07）", "卓玛（L01）")
    async with aiohttp.ClientSession() as s, s.get(
            f"{county_server.url}/api/v1/export/cases?figure=accepted&org={QIAOWA}&format=csv",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as r:
        assert r.status == 200
        text = (await r.read()).decode("utf-8-sig")
    assert "受理人" in text and "办结人" in text and "扎西（C07）" in text and "卓玛（L01）" in text
    # The dashboard's case page names the staff member of each event.
    status, page = await county_server.get(f"/api/v1/cases/{case['case_id']}")
    assert status == 200, page
    assert [(h["kind"], h["staff"]) for h in page["history"]] == [("accepted", "扎西（C07）"),
                                                                   ("completed", "卓玛（L01）")]
    # pc1 has pc2's event with its author.
    await sync(pc1, **clerk)
    with sqlite3.connect(pc1.server.app[STORE].path) as db:
        assert db.execute("SELECT kind, staff_id FROM pulled").fetchall() == [("completed", "L01")]
    shown = await (await pc1.get(f"/api/cases/{case['case_id']}/history", headers=clerk)).json()
    assert [(e["kind"], e["staff"]) for e in shown["events"]] == [
        ("accepted", {"staff_id": "C07", "name": "扎西"}), ("completed", {"staff_id": "L01", "name": "卓玛"})]


async def test_the_county_takes_only_scrypt_hashes(county_server: CountyServer) -> None:
    agent = await county_server.add_agent()
    async with aiohttp.ClientSession() as s:
        body = {"members": [{"staff_id": "C01", "name": "x", "role": "clerk", "secret_hash": "274915274915274915274915",
                             "rev": 1, "changed_at": "2026-03-02T09:00:00+08:00"}]}
        async with s.post(f"{county_server.url}/api/v1/staff", json=body,
                          headers={"Authorization": f"Bearer {agent.token}"}) as r:
            assert r.status == 422 and (await r.json())["code"] == "bad_request"
        async with s.post(f"{county_server.url}/api/v1/staff", json={"members": []}) as r:
            assert r.status == 401
