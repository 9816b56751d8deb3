"""The search box: case number, part of a name, certificate number or its last 4 characters, phone; full-width
digits typed through a Chinese input method find the same cases."""

from __future__ import annotations

from urllib.parse import quote

from agent.search import CaseQuery, case_query
from tests.agent.conftest import VALID_ID, accept_form

OTHER_ID = "513422199001011232"


def test_what_is_typed_is_folded_and_read_as_the_fields_it_may_mean():
    assert case_query("  ") is None
    assert case_query("１１０１０５ １９４９１２３１ ００２ｘ") == CaseQuery(text="110105 19491231 002x", cert=VALID_ID,
                                                                      phone=None)
    assert case_query("002x") == CaseQuery(text="002x", cert="002X", last4="002X")
    assert case_query("+86 138-0000-0000").phone == "13800000000"
    assert case_query("0834-1234567").phone == "08341234567"
    assert case_query("扎西").last4 is None and case_query("扎西").phone is None


async def _search(client, typed: str) -> list[str]:
    body = await (await client.get(f"/api/cases?q={quote(typed)}")).json()
    return sorted(c["applicant_name"] for c in body["cases"])


async def test_the_search_finds_a_case_by_every_thing_a_resident_may_quote(agent_client):
    first = await (await agent_client.post("/api/cases", json=accept_form(applicant_name="扎西卓玛"))).json()
    second = await agent_client.post("/api/cases", json=accept_form(applicant_name="次仁", cert_no=OTHER_ID,
                                                                    phone="０８３４－１２３４５６７"))
    assert second.status == 201, await second.text()
    assert await _search(agent_client, "卓玛") == ["扎西卓玛"]
    assert await _search(agent_client, first["case_no"]) == ["扎西卓玛"]
    full_width_case_no = "".join(chr(ord(c) + 0xFEE0) for c in first["case_no"])
    assert await _search(agent_client, full_width_case_no) == ["扎西卓玛"]
    assert await _search(agent_client, "11010519491231002x") == ["扎西卓玛"]
    assert await _search(agent_client, "１１０１０５１９４９１２３１００２Ｘ") == ["扎西卓玛"]
    assert await _search(agent_client, "002x") == ["扎西卓玛"]  # the last 4 of the ID number
    assert await _search(agent_client, "１２３２") == ["次仁"]
    assert await _search(agent_client, "138 0000 0000") == ["扎西卓玛"]
    assert await _search(agent_client, "１３８００００００００") == ["扎西卓玛"]
    assert await _search(agent_client, "08341234567") == ["次仁"]  # stored as 0834-1234567, folded
    assert await _search(agent_client, "9999") == []
