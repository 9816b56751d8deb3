"""A township in one process: the real county app (TestServer on 127.0.0.1, a real SQLite file, or a PostgreSQL
schema under TEST_SERVER_BACKEND=postgres) and real agent apps of its PCs (each its own SQLite file and TestServer),
syncing over HTTP as in production."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from agent.app import build_app
from agent.config import config_from_dict
from tests.server.conftest import config_file, county_server, ingest_workers, server_config  # noqa: F401
from tests.server.helpers import QIAOWA, CountyServer

PC = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def township_pc(county_server: CountyServer, tmp_path: Path) -> AsyncIterator[PC]:  # noqa: F811
    """Makes a PC of a township (乔瓦镇 by default): registered at the county, its agent app running, no schedule
    (tests sync with `POST /api/sync`)."""
    clients: list[TestClient] = []

    async def make(name: str = "窗口", township: str = QIAOWA, pc_no: int | None = None,
                   county_url: str | None = None, **sync: object) -> TestClient:
        agent = await county_server.add_agent(township, name=name)
        n = len(clients) + 1
        config = config_from_dict(
            {"agent": {"database": f"pc{n}.sqlite3", "port": 8700, "pc_no": pc_no or n},
             "county": {"url": county_url or county_server.url, "token": agent.token, "timeout_s": 5.0},
             "sync": {"attempts": 2, "backoff_initial_s": 0.01, "backoff_max_s": 0.05, **sync}},
            tmp_path / f"pc{n}.toml")
        client = TestClient(TestServer(build_app(config, run_schedule=False), host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()
