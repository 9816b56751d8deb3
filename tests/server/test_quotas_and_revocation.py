"""What one PC's token can make the county store (per-agent quotas: events and bytes per day, events waiting for their
case), revoking a PC at once and re-admitting it, and /metrics only with its token."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from click.testing import CliRunner, Result

from ops.metrics import parse
from server.accounts.agents import revoke_agent, rotate_token
from server.app import build_app
from server.cli import main
from server.config import load_config
from server.http.common import STORE
from tests import database
from tests.conftest import free_port
from tests.server.helpers import ADMIN_TOKEN, QIAOWA, CountyServer, TownshipAgent, config_text

METRICS_TOKEN = "metrics-token-0123456789"


def _config(tmp_path: Path, quotas: str = "", metrics: str = "") -> Path:
    path = tmp_path / "server.toml"
    path.write_text(config_text(tables=f"[quotas]\n{quotas}[metrics]\n{metrics}", where=tmp_path), encoding="utf-8")
    return path


@pytest.fixture
async def serve(tmp_path: Path):
    servers: list[TestServer] = []
    sessions: list[aiohttp.ClientSession] = []

    async def start(**settings: str) -> CountyServer:
        config = load_config(_config(tmp_path, **settings))
        app = await build_app(config)
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        servers.append(server)
        sessions.append(aiohttp.ClientSession())
        return CountyServer(str(server.make_url("")).rstrip("/"), app, config, sessions[-1])

    yield start
    for session in sessions:
        await session.close()
    for server in servers:
        await server.close()


async def _push(server: CountyServer, agent: TownshipAgent, events: list[dict]) -> tuple[int, dict, dict]:
    async with await server.post_push({"agent_id": agent.agent_id, "events": events}, token=agent.token) as r:
        return r.status, await r.json(), dict(r.headers)


async def test_the_daily_events_quota_refuses_pushes_with_429_until_midnight_and_keeps_what_was_stored(serve):
    server = await serve(quotas="events_per_day = 5\n")
    agent = await server.add_agent(QIAOWA)
    status, answer, _ = await _push(server, agent, [agent.accepted() for _ in range(4)])
    assert (status, answer["stored"]) == (200, 4)
    status, answer, _ = await _push(server, agent, [agent.accepted() for _ in range(3)])  # reaches it: taken whole
    assert (status, answer["stored"]) == (200, 3)
    status, answer, headers = await _push(server, agent, [agent.accepted()])
    assert status == 429 and answer["code"] == "quota_exceeded" and "7 events today" in answer["detail"]
    assert 0 < int(headers["Retry-After"]) <= 86_400
    other = await server.add_agent(QIAOWA, "窗口2")  # another PC of the same township has a quota of its own
    assert (await _push(server, other, [other.accepted()]))[0] == 200
    with database.connect(server.config) as db:
        assert db.execute("SELECT count(*) FROM events").fetchone() == (8,)
        assert db.execute("SELECT agent_id, events FROM agent_usage ORDER BY events").fetchall() == [
            (other.agent_id, 1), (agent.agent_id, 7)]


async def test_the_daily_bytes_quota_counts_decompressed_bytes(serve):
    server = await serve(quotas="bytes_per_day = 2000\n")
    agent = await server.add_agent(QIAOWA)
    status, answer, _ = await _push(server, agent, [agent.accepted() for _ in range(5)])  # ~2.5 kB of JSON
    assert status == 200
    status, answer, _ = await _push(server, agent, [])
    assert status == 429 and answer["code"] == "quota_exceeded" and "bytes today" in answer["detail"]


async def test_events_waiting_for_their_case_are_bounded_and_adopted_when_the_case_arrives(serve):
    server = await serve(quotas="orphan_events = 3\n")
    pc1, pc2 = await server.add_agent(QIAOWA, "窗口1"), await server.add_agent(QIAOWA, "窗口2")
    cases = [pc1.accepted() for _ in range(3)]
    # pc2 acts on pc1's cases before pc1 uploads them: those events wait for their case.
    orphans = [pc2.completed(c["case_id"]) for c in cases]
    status, answer, _ = await _push(server, pc2, orphans)
    assert status == 200 and answer["stored"] == 3
    status, answer, headers = await _push(server, pc2, [pc2.consulted()])
    assert status == 429 and answer["code"] == "orphan_quota" and int(headers["Retry-After"]) > 0
    assert (await _push(server, pc1, cases))[0] == 200  # the cases arrive: pc2's events are adopted
    with database.connect(server.config) as db:
        assert db.execute("SELECT count(*) FROM orphan_events").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM cases WHERE state = 'completed'").fetchone() == (3,)
    assert (await _push(server, pc2, [pc2.consulted()]))[0] == 200


async def test_quota_refusals_are_counted_in_the_metrics(serve):
    server = await serve(quotas="events_per_day = 1\n", metrics=f'token = "{METRICS_TOKEN}"\n')
    agent = await server.add_agent(QIAOWA)
    await _push(server, agent, [agent.accepted()])
    for _ in range(2):
        assert (await _push(server, agent, []))[0] == 429
    async with server.session.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}) as r:
        values = parse(await r.text())
    assert values['county_server_quota_refusals_total{quota="events"}'] == 2
    assert values['county_server_quota_refusals_total{quota="orphans"}'] == 0
    assert values["county_server_orphan_events"] == 0


async def test_metrics_need_their_token_on_the_main_address(serve):
    server = await serve(metrics=f'token = "{METRICS_TOKEN}"\n')
    await server.add_agent(QIAOWA)
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": f"Bearer {ADMIN_TOKEN}"}):
        async with server.session.get(f"{server.url}/metrics", headers=headers) as r:
            body = await r.text()
            assert r.status == 401 and "metrics_token_required" in body and QIAOWA not in body
    async with server.session.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}) as r:
        assert r.status == 200 and f'township="{QIAOWA}"' in await r.text()


async def test_without_a_token_metrics_are_only_on_their_own_loopback_listener(serve):
    port = free_port()
    server = await serve(metrics=f"port = {port}\n")
    async with server.session.get(f"{server.url}/metrics") as r:
        assert r.status == 401 and "[metrics] port" in (await r.json())["detail"]
    for path in ("/metrics", "/healthz", "/readyz"):
        async with server.session.get(f"http://127.0.0.1:{port}{path}") as r:
            assert r.status == 200, path
    async with server.session.get(f"http://127.0.0.1:{port}/api/v1/overview") as r:
        assert r.status == 404  # nothing else is served there


async def test_a_revoked_pc_is_refused_at_once_and_rotate_token_admits_it_again(county_server, qiaowa, config_file):
    assert (await county_server.push(qiaowa, [qiaowa.accepted()]))["acked_seq"] == 1
    result = await _cli("agents", "revoke", qiaowa.agent_id, "--config", str(config_file))
    assert result.exit_code == 0, result.output
    assert "rotate-token" in result.output
    status, answer, _ = await _push(county_server, qiaowa, [qiaowa.accepted()])
    assert status == 403 and answer["code"] == "agent_revoked"
    async with county_server.session.get(f"{county_server.url}/api/v1/reference",
                                         headers={"Authorization": f"Bearer {qiaowa.token}"}) as r:
        assert r.status == 403
    listed = await _cli("agents", "list", "--config", str(config_file))
    assert "revoked_at=" in listed.output
    status, agents = await county_server.get("/api/v1/agents")
    assert agents["rows"][0]["revoked_at"] and not agents["rows"][0]["is_silent"]
    # Re-admitted: a new token, the same identity and numbering; the old token stays refused.
    new_token = await rotate_token(county_server.app[STORE], qiaowa.agent_id)
    assert (await _push(county_server, qiaowa, []))[0] == 401
    qiaowa.token = new_token
    qiaowa.seq = 1
    assert (await county_server.push(qiaowa, [qiaowa.accepted()]))["acked_seq"] == 2


async def test_revoking_an_unknown_pc_says_so(county_server, config_file):
    assert not await revoke_agent(county_server.app[STORE], "513422100-000000")
    result = await _cli("agents", "revoke", "513422100-000000", "--config", str(config_file))
    assert result.exit_code == 2 and "no agent" in result.output


async def _cli(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, main, list(args))


async def test_orphans_are_adopted_when_their_case_arrives_in_a_batch_right_behind_them(serve):
    """The case's `accepted` may be folded while the batch that stored its orphans is still being written."""
    server = await serve()
    pc1, pc2 = await server.add_agent(QIAOWA, "窗口1"), await server.add_agent(QIAOWA, "窗口2")
    cases = [pc1.accepted() for _ in range(20)]
    orphans = [pc2.completed(c["case_id"]) for c in cases]
    answers = await asyncio.gather(_push(server, pc2, orphans), _push(server, pc1, cases))
    assert [a[0] for a in answers] == [200, 200]
    with database.connect(server.config) as db:
        assert db.execute("SELECT count(*) FROM orphan_events").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM cases WHERE state = 'completed'").fetchone() == (20,)
