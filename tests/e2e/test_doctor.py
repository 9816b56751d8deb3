"""`doctor` against a real county server: a good token passes, a wrong one fails with what to do."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import wait_synced
from tests.e2e.processes import cli

pytestmark = pytest.mark.e2e


def test_agent_doctor_passes_with_a_good_token_and_names_the_fix_for_a_bad_one(cluster):
    cluster.server.start()
    agent = cluster.add_agent("pc1")
    agent.start()
    wait_synced(cluster.agent_url("pc1"))
    before = cli("township-agent", "doctor", "--config", str(agent.config), "--json")
    assert '"name": "staff"' in before.stdout and "staff add" in before.stdout  # no one can sign in yet
    added = cli("township-agent", "staff", "add", "--config", str(agent.config), "--id", "L01", "--name", "卓玛",
                "--lead", "--secret", "274915")  # beside the running agent, as on a PC
    assert added.returncode == 0, added.stdout
    # Sign-in is now required; the command line still works, with the agent's operations token.
    status = cli("township-agent", "status", "--config", str(agent.config))
    assert status.returncode == 0 and "pending" in status.stdout, status.stdout + status.stderr
    token = agent.config.parent / "agent-pc1.sqlite3.ops-token"
    saved = token.read_text()
    token.unlink()
    refused = cli("township-agent", "status", "--config", str(agent.config))
    assert refused.returncode == 2 and "operations token" in refused.stderr
    token.write_text(saved)
    good = cli("township-agent", "doctor", "--config", str(agent.config))
    assert good.returncode == 0, good.stdout
    assert "1 staff member(s) can sign in, 1 lead(s)" in good.stdout
    assert "the county accepts this PC's token" in good.stdout
    assert "township-agent is running" in good.stdout
    assert good.stdout.rstrip().endswith("all checks passed")

    text = agent.config.read_text(encoding="utf-8")
    agent.config.write_text(re.sub(r'token = "([^.]*)\.[^"]*"', r'token = "\1.wrong-secret"', text), encoding="utf-8")
    bad = cli("township-agent", "doctor", "--config", str(agent.config), "--json")
    assert bad.returncode == 1
    assert '"name": "token"' in bad.stdout and "county-server agents add" in bad.stdout


def test_server_doctor_says_when_the_server_is_not_running(cluster):
    stopped = cli("county-server", "doctor", "--config", str(cluster.server_config))
    # A warning, not a failure, whichever the backend (PostgreSQL has no lock file: nothing listens at the port).
    assert re.search(r"^WARN running +county-server is not running", stopped.stdout, re.M), stopped.stdout
    assert stopped.returncode == 0, stopped.stdout
    cluster.server.start()
    running = cli("county-server", "doctor", "--config", str(cluster.server_config))
    assert running.returncode == 0, running.stdout
    assert "running and ready" in running.stdout
