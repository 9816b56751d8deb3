"""The pull over real HTTP (`/api/v1/sync/pull`): strictly the township's other PCs' events, in the order stored, by
cursor, gzip, resumable; the digest on the last batch; conflicts on the dashboard and in /metrics."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from ops.metrics import parse
from protocol.causal import township_digest
from tests import database
from tests.server.helpers import (
    ADMIN_TOKEN,
    METRICS_TOKEN,
    QIAOWA,
    WACHANG,
    CountyServer,
    TownshipAgent,
    push_conflict,
)

METRICS = {"Authorization": f"Bearer {METRICS_TOKEN}"}


async def pull(server: CountyServer, agent: TownshipAgent, cursor: str = "", limit: int = 1000,
               status: int = 200) -> dict[str, Any]:
    async with server.session.post(f"{server.url}/api/v1/sync/pull", json={"cursor": cursor, "limit": limit},
                                   headers={"Authorization": f"Bearer {agent.token}"}) as r:
        assert r.status == status, await r.text()
        return await r.json()


async def test_a_pc_pulls_only_the_other_pcs_of_its_own_township_in_the_order_stored_by_cursor(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    other = await county_server.add_agent(QIAOWA, "窗口2")
    stranger = await county_server.add_agent(WACHANG, "瓦厂")
    acc = qiaowa.accepted()
    mine = [acc, qiaowa.completed(acc["case_id"]), qiaowa.evaluated(acc["case_id"]), qiaowa.consulted()]
    await county_server.push(qiaowa, mine)
    theirs = stranger.accepted(org_code=WACHANG + "000")
    await county_server.push(stranger, [theirs])
    first = await pull(county_server, other, limit=2)
    rest = await pull(county_server, other, first["cursor"], limit=2)
    done = await pull(county_server, other, rest["cursor"])
    own = await pull(county_server, qiaowa)
    strange = await pull(county_server, stranger)
    assert [e["event_id"] for e in first["events"] + rest["events"]] == [e["event_id"] for e in mine[:3]]
    assert (first["has_more"], rest["has_more"]) == (True, False)  # the consultation is no case: never pulled
    assert "digest" not in first and rest["digest"] == done["digest"] == "1-" + rest["digest"].split("-")[1]
    assert done["events"] == [] and done["cursor"] == rest["cursor"]
    assert own["events"] == []  # its own events it has
    assert [e["event_id"] for e in strange["events"]] == []  # another township's never
    assert first["events"][0]["agent_id"] == qiaowa.agent_id and "parents" not in first["events"][0]
    assert {a["name"] for a in first["agents"]} == {"窗口1", "窗口2"}
    with database.connect(county_server.config) as db:
        n, total = db.execute("SELECT count(*), sum(digest) FROM cases WHERE township_code = ?", (QIAOWA,)).fetchone()
    assert rest["digest"] == township_digest(n, total)


async def test_the_pull_is_gzip_and_get_answers_as_post_does(county_server: CountyServer,
                                                            qiaowa: TownshipAgent) -> None:
    other = await county_server.add_agent(QIAOWA, "窗口2")
    await county_server.push(qiaowa, [qiaowa.accepted() for _ in range(30)])
    url = f"{county_server.url}/api/v1/sync/pull"
    async with county_server.session.get(url, params={"limit": "30"}, auto_decompress=False, headers={
            "Authorization": f"Bearer {other.token}", "Accept-Encoding": "gzip"}) as r:
        raw = await r.read()
        assert r.headers["Content-Encoding"] == "gzip"
    answer = json.loads(gzip.decompress(raw))
    posted = await pull(county_server, other, limit=30)
    assert len(raw) < len(json.dumps(answer)) / 3
    assert [e["event_id"] for e in answer["events"]] == [e["event_id"] for e in posted["events"]]


async def test_a_cursor_of_another_stream_starts_again_and_a_forged_one_is_refused(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    other = await county_server.add_agent(QIAOWA, "窗口2")
    await county_server.push(qiaowa, [qiaowa.accepted()])
    restored = await pull(county_server, other, "0123456789abcdef.99")  # the database was restored since
    bad = await pull(county_server, other, "not a cursor", status=422)
    assert restored["reset"] is True and len(restored["events"]) == 1
    assert bad["code"] == "bad_cursor"


async def test_conflicts_are_on_the_dashboard_and_in_the_metrics_and_the_pc_health_page_says_who_is_behind(
        county_server: CountyServer) -> None:
    accepted, completed, withdrawn = await push_conflict(county_server)
    status, listed = await county_server.get(f"/api/v1/conflicts?org={QIAOWA}")
    _, settled = await county_server.get(f"/api/v1/conflicts?org={QIAOWA}&state=settled")
    _, elsewhere = await county_server.get(f"/api/v1/conflicts?org={WACHANG}")
    bad, _ = await county_server.get("/api/v1/conflicts?state=maybe")
    assert status == 200 and bad == 422
    (row,) = listed["rows"]
    assert (row["event_id"], row["kind_label"], row["lost_to"], row["lost_to_kind_label"], row["is_open"]) == (
        withdrawn["event_id"], "撤回", completed["event_id"], "办结", True)
    assert row["agent_name"] == "窗口2" and row["lost_to_agent_name"] == "窗口1" and row["case_no"]
    assert settled["total"] == 0 and elsewhere["total"] == 0
    async with county_server.session.get(f"{county_server.url}/metrics", headers=METRICS) as r:
        metrics = parse(await r.text())
    assert metrics[f'county_server_conflicts{{state="open",township="{QIAOWA}"}}'] == 1
    assert metrics['county_server_agents_by_protocol{protocol="1"}'] == 2
    _, agents = await county_server.get("/api/v1/agents")
    loser = next(a for a in agents["rows"] if a["name"] == "窗口2")
    assert (loser["open_conflicts"], loser["protocol_version"], loser["pull_lag"]) == (1, 1, None)


async def test_a_push_acknowledges_the_pull_and_says_the_protocol_and_the_agreement(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    other = await county_server.add_agent(QIAOWA, "窗口2")
    await county_server.push(qiaowa, [qiaowa.accepted(), qiaowa.accepted()])
    answer = await pull(county_server, other, limit=1)
    await county_server.push(other, [], protocol_version=2, pull_cursor=answer["cursor"], digest_agrees=False)
    _, agents = await county_server.get("/api/v1/agents")
    row = next(a for a in agents["rows"] if a["agent_id"] == other.agent_id)
    assert (row["protocol_version"], row["pull_lag"], row["digest_agrees"]) == (2, 1, False)
    async with county_server.session.get(f"{county_server.url}/metrics", headers=METRICS) as r:
        metrics = parse(await r.text())
    assert metrics['county_server_agents_by_protocol{protocol="2"}'] == 1
    assert metrics["county_server_agents_digest_differs"] == 1


@pytest.mark.parametrize("ingest_workers", [2], ids=["2-workers"])
async def test_the_pull_reads_what_ingest_workers_wrote(county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    other = await county_server.add_agent(QIAOWA, "窗口2")
    events = [qiaowa.accepted() for _ in range(5)]
    await county_server.push(qiaowa, events)
    answer = await pull(county_server, other)
    assert [e["event_id"] for e in answer["events"]] == [e["event_id"] for e in events]
    status, body = await county_server.get("/api/v1/conflicts", token=ADMIN_TOKEN)
    assert status == 200 and body["total"] == 0
