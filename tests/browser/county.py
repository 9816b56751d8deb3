"""The real county server as a process for browser tests and dashboard screenshots: started through
`scripts.cluster`, seeded over HTTP by township agents' pushes, with a dashboard account made by the CLI."""

from __future__ import annotations

import asyncio
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from scripts.cluster import BIN, ROOT, Cluster, http_json
from tests import postgres
from tests.server.helpers import QIAOWA, TownshipAgent

ACCOUNT, PASSWORD = "admin", "县里的看板密码-2026"


class ProcessCounty:
    """What `tests.server.test_figures.load_data_set` needs of a server (add_agent, push), over real HTTP."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    async def add_agent(self, township: str = QIAOWA, name: str = "窗口1") -> TownshipAgent:
        out = json.loads(self.cluster.county("agents", "add", "--township", township, "--name", name, "--json"))
        return TownshipAgent(out["agent_id"], out["token"], out["township_code"])

    async def push(self, agent: TownshipAgent, events: list[dict[str, Any]], pending: int = 0) -> dict[str, Any]:
        for start in range(0, len(events), 2000):
            code, body = http_json("POST", f"{self.cluster.server_url}/api/v1/sync/push",
                                   {"agent_id": agent.agent_id, "events": events[start:start + 2000],
                                    "software_version": "0.1.0", "pending": pending}, token=agent.token, timeout_s=60)
            assert code == 200, body
        return body


def add_account(cluster: Cluster, name: str = ACCOUNT, password: str = PASSWORD, *roles: str) -> None:
    """An account made by the CLI; `roles`: e.g. "--role", "township_viewer", "--township", QIAOWA."""
    subprocess.run([str(BIN / "county-server"), "users", "add", "--name", name, *roles, "--password-stdin",
                    "--config", str(cluster.server_config)], input=password + "\n", text=True, check=True, cwd=ROOT,
                   capture_output=True)


def start_county(base: Path, seed: Any) -> Cluster:
    """A running county server with a dashboard account, seeded by `seed(ProcessCounty)` (a coroutine function)."""
    cluster = Cluster(base, storage=postgres.storage_section(base))
    cluster.server.start()
    add_account(cluster)
    # A thread of its own: Playwright's sync API may keep an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, seed(ProcessCounty(cluster))).result()
    return cluster


def log_in(page: Any, url: str, name: str = ACCOUNT, password: str = PASSWORD) -> None:
    page.goto(f"{url}/dashboard/")
    page.wait_for_selector("#login-form")
    page.fill("#login-name", name)
    page.fill("#login-password", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector(".cards")
    page.wait_for_selector("body[data-ready=true]")


def visit(page: Any, url: str, route: str) -> None:
    page.goto(f"{url}/dashboard/{route}")
    page.wait_for_selector("body[data-ready=true]")
