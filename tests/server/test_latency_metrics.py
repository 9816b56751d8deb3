"""The server's latency histograms on /metrics: push batches (with ingest in a worker process, timed where the
server answers), dashboard queries per route, and requests by route pattern."""

from __future__ import annotations

import pytest

from ops.metrics import parse
from tests.server.helpers import ADMIN_TOKEN, METRICS_TOKEN, CountyServer

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def ingest_workers() -> int:
    return 1  # ingest in a worker process: the server process still times the batch


async def _metrics(server: CountyServer) -> dict[str, float]:
    auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    async with server.session.get(f"{server.url}/metrics", headers=auth) as resp:
        assert resp.status == 200
        return parse(await resp.text())


async def test_push_batches_dashboard_queries_and_requests_are_timed(county_server: CountyServer) -> None:
    agent = await county_server.add_agent()
    for _ in range(3):
        await county_server.push(agent, [agent.accepted() for _ in range(5)])
    async with await county_server.post_push({"agent_id": agent.agent_id, "events": []}, token="wrong") as resp:
        assert resp.status == 401
    for path in ("/api/v1/overview?period=2026", "/api/v1/overview?period=2026-03", "/api/v1/units?period=2026",
                 "/api/v1/export/units?period=2026&format=csv"):
        async with county_server.session.get(county_server.url + path, headers=ADMIN) as resp:
            assert resp.status == 200, path
    assert (await county_server.get("/api/v1/overview?period=never"))[0] == 422  # refused before any query

    values = await _metrics(county_server)
    assert values["county_server_push_batch_duration_seconds_count"] == 3  # the 401 never reached ingest
    assert values["county_server_push_batch_duration_seconds_sum"] > 0
    assert values['county_server_push_batch_duration_seconds_bucket{le="+Inf"}'] == 3
    assert values["county_server_ingest_batches_total"] == 3
    dashboard = "county_server_dashboard_query_duration_seconds_count"
    assert values[f'{dashboard}{{route="/api/v1/overview"}}'] == 2
    assert values[f'{dashboard}{{route="/api/v1/units"}}'] == 1
    assert values[f'{dashboard}{{route="/api/v1/export/{{table}}"}}'] == 1
    http = "county_server_http_request_duration_seconds_count"
    assert values[f'{http}{{route="/api/v1/sync/push",status="200"}}'] == 3
    assert values[f'{http}{{route="/api/v1/sync/push",status="401"}}'] == 1
    assert values[f'{http}{{route="/api/v1/overview",status="422"}}'] == 1
    assert values[f'{http}{{route="/api/v1/export/{{table}}",status="200"}}'] == 1
    assert values['county_server_requests_total{route="/api/v1/sync/push",status="200"}'] == 3
    assert not any("period=" in key or "/export/units" in key for key in values)
