"""The agent as systemd runs it: READY after the socket opens, watchdog pings, health and metrics, SIGTERM with staff
actions in flight loses nothing and half-applies nothing, and a backup taken while it runs restores every case."""

from __future__ import annotations

import asyncio
import signal
import sqlite3

import aiohttp
import pytest

from ops.metrics import parse
from tests.agent.conftest import TOKEN, accept_form
from tests.e2e.processes import agent_config_file, cli, seed_agent_database, start

pytestmark = pytest.mark.e2e


@pytest.fixture
def agent(tmp_path):
    config, port = agent_config_file(tmp_path)
    seed_agent_database(tmp_path / "agent.sqlite3")
    service = start("township-agent", config, tmp_path, port, watchdog_s=1.0)
    try:
        service.wait_ready()
        yield service
    finally:
        service.close()


def consistent(database) -> tuple[int, int]:
    """Every case has its accepted event and every event its case; returns (cases, events)."""
    db = sqlite3.connect(database)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        cases = {r[0] for r in db.execute("SELECT case_id FROM cases")}
        accepted = {r[0] for r in db.execute("SELECT case_id FROM outbox WHERE kind = 'accepted'")}
        assert cases == accepted
        seqs = [r[0] for r in db.execute("SELECT seq FROM outbox ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1))  # gap-free
        return len(cases), len(seqs)
    finally:
        db.close()


async def test_ready_comes_after_the_port_opens_and_the_watchdog_pings(agent):
    async with aiohttp.ClientSession() as s:
        async with s.get(agent.url + "/healthz") as resp:
            assert resp.status == 200
        async with s.get(agent.url + "/readyz") as resp:
            assert resp.status == 200
            assert (await resp.json())["status"] == "ready"
    agent.read_notify(1.2)
    assert agent.messages[0].startswith("READY=1")
    assert agent.messages.count("WATCHDOG=1") >= 2


async def test_metrics_show_pending_events_and_that_sync_failed(agent):
    async with aiohttp.ClientSession() as s:
        async with s.post(agent.url + "/api/cases", json=accept_form()) as r:
            assert r.status == 201
        async with s.post(agent.url + "/api/sync", json={}) as r:
            await r.read()
        async with s.get(agent.url + "/metrics") as resp:
            assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            values = parse(await resp.text())
    assert values["township_agent_pending_events"] == 1
    assert values["township_agent_sync_failures_total"] >= 1
    assert values["township_agent_last_sync_age_seconds"] == float("inf")
    assert values["township_agent_identity_retired"] == 0


async def test_sigterm_while_staff_actions_are_in_flight_loses_and_half_applies_nothing(agent, tmp_path):
    saved: list[str] = []
    enough = asyncio.Event()

    async def staff(session: aiohttp.ClientSession) -> None:
        while True:
            try:
                async with session.post(agent.url + "/api/cases", json=accept_form()) as resp:
                    if resp.status == 201:
                        saved.append((await resp.json())["case_id"])
                        if len(saved) >= 40:
                            enough.set()
            except (aiohttp.ClientError, OSError):
                return

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
        writers = [asyncio.create_task(staff(session)) for _ in range(8)]
        await asyncio.wait_for(enough.wait(), 30)
        agent.proc.send_signal(signal.SIGTERM)
        await asyncio.gather(*writers)
    assert agent.proc.wait(30) == 0
    agent.read_notify(0.2)
    assert any(m.startswith("STOPPING=1") for m in agent.messages)
    cases, events = consistent(tmp_path / "agent.sqlite3")
    db = sqlite3.connect(tmp_path / "agent.sqlite3")
    stored = {r[0] for r in db.execute("SELECT case_id FROM cases")}
    db.close()
    assert set(saved) <= stored  # every "saved" the page saw is on disk
    assert cases == events >= len(saved)
    out = agent.output()
    assert "stopping signal=SIGTERM" in out and "agent stopped" in out


async def test_a_backup_taken_while_running_restores_every_case_and_retires_the_identity(agent, tmp_path):
    async with aiohttp.ClientSession() as s:
        ids = [(await (await s.post(agent.url + "/api/cases", json=accept_form())).json())["case_id"]
               for _ in range(25)]
        result = cli("township-agent", "backup", "--config", str(agent.config), "--to", str(tmp_path / "b.sqlite3"))
        assert result.returncode == 0, result.stderr
        assert "25 cases" in result.stdout
        # Work goes on after the backup; a restore loses it (and the county's copy tells staff what it was).
        await s.post(agent.url + "/api/cases", json=accept_form())

        refused = cli("township-agent", "restore", "--config", str(agent.config), "--from", str(tmp_path / "b.sqlite3"))
        assert refused.returncode == 1
        assert "in use" in refused.stderr

    assert agent.terminate() < 30
    restored = cli("township-agent", "restore", "--config", str(agent.config), "--from", str(tmp_path / "b.sqlite3"))
    assert restored.returncode == 0, restored.stderr
    assert "county-server agents add" in restored.stdout
    db = sqlite3.connect(tmp_path / "agent.sqlite3")
    assert {r[0] for r in db.execute("SELECT case_id FROM cases")} == set(ids)
    meta = dict(db.execute("SELECT key, value FROM meta"))
    db.close()
    assert TOKEN.split(".")[0] in meta["identity_retired"]

    doctor = cli("township-agent", "doctor", "--config", str(agent.config))
    assert doctor.returncode == 1
    assert "register this PC again" in doctor.stdout
    assert "cannot reach the county server" in doctor.stdout


def test_a_second_agent_on_the_same_database_refuses_to_start(agent, tmp_path):
    second = cli("township-agent", "run", "--config", str(agent.config))
    assert second.returncode == 1
    assert "in use by township-agent run" in second.stderr
