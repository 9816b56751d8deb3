"""China time on the server whatever the host's zone: "today", overdue, due soon and "截至" are China's date.

The real server on 127.0.0.1 with its clock stopped at 23:30 UTC (07:30 the next morning in China), the host's zone
set to UTC; and no zone-less "now" anywhere in server/.
"""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime

import aiohttp
import openpyxl
import pytest
from aiohttp.test_utils import TestServer

from server.app import build_app
from server.clock import Clock
from server.config import ServerConfig
from tests.server.helpers import ADMIN_TOKEN, QIAOWA, REPO, CountyServer

# 23:30 UTC on 30 November is 07:30 on 1 December in China.
STOPPED = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
CHINA_TODAY = "2026-12-01"

# Calls that take the host's zone (or none): the server must ask its Clock instead.
ZONELESS = re.compile(r"date\.today\(\)|datetime\.today\(\)|datetime\.now\(\)|utcnow\(|localtime\(|"
                      r"\.astimezone\(\)|fromtimestamp\([^,()]*\)")


def test_no_zoneless_now_anywhere_in_the_server() -> None:
    found = [f"{p.relative_to(REPO)}:{n}: {line.strip()}"
             for p in sorted((REPO / "server").rglob("*.py"))
             for n, line in enumerate(p.read_text("utf-8").splitlines(), 1) if ZONELESS.search(line)]
    assert found == []


def test_the_clock_gives_chinas_date_at_2330_utc() -> None:
    clock = Clock("Asia/Shanghai", now=lambda: STOPPED)
    assert clock.today() == date(2026, 12, 1) and clock.utc().date() == date(2026, 11, 30)
    assert clock.local().hour == 7
    assert Clock("UTC", now=lambda: STOPPED).today() == date(2026, 11, 30)  # a county may configure another zone
    with pytest.raises(ValueError, match="unknown time zone"):
        Clock("Asia/Nowhere")


@pytest.fixture
def host_in_utc() -> Iterator[None]:
    """The host's own zone set to UTC for the test, as on a server kept on UTC."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.fixture
async def stopped_server(server_config: ServerConfig, host_in_utc: None) -> AsyncIterator[CountyServer]:
    app = await build_app(server_config, clock=Clock(server_config.time_zone, now=lambda: STOPPED))
    async with TestServer(app, host="127.0.0.1", port=0) as server, aiohttp.ClientSession() as session:
        yield CountyServer(str(server.make_url("")).rstrip("/"), app, server_config, session)


async def test_overdue_due_soon_and_the_as_of_date_are_chinas_at_0730(stopped_server: CountyServer) -> None:
    server = stopped_server
    q = await server.add_agent(QIAOWA)
    overdue_in_china = q.accepted("2026-11-16", due_on="2026-11-30")  # overdue from 1 December on
    due_today = q.accepted("2026-11-17", due_on=CHINA_TODAY)  # due soon, not overdue
    await server.push(q, [overdue_in_china, due_today])

    status, body = await server.get("/api/v1/overview?period=2026-11")
    assert status == 200, body
    assert body["as_of"] == CHINA_TODAY  # not the UTC date 2026-11-30
    assert body["figures"]["overdue_open"] == 1  # on UTC's date the case due 11-30 would not be overdue yet
    _, listed = await server.get("/api/v1/cases?figure=overdue_open")
    assert [r["case_id"] for r in listed["rows"]] == [overdue_in_china["case_id"]]
    assert listed["rows"][0]["days_overdue"] == 1 and listed["as_of"] == CHINA_TODAY
    _, soon = await server.get("/api/v1/cases?figure=due_soon")
    assert [r["case_id"] for r in soon["rows"]] == [due_today["case_id"]]

    # An overview without a period is of the current year (China time; the new-year test below shows the edge).
    _, year = await server.get("/api/v1/overview")
    assert year["period"]["date_from"] == "2026-01-01"

    # The exports print China's "截至" date.
    async with server.session.get(f"{server.url}/api/v1/export/cases?figure=overdue_open&format=xlsx",
                                  headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as r:
        assert r.status == 200
        book = openpyxl.load_workbook(io.BytesIO(await r.read()))
    notes = {row[0]: row[1] for row in book["说明"].iter_rows(values_only=True)}
    assert notes["截至"] == CHINA_TODAY
    async with server.session.get(f"{server.url}/api/v1/export/units?period=2026-11&format=xlsx",
                                  headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as r:
        book = openpyxl.load_workbook(io.BytesIO(await r.read()))
    notes = {row[0]: row[1] for row in book["说明"].iter_rows(values_only=True)}
    assert notes["超期未办结截至"] == CHINA_TODAY


async def test_at_new_year_0730_china_time_the_current_year_is_the_new_one(server_config: ServerConfig,
                                                                           host_in_utc: None) -> None:
    new_year = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    app = await build_app(server_config, clock=Clock(server_config.time_zone, now=lambda: new_year))
    async with TestServer(app, host="127.0.0.1", port=0) as srv, aiohttp.ClientSession() as session:
        server = CountyServer(str(srv.make_url("")).rstrip("/"), app, server_config, session)
        status, body = await server.get("/api/v1/overview")
        assert status == 200, body
        assert (body["period"]["date_from"], body["as_of"]) == ("2027-01-01", "2027-01-01")
