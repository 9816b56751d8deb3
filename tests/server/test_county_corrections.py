"""更正 at the county: a `corrected` event folds into the case; one that would move a figure of a rated case without
a grant, and an unguarded `updated` of it (an old agent), are conflicts with their Chinese reason, never dropped. A
county admin's grant reaches the township's PCs with the pull; a correction naming a grant the county never gave is
refused."""

from __future__ import annotations

import json
from typing import Any

from tests import database
from tests.server.helpers import ADMIN_TOKEN, QIAOWA, WACHANG, CountyServer, TownshipAgent
from tests.server.test_pull import pull


async def test_a_correction_folds_and_a_figure_change_of_a_rated_case_is_a_conflict(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    acc = qiaowa.accepted()
    case_id = acc["case_id"]
    rated = [acc, qiaowa.completed(case_id), qiaowa.evaluated(case_id, rating=2)]
    fixed = qiaowa.event("corrected", case_id, "2026-03-06", {
        "reason": "电话记错", "phone": "13900000000", "before": {"phone": None}})
    moved = qiaowa.event("corrected", case_id, "2026-03-06T11:00:00+08:00", {
        "reason": "选错渠道", "channel": "online", "before": {"channel": "window"}})
    blind = qiaowa.event("updated", case_id, "2026-03-06T12:00:00+08:00", {"item_code": "GG-0003"})
    answer = await county_server.push(qiaowa, [*rated, fixed, moved, blind])
    assert answer.get("refused", []) == []
    codes = {c["event_id"]: (c["code"], c["message"]) for c in answer["conflicts"]}
    assert codes[moved["event_id"]][0] == "correction_needs_grant" and "县级管理员授权" in codes[moved["event_id"]][1]
    assert codes[blind["event_id"]][0] == "correction_required" and "更正" in codes[blind["event_id"]][1]
    assert fixed["event_id"] not in codes
    with database.connect(county_server.config) as db:
        body, channel, item_code = db.execute("SELECT body, channel, item_code FROM cases WHERE case_id = ?",
                                              (case_id,)).fetchone()
    phone = json.loads(body)["phone"]
    assert (channel, item_code) == ("window", "GG-0004")
    assert phone.startswith("enc1:") and "13900000000" not in phone  # the corrected phone, sealed at rest
    status, page = await county_server.get(f"/api/v1/cases/{case_id}")
    assert status == 200 and page["phone"] == "13900000000"
    township = (await county_server.stats("township"))[QIAOWA + "000"]
    assert township["accepted"] == 1 and township["evaluations"] == 1


async def _grant(server: CountyServer, case_id: str, body: object, token: str | None = ADMIN_TOKEN,
                 **kwargs: Any) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with server.session.post(f"{server.url}/api/v1/cases/{case_id}/grants", json=body, headers=headers,
                                   **kwargs) as r:
        return r.status, await r.json()


async def test_a_county_grant_reaches_the_pcs_and_lets_a_rated_case_change_a_figure_field(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    other = await county_server.add_agent(QIAOWA, "窗口2")
    stranger = await county_server.add_agent(WACHANG, "瓦厂1")
    acc = qiaowa.accepted()
    case_id = acc["case_id"]
    open_case = qiaowa.accepted()
    await county_server.push(qiaowa, [acc, qiaowa.completed(case_id), qiaowa.evaluated(case_id, rating=4), open_case])
    assert (await _grant(county_server, case_id, {"reason": " "}))[0] == 422
    status, body = await _grant(county_server, open_case["case_id"], {"reason": "选错事项"})
    assert status == 422 and "无需授权" in body["detail"]
    assert (await _grant(county_server, case_id, {"reason": "r"}, token=None))[0] == 401
    status, given = await _grant(county_server, case_id, {"reason": "窗口选错事项，经核实改为养老待遇申领"})
    assert status == 201, given
    status, page = await county_server.get(f"/api/v1/cases/{case_id}")
    assert [g["grant_id"] for g in page["grants"]] == [given["grant_id"]]
    assert set(page["locked_fields"]) == {"item_code", "org_code", "channel", "village_code"}

    pulled = await pull(county_server, other)
    assert [(g["grant_id"], g["case_id"]) for g in pulled["grants"]] == [(given["grant_id"], case_id)]
    assert (await pull(county_server, stranger)).get("grants", []) == []  # only the case's township (omitted: none)

    forged = qiaowa.event("corrected", case_id, "2026-03-06", {
        "reason": "r", "item_code": "GG-0003", "grant": "0190a0b0-0000-7000-8000-000000000009"})
    moved = qiaowa.event("corrected", case_id, "2026-03-06T11:00:00+08:00", {
        "reason": "窗口选错事项", "item_code": "GG-0003", "promised_days": 5, "due_on": "2026-03-09",
        "before": {"item_code": "GG-0004"}, "grant": given["grant_id"]})
    answer = await county_server.push(qiaowa, [forged, moved])
    assert [(r["event_id"], r["code"]) for r in answer["refused"]] == [(forged["event_id"], "unknown_grant")]
    assert answer.get("conflicts", []) == []
    with database.connect(county_server.config) as db:
        assert db.execute("SELECT item_code FROM cases WHERE case_id = ?", (case_id,)).fetchone() == ("GG-0003",)
    status, page = await county_server.get(f"/api/v1/cases/{case_id}")
    [fix] = [h for h in page["history"] if h["kind"] == "corrected"]
    assert fix["granted"] and fix["changes"][0]["field"] == "item_code"
