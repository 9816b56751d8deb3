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
    async with aiohttp.ClientSession() as s:
        for _ in range(5):
            assert (await s.post(agent.url + "/api/cases", json=accept_form())).status == 201
        assert (await s.post(agent.url + "/api/sync")).status == 200  # HTTP client, gzip, retries
        assert (await s.get(agent.url + "/metrics")).status == 200
        assert (await s.get(agent.url + "/")).status in (200, 302)
    assert agent.terminate() < 30
    assert agent.proc.returncode == 0, agent.output()
