"""Fixtures of the server tests: a real config file, the real aiohttp app on 127.0.0.1 (TestServer, port 0) over a
real SQLite file under tmp_path, and township agents that build wire events and push them gzip-compressed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from server.app import build_app
from server.config import ServerConfig, load_config
from tests import postgres
from tests.server.helpers import ADMIN_TOKEN, METRICS_TOKEN, QIAOWA, REPO, CountyServer, TownshipAgent


@pytest.fixture
def ingest_workers() -> int:
    """In the server process by default: quick to start, and a test may patch what ingest calls. Tests of pushes
    run with worker processes too (they override this fixture)."""
    return 0


@pytest.fixture
def config_file(tmp_path: Path, ingest_workers: int) -> Path:
    path = tmp_path / "server.toml"
    path.write_text(
        "[server]\n"
        f'admin_token = "{ADMIN_TOKEN}"\n'
        'database = "county.sqlite3"\n'
        "max_body_bytes = 262144\n"
        f"ingest_workers = {ingest_workers}\n"
        "[reference]\n"
        f'org_units = "{REPO / "config" / "org_units.csv"}"\n'
        f'catalog = "{REPO / "config" / "catalog.csv"}"\n'
        f'[metrics]\ntoken = "{METRICS_TOKEN}"\n' + postgres.storage_section(tmp_path),
        encoding="utf-8")
    return path


@pytest.fixture
def server_config(config_file: Path) -> ServerConfig:
    return load_config(config_file)


@pytest.fixture
async def county_server(server_config: ServerConfig) -> AsyncIterator[CountyServer]:
    app = await build_app(server_config)
    async with TestServer(app, host="127.0.0.1", port=0) as server, aiohttp.ClientSession() as session:
        yield CountyServer(str(server.make_url("")).rstrip("/"), app, server_config, session)


@pytest.fixture
async def qiaowa(county_server: CountyServer) -> TownshipAgent:
    """An agent of 乔瓦镇 513422100."""
    return await county_server.add_agent(QIAOWA)
