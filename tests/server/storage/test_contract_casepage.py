"""The storage contract, case page half: the search by case number, name, certificate number or its last 4 and phone
under a unit, one case's page (its body, every event by time, its conflicts), the correction grants (kept, pulled
by the case's township, checked at ingest), each PC's refused and conflicting events. Every backend of `BACKENDS`."""

from __future__ import annotations

import msgspec

from protocol.ids import new_uuid7
from protocol.lifecycle import Case
from protocol.messages import CorrectionGrant
from server.model.case_search import parse_search, sealed
from tests.server.storage.backends import KEYS, Backend
from tests.server.storage.test_contract_sync import QIAOWA, WACHANG, _conflict

COUNTY = "513422"


async def _three(b: Backend) -> list[dict]:
    q_rec, q = await b.add_agent(QIAOWA)
    w_rec, w = await b.add_agent(WACHANG)
    a = q.accepted("2026-03-02", applicant_name="扎西卓玛", cert_no="11010519491231002X", phone="13800000001")
    c = q.accepted("2026-03-03", applicant_name="扎西", cert_no="513422199001011234", phone="0834-6601001")
    d = w.accepted("2026-03-04", org_code=WACHANG + "000", applicant_name="央金", cert_no="51342219850505002X")
    await b.push(q_rec, [a, c])
    await b.push(w_rec, [d])
    return [a, c, d]


async def _found(b: Backend, query: str, prefix: str = COUNTY) -> list[str]:
    search = parse_search(query)
    assert search is not None
    townships = [u.code[:9] for u in b.reference.townships()]
    return [r.case_id for r in await b.dashboard.search_cases(prefix, sealed(search, KEYS, townships), 50)]


async def test_search_finds_a_case_by_number_or_name_newest_first_within_the_unit(backend: Backend) -> None:
    """The clear keys; the ID, its last 4 and the phone are looked up by their keyed hashes, which only a sealing
    ingest stores (tests/server/test_case_page.py and test_sealed_personal_data.py search them end to end)."""
    a, c, d = await _three(backend)
    ids = {k: e["case_id"] for k, e in zip("acd", (a, c, d), strict=True)}
    assert await _found(backend, "扎西") == [ids["c"], ids["a"]]  # a name or its beginning, newest accepted first
    assert await _found(backend, "扎西卓玛") == [ids["a"]]
    assert await _found(backend, "扎西", WACHANG) == []  # the unit bounds the search
    assert await _found(backend, a["data"]["case_no"]) == [ids["a"]]
    assert await _found(backend, a["data"]["case_no"][:12]) == [ids["c"], ids["a"]]  # a number's beginning
    assert await _found(backend, "王五") == []
    [row] = await backend.dashboard.search_cases(COUNTY, parse_search("央金"), 50)  # type: ignore[arg-type]
    assert (row.case_no, row.org_code, row.applicant_name) == (d["data"]["case_no"], WACHANG + "000", "央金")


async def test_the_case_page_holds_the_case_every_event_by_time_and_its_conflicts(backend: Backend) -> None:
    _, _, accepted, completed, withdrawn = await _conflict(backend)
    page = await backend.dashboard.case_page(accepted["case_id"])
    assert page is not None
    case = msgspec.json.decode(page.body, type=Case)
    assert (case.case_id, case.state, page.category) == (accepted["case_id"], "completed", "公共服务")
    assert [e.event_id for e in page.events] == [accepted["event_id"], completed["event_id"], withdrawn["event_id"]]
    assert msgspec.json.decode(page.events[2].data) == withdrawn["data"] and page.events[0].received_at
    assert [c.conflict.event_id for c in page.conflicts] == [withdrawn["event_id"]]
    assert await backend.dashboard.case_page("00000000-0000-7000-8000-000000000000") is None


async def test_agent_statuses_count_each_pcs_refused_and_conflicting_events(backend: Backend) -> None:
    one_rec, two_rec, accepted, _, _ = await _conflict(backend)
    _, two = await backend.add_agent(QIAOWA, "窗口9")  # only for its event builder: seqs follow window 2's
    two.seq = 1
    bad = two.event("completed", accepted["case_id"], "2026-03-03", {"result": "maybe"})
    answer = await backend.push(two_rec, [bad])
    assert [r.event_id for r in answer.refused] == [bad["event_id"]]
    statuses = {s.agent.agent_id: s for s in await backend.dashboard.agent_statuses()}
    one, second = statuses[one_rec.agent_id], statuses[two_rec.agent_id]
    assert (one.refused, one.conflicts, one.open_conflicts) == (0, 0, 0)
    assert (second.refused, second.conflicts, second.open_conflicts) == (1, 1, 1)


async def test_a_grant_is_kept_with_its_case_pulled_by_its_township_and_checked_at_ingest(backend: Backend) -> None:
    q_rec, q = await backend.add_agent(QIAOWA)
    p_rec, _ = await backend.add_agent(QIAOWA, "窗口2")
    w_rec, _ = await backend.add_agent(WACHANG)
    acc = q.accepted("2026-03-02")
    case_id = acc["case_id"]
    await backend.push(q_rec, [acc, q.completed(case_id, "2026-03-03")])
    grant = CorrectionGrant(grant_id=new_uuid7(), case_id=case_id, reason="核实", granted_by="admin",
                            granted_at="2026-03-04T01:00:00+00:00")
    await backend.dashboard.add_grant(grant, QIAOWA)
    assert await backend.dashboard.case_grants(case_id) == [grant]
    page = await backend.dashboard.case_page(case_id)
    assert page is not None and page.grants == [grant]
    assert (await backend.store.pull(QIAOWA, p_rec.agent_id, 0, 10)).grants == [grant]
    assert (await backend.store.pull(WACHANG, w_rec.agent_id, 0, 10)).grants == []
    fine = q.event("corrected", case_id, "2026-03-05", {"reason": "r", "channel": "online", "grant": grant.grant_id})
    forged = q.event("corrected", case_id, "2026-03-05T11:00:00+08:00",
                     {"reason": "r", "channel": "proxy", "grant": new_uuid7()})
    answer = await backend.push(q_rec, [fine, forged])
    assert [(r.event_id, r.code) for r in answer.refused] == [(forged["event_id"], "unknown_grant")]
    page = await backend.dashboard.case_page(case_id)
    assert page is not None and msgspec.json.decode(page.body, type=Case).channel == "online"
