"""The county server as systemd runs it: READY after listen, watchdog pings, /readyz and /metrics, SIGTERM with
pushes in flight (each batch stored whole or not at all), and a backup taken under load that restores every case
(SQLite's `backup`/`restore`, or PostgreSQL's `storage backup`/`storage restore` under TEST_SERVER_BACKEND)."""

from __future__ import annotations

import asyncio
import gc
import gzip
import json
import signal
import sqlite3
from contextlib import closing
from pathlib import Path

import aiohttp
import pytest

from ops.metrics import parse
from scripts.cluster import Cluster
from server.config import ServerConfig, load_config
from tests import database, postgres
from tests.e2e.processes import cli, start
from tests.server.helpers import TownshipAgent, backup_args, backup_name, config_text, restore_args

pytestmark = pytest.mark.e2e
TOWNSHIP = "513422100"
STOP_LIMIT_S = 30  # the units' TimeoutStopSec


@pytest.fixture
def county(tmp_path):
    cluster = Cluster(tmp_path / "county", storage=postgres.storage_section(tmp_path))
    agents = []
    for n in range(4):
        out = cluster.county("agents", "add", "--township", TOWNSHIP, "--name", f"pc{n}", "--json")
        body = json.loads(out)
        agents.append(TownshipAgent(body["agent_id"], body["token"], TOWNSHIP))
    server = start("county-server", cluster.server_config, tmp_path, cluster.server_port, watchdog_s=1.0)
    try:
        server.wait_ready()
        yield cluster, server, agents
    finally:
        server.close()


def batches_of(agent: TownshipAgent, count: int, size: int) -> list[list[dict]]:
    return [[agent.accepted(item_code="GG-0003") for _ in range(size)] for _ in range(count)]


async def push(session: aiohttp.ClientSession, url: str, agent: TownshipAgent, events: list[dict]) -> int:
    body = gzip.compress(json.dumps({"agent_id": agent.agent_id, "events": events}).encode())
    async with session.post(f"{url}/api/v1/sync/push", data=body, headers={
            "Authorization": f"Bearer {agent.token}", "Content-Type": "application/json",
            "Content-Encoding": "gzip"}) as resp:
        await resp.read()
        return resp.status


def stored_ids(cluster: Cluster) -> set[str]:
    with database.connect(cluster.server_config, readonly=True) as db:
        return {r[0] for r in db.execute("SELECT event_id FROM events")}


def case_ids(config: ServerConfig) -> set[str]:
    with database.connect(config, readonly=True) as db:
        return {r[0] for r in db.execute("SELECT case_id FROM cases")}


def backup_held(config: ServerConfig, backup: Path, where: Path) -> set[str]:
    """The cases a backup holds: the SQLite file's, or on PostgreSQL those of the dump restored into a new database
    (a dump restores into the schema it came from)."""
    if config.storage_backend == "sqlite":
        with closing(sqlite3.connect(backup)) as db:
            return {r[0] for r in db.execute("SELECT case_id FROM cases")}
    dsn = postgres.in_new_database(config.postgres_dsn, where)
    where.mkdir()
    path = where / "server.toml"
    path.write_text(config_text() + f'[storage]\nbackend = "postgres"\ndsn = "{dsn}"\n', encoding="utf-8")
    elsewhere = load_config(path)
    restored = cli("county-server", *restore_args(elsewhere, backup))
    assert restored.returncode == 0, restored.stderr
    return case_ids(elsewhere)


async def test_ready_watchdog_readyz_and_metrics(county):
    cluster, server, agents = county
    async with aiohttp.ClientSession() as s:
        assert await push(s, server.url, agents[0], batches_of(agents[0], 1, 20)[0]) == 200
        bad = dict(agents[0].accepted(), seq=1)  # seq 1 again, with another event_id
        assert await push(s, server.url, agents[0], [bad]) == 200
        async with s.get(server.url + "/readyz") as resp:
            assert resp.status == 200
        metrics_auth = {"Authorization": f"Bearer {cluster.metrics_token}"}
        async with s.get(server.url + "/metrics", headers=metrics_auth) as resp:
            values = parse(await resp.text())
    assert values['county_server_ingest_events_total{result="stored"}'] == 20
    assert values['county_server_refused_events_total{code="seq_reused"}'] == 1
    assert values["county_server_ingest_batches_total"] == 2
    assert values["county_server_agents"] == 4
    assert values['county_server_agents_silent{threshold_s="86400"}'] == 3  # never pushed
    assert values['county_server_requests_total{route="/api/v1/sync/push",status="200"}'] == 2
    server.read_notify(1.2)
    assert server.messages[0].startswith("READY=1")
    assert server.messages.count("WATCHDOG=1") >= 2


