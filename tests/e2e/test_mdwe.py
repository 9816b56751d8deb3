"""MemoryDenyWriteExecute=yes is safe for our programs: they run their real work under the kernel's own MDWE."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.agent.conftest import accept_form
from tests.e2e.processes import agent_config_file, seed_agent_database, start

pytestmark = pytest.mark.e2e
WRAPPER = [sys.executable, str(Path(__file__).with_name("mdwe_exec.py"))]


@pytest.fixture(scope="module")
def mdwe_available():
    probe = subprocess.run([*WRAPPER, sys.executable, "-c",
                            "import mmap\ntry:\n mmap.mmap(-1, 4096, prot=7)\nexcept OSError:\n print('refused')"],
                           capture_output=True, text=True)
    if probe.returncode == 3:
        pytest.skip(probe.stderr.strip())
    assert probe.stdout.strip() == "refused"  # the wrapper really turns MDWE on


@pytest.fixture
def agent_under_mdwe(mdwe_available, tmp_path):
    config, port = agent_config_file(tmp_path)
    seed_agent_database(tmp_path / "agent.sqlite3")
    agent = start("township-agent", config, tmp_path, port, preexec=WRAPPER)
    try:
        agent.wait_ready()
        yield agent
    finally:
        agent.close()


async def test_the_agent_serves_writes_and_syncs_under_mdwe(agent_under_mdwe):
    agent = agent_under_mdwe
    # Every response is read and released inside its `async with`: an unreleased one is collected later as an
    # "Unclosed connection" warning that fails whichever test happens to run then.
    async with aiohttp.ClientSession() as s:
        for _ in range(5):
            async with s.post(agent.url + "/api/cases", json=accept_form()) as r:
                assert r.status == 201
        async with s.post(agent.url + "/api/sync", json={}) as r:
            assert r.status == 200  # HTTP client, gzip, retries
        async with s.get(agent.url + "/metrics") as r:
            assert r.status == 200
        async with s.get(agent.url + "/") as r:
            assert r.status in (200, 302)
    assert agent.terminate() < 30
    assert agent.proc.returncode == 0, agent.output()


async def test_the_county_server_ingests_and_answers_under_mdwe(mdwe_available, tmp_path):
    import gzip
    import json

    from scripts.cluster import Cluster
    from tests import postgres
    from tests.server.helpers import TownshipAgent

    cluster = Cluster(tmp_path / "county", storage=postgres.storage_section(tmp_path))
    body = json.loads(cluster.county("agents", "add", "--township", "513422100", "--name", "pc", "--json"))
    agent = TownshipAgent(body["agent_id"], body["token"], "513422100")
    server = start("county-server", cluster.server_config, tmp_path, cluster.server_port, preexec=WRAPPER)
    try:
        server.wait_ready()
        events = [agent.accepted(item_code="GG-0003") for _ in range(50)]
        payload = gzip.compress(json.dumps({"agent_id": agent.agent_id, "events": events}).encode())
        headers = {"Authorization": f"Bearer {agent.token}", "Content-Encoding": "gzip",
                   "Content-Type": "application/json"}
        async with aiohttp.ClientSession() as s:
            async with s.post(f"{server.url}/api/v1/sync/push", data=payload, headers=headers) as resp:
                assert resp.status == 200
                assert (await resp.json())["stored"] == 50
            async with s.get(f"{server.url}/api/v1/reference", headers=headers) as resp:  # calendar, argon2 auth
                assert resp.status == 200
            async with s.get(f"{server.url}/metrics",
                             headers={"Authorization": f"Bearer {cluster.metrics_token}"}) as resp:
                assert resp.status == 200
        assert server.terminate() < 30
        assert server.proc.returncode == 0, server.output()
    finally:
        server.close()
