"""Helpers for the staff-desk tests: a reference whose calendar is built around today, so the tests do not depend on
the year they run in, and the real agent app on 127.0.0.1 with that reference seeded."""

from __future__ import annotations

import sqlite3
from contextlib import asynccontextmanager, closing
from datetime import date, datetime
from pathlib import Path

import msgspec
from aiohttp.test_utils import TestClient, TestServer

from agent.app import build_app
from agent.http.api import SERVICE, STORE
from agent.store import AgentStore
from protocol.lifecycle import CHINA_TZ
from protocol.messages import OrgUnit, ReferenceResponse, ServiceItem
from protocol.workdays import WorkCalendar
from tests.agent.conftest import TOWNSHIP, agent_config

ITEMS = [  # (code, promised working days)
    ("GG-001", 3), ("XK-001", 10), ("QT-001", 0), ("QT-002", 1),
    ("LONG-300", 300),  # 300 working days always reach into a later year: the calendar-missing case
]


def today() -> date:
    return datetime.now(CHINA_TZ).date()


def plain_calendar(first_year: int, last_year: int, version: str | None = None) -> WorkCalendar:
    """Monday to Friday, no holidays: due dates are easy to reason about in any year."""
    draft = WorkCalendar("", first_year, last_year)
    return WorkCalendar(version or draft.digest(), first_year, last_year)


def reference(calendar: WorkCalendar | None, version: str = "desk-1") -> ReferenceResponse:
    return ReferenceResponse(
        version=version,
        township=OrgUnit(code=f"{TOWNSHIP}000", name="乔瓦镇", level="township", parent="513422000000"),
        org_units=[OrgUnit(code=f"{TOWNSHIP}201", name="大坝村", level="village", parent=f"{TOWNSHIP}000")],
        items=[ServiceItem(code=c, name=f"事项{c}", category="公共服务", promised_days=d) for c, d in ITEMS],
        calendar=calendar.to_json() if calendar else None,
    )


def current_reference() -> ReferenceResponse:
    year = today().year
    return reference(plain_calendar(year - 1, year + 1))


@asynccontextmanager
async def running_agent(tmp_path: Path, ref: ReferenceResponse | None = None, county_url: str = "http://127.0.0.1:9"):
    """The agent app on 127.0.0.1 with `ref` saved as the last reference pulled; no schedule runs."""
    config = agent_config(tmp_path, county_url)
    store = await AgentStore.open(config.database)
    ref = ref or current_reference()
    await store.save_reference(ref.version, msgspec.json.encode(ref))
    await store.close()
    client = TestClient(TestServer(build_app(config, run_schedule=False), host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


def store_of(client: TestClient) -> AgentStore:
    return client.server.app[STORE]


def service_of(client: TestClient):
    return client.server.app[SERVICE]


def outbox(client: TestClient) -> list[tuple]:
    """(seq, event_id, case_id, kind, status, data) of every outbox row in seq order, read through a connection of
    its own: what is committed to the file, not what the agent holds in memory."""
    with closing(sqlite3.connect(store_of(client).path)) as db:
        rows = db.execute("SELECT seq, event_id, case_id, kind, status, data FROM outbox ORDER BY seq").fetchall()
    return [(*r[:5], msgspec.json.decode(r[5])) for r in rows]
