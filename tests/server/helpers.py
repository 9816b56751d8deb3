"""Shared helpers of the server tests (fixtures are in conftest.py): wire-event builders and an HTTP client of the
county server."""

from __future__ import annotations

import gzip
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from protocol.ids import new_uuid7
from server.accounts.agents import register_agent, register_unit_agent
from server.app import build_app
from server.config import ServerConfig, load_config
from server.http.common import REFERENCE, STORE
from tests import postgres

REPO = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "test-admin-token-0123456789"
METRICS_TOKEN = "test-metrics-token-0123456789"  # [metrics] token of the tests' server config
QIAOWA = "513422100"  # 乔瓦镇
WACHANG = "513422101"  # 瓦厂镇

_case_numbers = itertools.count(1)


def config_text(server: str = "", tables: str = "", where: Path | None = None) -> str:
    """A server config for tests: the admin token, a database next to it, the repository's reference files, ingest
    in the server process; `server` adds lines to [server], `tables` adds tables after [reference]. `where` (the
    config's directory): the storage of TEST_SERVER_BACKEND there (`tests.postgres.storage_section`)."""
    return (f'[server]\nadmin_token = "{ADMIN_TOKEN}"\ndatabase = "county.sqlite3"\ningest_workers = 0\n{server}'
            f'[reference]\norg_units = "{REPO / "config" / "org_units.csv"}"\n'
            f'catalog = "{REPO / "config" / "catalog.csv"}"\n{tables}'
            + (postgres.storage_section(where) if where is not None else ""))


def backup_args(config: ServerConfig, dest: Path) -> list[str]:
    """The CLI's backup of `config`'s storage into `dest`: `backup --to` (the SQLite file) or, on PostgreSQL,
    `storage backup --to` (pg_dump); either puts the attachment files in `<dest>.attachments/`."""
    assert config.source is not None
    verb = ["storage", "backup"] if config.storage_backend == "postgres" else ["backup"]
    return [*verb, "--config", str(config.source), "--to", str(dest)]


def restore_args(config: ServerConfig, source: Path) -> list[str]:
    """The CLI's restore of a backup made by `backup_args` into `config`'s storage."""
    assert config.source is not None
    verb = ["storage", "restore"] if config.storage_backend == "postgres" else ["restore"]
    return [*verb, "--config", str(config.source), "--from", str(source)]


def backup_name(config: ServerConfig) -> str:
    """A backup file's name for the backend of `config` (never its database's, beside which it may be written)."""
    return "backup.pgdump" if config.storage_backend == "postgres" else "backup.sqlite3"


@dataclass
class TownshipAgent:
    """Builds wire events as a township PC would: gap-free seq, uuid ids, +08:00 times."""

    agent_id: str
    token: str
    township: str
    seq: int = 0

    def event(self, kind: str, case_id: str, at: str, data: dict[str, Any], **overrides: Any) -> dict[str, Any]:
        self.seq += 1
        ev = {"event_id": new_uuid7(), "seq": self.seq, "case_id": case_id, "kind": kind,
              "at": at if "T" in at else f"{at}T10:00:00+08:00", "data": data}
        ev.update(overrides)
        return ev

    def accepted(self, at: str = "2026-03-02", *, org_code: str | None = None, item_code: str = "GG-0004",
                 due_on: str | None = "2026-03-16", channel: str = "window", case_id: str | None = None,
                 **data: Any) -> dict[str, Any]:
        body = {"case_no": f"{self.township}01{next(_case_numbers):08d}", "item_code": item_code,
                "org_code": org_code or self.township + "000", "channel": channel, "applicant_name": "扎西",
                "cert_type": "居民身份证", "cert_no": "51342219900101123X", "promised_days": 10, **data}
        if due_on is not None:
            body["due_on"] = due_on
        return self.event("accepted", case_id or new_uuid7(), at, body)

    def completed(self, case_id: str, at: str = "2026-03-05", trips: int = 0) -> dict[str, Any]:
        return self.event("completed", case_id, at, {"result": "approved", "trips": trips})

    def evaluated(self, case_id: str, at: str = "2026-03-05", rating: int = 5) -> dict[str, Any]:
        return self.event("evaluated", case_id, at if "T" in at else f"{at}T10:30:00+08:00", {"rating": rating})

    def rejected(self, case_id: str, at: str = "2026-03-03") -> dict[str, Any]:
        return self.event("rejected", case_id, at, {"reason": "申请材料不属于本机关受理范围"})

    def withdrawn(self, case_id: str, at: str = "2026-03-03") -> dict[str, Any]:
        return self.event("withdrawn", case_id, at, {"reason": "申请人撤回"})

    def followed_up(self, case_id: str, at: str = "2026-03-06") -> dict[str, Any]:
        return self.event("followed_up", case_id, at, {"note": "已电话回访并整改"})

    def consulted(self, at: str = "2026-03-02", org_code: str | None = None, channel: str = "window"
                  ) -> dict[str, Any]:
        return self.event("consulted", new_uuid7(), at,
                          {"topic": "低保申请条件", "org_code": org_code or self.township + "000", "channel": channel})


