"""Rotating an agent's token: same identity and seqs, the old token refused from the next request on."""

from __future__ import annotations

from server.accounts.agents import rotate_token
from server.http.common import STORE


async def test_a_rotated_token_keeps_the_identity_and_the_old_one_stops_working_at_once(county_server, qiaowa):
    first = await county_server.push(qiaowa, [qiaowa.accepted()])
    assert first["acked_seq"] == 1
    new_token = await rotate_token(county_server.app[STORE], qiaowa.agent_id)
    assert new_token is not None and new_token.startswith(qiaowa.agent_id + ".")

    old = await county_server.post_push({"agent_id": qiaowa.agent_id, "events": [qiaowa.accepted()]},
                                        token=qiaowa.token)
    assert old.status == 401
    qiaowa.seq -= 1  # that event was never stored
    qiaowa.token = new_token
    second = await county_server.push(qiaowa, [qiaowa.accepted()])
    assert second["acked_seq"] == 2 and second["stored"] == 1


async def test_rotating_an_unknown_agent_says_so(county_server):
    assert await rotate_token(county_server.app[STORE], "513422100-000000") is None
