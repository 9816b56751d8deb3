"""更正 at the county: a `corrected` event folds into the case; one that would move a figure of a rated case without
a grant, and an unguarded `updated` of it (an old agent), are conflicts with their Chinese reason, never dropped."""

from __future__ import annotations

import sqlite3

from tests.server.helpers import QIAOWA, CountyServer, TownshipAgent


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
    with sqlite3.connect(county_server.config.database) as db:
        phone, channel, item = db.execute(
            "SELECT json_extract(body, '$.phone'), channel, item_code FROM cases WHERE case_id = ?",
            (case_id,)).fetchone()
    assert (phone, channel, item) == ("13900000000", "window", "GG-0004")
    township = (await county_server.stats("township"))[QIAOWA + "000"]
    assert township["accepted"] == 1 and township["evaluations"] == 1