# Requests cut by the shutdown leave aiohttp client connections in reference cycles; the garbage collector closes
# them, whenever it runs, with a ResourceWarning. That is the test client's bookkeeping, not the server's.
@pytest.mark.filterwarnings("ignore:Unclosed connection:ResourceWarning")
async def test_sigterm_with_pushes_in_flight_stores_each_batch_whole_or_not_at_all(county):
    cluster, server, agents = county
    planned = {a.agent_id: batches_of(a, 6, 800) for a in agents}
    answered: list[list[dict]] = []
    first_answer = asyncio.Event()

    async def pc(session: aiohttp.ClientSession, agent: TownshipAgent) -> None:
        for batch in planned[agent.agent_id]:
            try:
                if await push(session, server.url, agent, batch) == 200:
                    answered.append(batch)
                    first_answer.set()
            except (aiohttp.ClientError, OSError):
                return

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        pcs = [asyncio.create_task(pc(session, a)) for a in agents]
        await asyncio.wait_for(first_answer.wait(), 60)
        server.proc.send_signal(signal.SIGTERM)
        await asyncio.gather(*pcs)
        assert await asyncio.to_thread(server.proc.wait, STOP_LIMIT_S) == 0
    gc.collect()  # see the filterwarnings mark
    server.read_notify(0.2)
    assert any(m.startswith("STOPPING=1") for m in server.messages)
    assert "server stopped" in server.output()

    ids = stored_ids(cluster)
    everything = [b for batches in planned.values() for b in batches]
    whole = [b for b in everything if {e["event_id"] for e in b} <= ids]
    assert all(not {e["event_id"] for e in b} & ids for b in everything if b not in whole)  # none half-applied
    assert all(b in whole for b in answered)  # an answered batch is stored
    assert len(whole) < len(everything)  # the stop came in the middle
    verify = await asyncio.to_thread(cli, "county-server", "rollups", "verify", "--config", str(cluster.server_config))
    assert verify.returncode == 0, verify.stdout + verify.stderr

    # After a restart, the PCs send everything again: what was stored counts as duplicates.
    again = start("county-server", cluster.server_config, cluster.base, cluster.server_port)
    try:
        again.wait_ready()
        async with aiohttp.ClientSession() as session:
            for agent in agents:
                for batch in planned[agent.agent_id]:
                    assert await push(session, again.url, agent, batch) == 200
    finally:
        again.close()
    assert len(stored_ids(cluster)) == sum(len(b) for b in everything)


async def test_a_backup_under_load_restores_every_case_and_restore_refuses_a_running_server(county, tmp_path):
    cluster, server, agents = county
    config = load_config(cluster.server_config)
    backup = tmp_path / backup_name(config)
    async with aiohttp.ClientSession() as session:
        for batch in batches_of(agents[0], 3, 200):
            assert await push(session, server.url, agents[0], batch) == 200
        load = asyncio.gather(*(push(session, server.url, a, b) for a in agents[1:] for b in batches_of(a, 2, 300)))
        made = await asyncio.to_thread(cli, "county-server", *backup_args(config, backup))
        await load
    assert made.returncode == 0, made.stderr
    cases_in_backup = backup_held(config, backup, tmp_path / "backup-read")
    assert len(cases_in_backup) >= 600
    live = case_ids(config)
    assert live >= cases_in_backup  # the backup is of one moment of the database

    refused = cli("county-server", *restore_args(config, backup))
    assert refused.returncode == 1 and "restore refused" in refused.stderr and "in use" in refused.stderr
    assert case_ids(config) == live  # nothing restored
    doctor = cli("county-server", "doctor", "--config", str(cluster.server_config))
    assert "county-server is running and ready" in doctor.stdout, doctor.stdout

    server.terminate()
    restored = cli("county-server", *restore_args(config, backup))
    assert restored.returncode == 0, restored.stderr
    assert case_ids(config) == cases_in_backup
    verify = cli("county-server", "rollups", "verify", "--config", str(cluster.server_config))
    assert verify.returncode == 0, verify.stdout + verify.stderr
