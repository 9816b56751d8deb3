"""`county-server agents add/list` and `rollups verify/rebuild` through click, against the running test server's
database (the CLI is another process in production: here another thread with its own connections)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner, Result

from server.cli import main
from tests import database
from tests.server.helpers import QIAOWA, CountyServer, TownshipAgent


async def _cli(*args: str) -> Result:
    # The CLI runs its own event loop (asyncio.run): give it a thread.
    return await asyncio.to_thread(CliRunner().invoke, main, list(args))


async def test_agents_add_prints_a_token_that_then_works(county_server: CountyServer, config_file: Path) -> None:
    result = await _cli("agents", "add", "--township", QIAOWA + "000", "--name", "乔瓦镇 窗口2",
                        "--config", str(config_file))
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    agent_id = token.split(".", 1)[0]
    assert agent_id.startswith(QIAOWA + "-")
    agent = TownshipAgent(agent_id, token, QIAOWA)
    answer = await county_server.push(agent, [agent.accepted()])
    assert (answer["stored"], answer["acked_seq"]) == (1, 1)
    with database.connect(county_server.config) as db:
        stored = db.execute("SELECT token_sha256 FROM agents WHERE agent_id = ?", (agent_id,)).fetchone()[0]
    assert token not in stored and len(stored) == 64  # only the hash is kept
    listed = await _cli("agents", "list", "--json", "--config", str(config_file))
    [entry] = [json.loads(line) for line in listed.output.splitlines()]
    assert (entry["agent_id"], entry["acked_seq"], entry["name"]) == (agent_id, 1, "乔瓦镇 窗口2")


async def test_agents_add_refuses_an_unknown_township(config_file: Path) -> None:
    result = await _cli("agents", "add", "--township", "513422999", "--name", "x", "--config", str(config_file))
    assert result.exit_code == 2
    assert "township '513422999' is not in the county's org units" in result.output
    assert "513422100 乔瓦镇" in result.output


async def test_agents_add_json_output(config_file: Path) -> None:
    result = await _cli("agents", "add", "--township", QIAOWA, "--name", "pc", "--json", "--config",
                        str(config_file))
    body = json.loads(result.output)
    assert body["token"].startswith(body["agent_id"] + ".")
    assert body["township_code"] == QIAOWA


async def test_rollups_verify_passes_after_a_mixed_run_and_catches_a_tampered_row(
        county_server: CountyServer, qiaowa: TownshipAgent, config_file: Path) -> None:
    a, b, c, d = (qiaowa.accepted(org_code=QIAOWA + "201" if i % 2 else None) for i in range(4))
    events = [a, b, c, d, qiaowa.completed(a["case_id"]), qiaowa.evaluated(a["case_id"], rating=1),
              qiaowa.followed_up(a["case_id"]), qiaowa.rejected(b["case_id"]), qiaowa.withdrawn(c["case_id"]),
              qiaowa.consulted()]
    # Pushed in two reordered halves, the second half twice.
    await county_server.push(qiaowa, events[5:])
    await county_server.push(qiaowa, events[:5])
    await county_server.push(qiaowa, events[5:])
    ok = await _cli("rollups", "verify", "--config", str(config_file))
    assert ok.exit_code == 0, ok.output
    assert "rollups match the cases" in ok.output
    with database.connect(county_server.config) as db:
        db.execute("UPDATE rollups SET completed = completed + 1 WHERE completed > 0")
    bad = await _cli("rollups", "verify", "--config", str(config_file))
    assert bad.exit_code == 1
    assert f"{QIAOWA}000 2026-03-05 公共服务 window completed: stored=2 expected=1" in bad.output
    rebuilt = await _cli("rollups", "rebuild", "--config", str(config_file))
    assert rebuilt.exit_code == 0, rebuilt.output
    assert (await _cli("rollups", "verify", "--config", str(config_file))).exit_code == 0
    # Ingest goes on correctly on top of rebuilt rows.
    await county_server.push(qiaowa, [qiaowa.completed(d["case_id"])])
    assert (await _cli("rollups", "verify", "--config", str(config_file))).exit_code == 0