@dataclass
class CountyServer:
    url: str
    app: web.Application
    config: ServerConfig
    session: aiohttp.ClientSession
    agents: list[TownshipAgent] = field(default_factory=list)

    async def add_agent(self, township: str = QIAOWA, name: str = "窗口1") -> TownshipAgent:
        record, token = await register_agent(self.app[STORE], self.app[REFERENCE], township, name)
        return TownshipAgent(record.agent_id, token, record.township_code)

    async def add_unit_agent(self, unit: str, name: str = "大厅 窗口1") -> TownshipAgent:
        """A PC of a service hall (or a centre), by the unit's 12-digit code (`agents add --unit`)."""
        record, token = await register_unit_agent(self.app[STORE], self.app[REFERENCE], unit, name)
        return TownshipAgent(record.agent_id, token, record.township_code)

    async def post_push(self, body: Any, *, token: str | None, is_gzip: bool = True,
                        headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        h = {"Content-Type": "application/json"}
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        if is_gzip:
            raw = gzip.compress(raw)
            h["Content-Encoding"] = "gzip"
        h.update(headers or {})
        return await self.session.post(f"{self.url}/api/v1/sync/push", data=raw, headers=h)

    async def push(self, agent: TownshipAgent, events: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
        """Push (with `fields` of PushRequest besides the events) and expect 200; returns the PushResponse."""
        async with await self.post_push({"agent_id": agent.agent_id, "events": events, **fields},
                                        token=agent.token) as r:
            assert r.status == 200, await r.text()
            return await r.json()

    async def get(self, path: str, token: str | None = ADMIN_TOKEN) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.get(f"{self.url}{path}", headers=headers) as r:
            return r.status, await r.json()

    async def stats(self, level: str, date_from: str = "2026-01-01", date_to: str = "2026-12-31",
                    org: str | None = None) -> dict[str, dict[str, Any]]:
        """Rows of /api/v1/stats keyed by code (asserts 200)."""
        query = f"level={level}&from={date_from}&to={date_to}" + (f"&org={org}" if org else "")
        status, body = await self.get(f"/api/v1/stats?{query}")
        assert status == 200, body
        return {row["code"]: row for row in body["rows"]}


async def push_conflict(server: CountyServer, township: str = QIAOWA, day: str = "2026-03-02"
                        ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Two PCs of a township close one case offline (protocol 2): window 1 accepts and completes it, window 2 had
    pulled the acceptance and withdraws it a minute after the completion. Returns (accepted, completed,
    withdrawn): the withdrawal is the conflict."""
    one, two = await server.add_agent(township, "窗口1"), await server.add_agent(township, "窗口2")
    accepted = one.accepted(f"{day}T09:00:00+08:00") | {"parents": []}
    completed = one.completed(accepted["case_id"], f"{day}T10:00:00+08:00") | {"parents": [accepted["event_id"]]}
    withdrawn = two.withdrawn(accepted["case_id"], f"{day}T10:01:00+08:00") | {"parents": [accepted["event_id"]]}
    await server.push(one, [accepted, completed])
    answer = await server.push(two, [withdrawn])
    assert [c["event_id"] for c in answer["conflicts"]] == [withdrawn["event_id"]], answer
    return accepted, completed, withdrawn


@asynccontextmanager
async def serve(tmp_path: Path, org_units: Path) -> AsyncIterator[CountyServer]:
    """A server of its own over `org_units` (a prefecture's, say), with the default body limit (16 MiB), so that
    full batches of 5000 events go up in one push. Its storage is TEST_SERVER_BACKEND's."""
    path = tmp_path / "server.toml"
    path.write_text(f'[server]\nadmin_token = "{ADMIN_TOKEN}"\ndatabase = "county.sqlite3"\ningest_workers = 0\n'
                    f'[reference]\norg_units = "{org_units}"\ncatalog = "{REPO / "config" / "catalog.csv"}"\n'
                    + postgres.storage_section(tmp_path), encoding="utf-8")
    config = load_config(path)
    app = await build_app(config)
    async with TestServer(app, host="127.0.0.1", port=0) as srv, aiohttp.ClientSession() as session:
        yield CountyServer(str(srv.make_url("")).rstrip("/"), app, config, session)
