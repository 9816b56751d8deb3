"""The dashboard's case page and search over HTTP: every event with its PC, China time, a correction's reason and
before/after, a rating's comment, conflicts; the certificate masked; bad searches are a Chinese invalid_filter."""

from __future__ import annotations

import msgspec

from ops.passwords import hash_password
from protocol.messages import StaffMember, StaffPush
from tests.server.helpers import QIAOWA, CountyServer, TownshipAgent, push_conflict


async def test_the_case_page_shows_every_event_with_its_pc_china_time_and_a_correction(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    acc = qiaowa.accepted(cert_no="11010519491231002X", phone="13800000001", staff="李四")
    case_id = acc["case_id"]
    corrected = qiaowa.event("corrected", case_id, "2026-03-06T02:00:00+00:00", {
        "reason": "电话记错", "phone": "13900000000", "before": {"phone": "13800000001"}})
    await county_server.push(qiaowa, [acc, qiaowa.completed(case_id), qiaowa.event(
        "evaluated", case_id, "2026-03-05T10:30:00+08:00", {"rating": 2, "comment": "等太久"}), corrected])
    status, page = await county_server.get(f"/api/v1/cases/{case_id}")
    assert status == 200, page
    assert page["case"]["cert_no_masked"] != "11010519491231002X" and page["case"]["cert_no_masked"].endswith("002X")
    assert "11010519491231002X" not in str(page)
    assert page["phone"] == "13900000000" and page["case"]["comment"] == "等太久"
    # The correction's phone and what it was are sealed at rest, like the acceptance's (the page opened them).
    raw = b"".join(f.read_bytes() for f in county_server.config.database.parent.glob(
        county_server.config.database.name + "*"))
    assert b"13900000000" not in raw and b"13800000001" not in raw
    kinds = [(h["kind"], h["kind_label"]) for h in page["history"]]
    assert kinds == [("accepted", "受理"), ("completed", "办结"), ("evaluated", "评价"), ("corrected", "更正")]
    accepted, _, rated, fix = page["history"]
    assert accepted["agent_name"] == "窗口1" and accepted["staff"] == "李四"
    assert fix["at"] == "2026-03-06 10:00:00"  # China time, whatever zone the PC wrote
    assert fix["reason"] == "电话记错"
    assert fix["changes"] == [{"field": "phone", "label": "联系电话", "before": "13800000001",
                               "after": "13900000000"}]
    assert (rated["rating"], rated["rating_label"], rated["comment"]) == (2, "不满意", "等太久")
    status, listed = await county_server.get("/api/v1/cases?figure=bad_ratings")
    assert [r["comment"] for r in listed["rows"]] == ["等太久"]  # 差评回访 shows the resident's words


async def test_a_conflict_shows_on_its_case_page_and_an_unknown_case_is_404(county_server: CountyServer) -> None:
    accepted, _, withdrawn = await push_conflict(county_server)
    status, page = await county_server.get(f"/api/v1/cases/{accepted['case_id']}")
    assert [c["event_id"] for c in page["conflicts"]] == [withdrawn["event_id"]]
    [lost] = [h for h in page["history"] if h["event_id"] == withdrawn["event_id"]]
    assert lost["conflict"] and lost["agent_name"] == "窗口2"
    status, body = await county_server.get("/api/v1/cases/00000000-0000-7000-8000-000000000000")
    assert status == 404 and body["code"] == "case_not_found" and "没有找到" in body["message"]
    status, outside = await county_server.get(f"/api/v1/cases/{accepted['case_id']}?org=513422101")
    assert status == 404  # outside the unit asked for


async def test_search_by_last_four_and_its_errors(county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    acc = qiaowa.accepted(cert_no="11010519491231002X")
    await county_server.push(qiaowa, [acc])
    status, found = await county_server.get("/api/v1/search?q=002x")
    assert status == 200 and [r["case_id"] for r in found["rows"]] == [acc["case_id"]]
    assert found["rows"][0]["township_code"] == QIAOWA
    status, empty = await county_server.get("/api/v1/search?q=%20")
    assert status == 422 and empty["code"] == "invalid_filter" and "q" in empty["fields"]
    status, long = await county_server.get("/api/v1/search?q=" + "x" * 101)
    assert status == 422 and "100" in long["fields"]["q"]
    assert (await county_server.get("/api/v1/search?q=002X", token=None))[0] == 401


async def test_the_history_names_the_staff_member_signed_in_on_the_pc(county_server: CountyServer,
                                                                      qiaowa: TownshipAgent) -> None:
    member = StaffMember(staff_id="L01", name="卓玛", role="lead", secret_hash=hash_password("274915-pin"), rev=1,
                         changed_at="2026-03-01T09:00:00+08:00")
    async with county_server.session.post(f"{county_server.url}/api/v1/staff", json=msgspec.to_builtins(
            StaffPush(members=[member])), headers={"Authorization": f"Bearer {qiaowa.token}"}) as r:
        assert r.status == 200, await r.text()
    acc = qiaowa.accepted(staff="李四") | {"staff_id": "L01"}
    unknown = qiaowa.completed(acc["case_id"]) | {"staff_id": "X9"}
    await county_server.push(qiaowa, [acc, unknown, qiaowa.evaluated(acc["case_id"])])
    status, page = await county_server.get(f"/api/v1/cases/{acc['case_id']}")
    assert status == 200
    # signed in and on the township's list; signed in but unknown there; no sign-in (an older PC): none
    assert [h["staff"] for h in page["history"]] == ["卓玛（L01）", "X9", None]
