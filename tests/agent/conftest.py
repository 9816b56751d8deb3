"""Agent fixtures: a real SQLite file, a small reference set, and the agent app on a loopback port."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import msgspec
import pytest
from aiohttp.test_utils import TestClient, TestServer

from agent.app import build_app
from agent.config import config_from_dict
from agent.store import AgentStore
from protocol.causal import CaseMeta, FoldResult
from protocol.lifecycle import Case
from protocol.messages import OrgUnit, ReferenceResponse, ServiceItem
from protocol.workdays import WorkCalendar

TOWNSHIP = "513422100"
TOKEN = f"{TOWNSHIP}-abc123.secret-secret-secret"
CENTRE_PHONE, STATION_PHONE = "0834-6601001", "13900000202"


def sample_reference() -> ReferenceResponse:
    calendar = WorkCalendar(
        version="t1", first_year=2026, last_year=2026,
        holidays=frozenset({date(2026, 10, d) for d in (1, 2, 5, 6, 7)}),  # weekdays of National Day 2026
        workdays=frozenset({date(2026, 9, 20), date(2026, 10, 10)}),
    )
    return ReferenceResponse(
        version="ref-1",
        township=OrgUnit(code=f"{TOWNSHIP}000", name="乔瓦镇", level="township", parent="513422000000",
                         phone=CENTRE_PHONE),
        org_units=[OrgUnit(code=f"{TOWNSHIP}201", name="大坝村", level="village", parent=f"{TOWNSHIP}000"),
                   OrgUnit(code=f"{TOWNSHIP}202", name="八科村", level="village", parent=f"{TOWNSHIP}000",
                           phone=STATION_PHONE)],
        items=[ServiceItem(code="GG-001", name="城乡居民基本养老保险参保登记", category="公共服务", promised_days=3,
                           supplement_days=5, version="2026版"),
               ServiceItem(code="XK-001", name="农村宅基地批准", category="行政许可", promised_days=10),
               ServiceItem(code="QT-001", name="证明开具", category="其他", promised_days=0)],
        calendar=calendar.to_json(),
        follow_up_workdays=5,
    )


def agent_config(tmp_path: Path, county_url: str = "http://127.0.0.1:9", **sync):
    return config_from_dict(
        {"agent": {"database": "agent.sqlite3", "port": 8700},
         "county": {"url": county_url, "token": TOKEN, "timeout_s": 2.0},
         "sync": {"attempts": 2, "backoff_initial_s": 0.01, "backoff_max_s": 0.05, **sync}},
        tmp_path / "agent.toml",
    )


@pytest.fixture
async def agent_store(tmp_path: Path):
    store = await AgentStore.open(tmp_path / "agent.sqlite3")
    yield store
    await store.close()


async def seed_reference(store: AgentStore) -> None:
    ref = sample_reference()
    await store.save_reference(ref.version, msgspec.json.encode(ref))


@pytest.fixture
async def agent_client(tmp_path: Path):
    """The real agent app on 127.0.0.1 with reference data seeded and no county server reachable."""
    config = agent_config(tmp_path)
    store = await AgentStore.open(config.database)
    await seed_reference(store)
    await store.close()
    client = TestClient(TestServer(build_app(config, run_schedule=False), host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()


def folded(case: Case) -> FoldResult:
    """A case row to store as is, as if its events had folded to it."""
    return FoldResult(case, [], [], CaseMeta(count=1))


VALID_ID = "11010519491231002X"  # the GB 11643 standard's own example


def accept_form(**overrides):
    form = {"item_code": "GG-001", "applicant_name": "扎西", "cert_type": "resident_id", "cert_no": VALID_ID,
            "phone": "13800000000", "channel": "window", "village_code": f"{TOWNSHIP}201"}
    form.update(overrides)
    return form
