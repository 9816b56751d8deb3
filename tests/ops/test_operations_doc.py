"""docs/operations.md names every metric both programs export (read from their real /metrics pages) and every
command of both CLIs."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import click
import pytest
from aiohttp.test_utils import TestClient, TestServer

from agent.app import build_app as build_agent
from agent.cli import main as agent_cli
from agent.config import config_from_dict as agent_config
from server.app import build_app as build_server
from server.cli import main as server_cli
from server.config import config_from_dict as server_config

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


METRICS_TOKEN = "metrics-token-0123456789"  # the server's /metrics needs it; the agent's ignores it


async def _scrape(app_factory) -> str:
    async with TestClient(TestServer(await app_factory(), host="127.0.0.1")) as client:
        assert (await client.get("/readyz")).status == 200
        resp = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert resp.status == 200
        return await resp.text()


def exported_metrics(base: Path) -> dict[str, set[str]]:
    """program -> the metric families its /metrics page declares (`# TYPE` lines), from a fresh app of each."""

    async def agent():
        return build_agent(agent_config({"county": {"url": "http://127.0.0.1:9", "token": "513422100-a1.secret"}},
                                        base / "agent.toml"), run_schedule=False)

    async def server():
        return await build_server(server_config(
            {"server": {"admin_token": "0123456789abcdef", "ingest_workers": 0},
             "reference": {"org_units": str(ROOT / "config" / "org_units.csv"),
                           "catalog": str(ROOT / "config" / "catalog.csv")},
             "metrics": {"token": METRICS_TOKEN}}, base / "server.toml"))

    async def both() -> dict[str, set[str]]:
        return {name: set(re.findall(r"^# TYPE (\S+) ", await _scrape(factory), re.M))
                for name, factory in (("township_agent", agent), ("county_server", server))}

    return asyncio.run(both())


@pytest.fixture(scope="module")
def metrics(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    return exported_metrics(tmp_path_factory.mktemp("metrics"))


def commands(group: click.Group, prefix: str) -> list[str]:
    out = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out += commands(command, f"{prefix} {name}")
        else:
            out.append(f"{prefix} {name}")
    return out


def test_both_programs_export_their_metrics_and_latency_histograms(metrics: dict[str, set[str]]) -> None:
    assert len(metrics["township_agent"]) >= 10 and len(metrics["county_server"]) >= 15
    for program, names in metrics.items():
        assert all(name.startswith(program + "_") for name in names), names
        assert f"{program}_http_request_duration_seconds" in names
    assert {"county_server_push_batch_duration_seconds", "county_server_dashboard_query_duration_seconds",
            "county_server_requests_total"} <= metrics["county_server"]


def test_every_metric_is_explained(metrics: dict[str, set[str]]) -> None:
    missing = sorted(name for names in metrics.values() for name in names if f"`{name}" not in DOC)
    assert missing == []


@pytest.mark.parametrize("command", commands(agent_cli, "township-agent") + commands(server_cli, "county-server"))
def test_every_command_is_documented(command):
    assert command in DOC
