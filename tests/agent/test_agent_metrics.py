"""The agent's /metrics: its figures, and the local API's latency by route pattern (never a case id)."""

from __future__ import annotations

from ops.metrics import parse
from tests.agent.conftest import accept_form


async def test_requests_are_timed_by_route_pattern_beside_the_agent_figures(agent_client):
    created = await agent_client.post("/api/cases", json=accept_form())
    assert created.status == 201
    case_id = (await created.json())["case_id"]
    assert (await agent_client.get(f"/api/cases/{case_id}")).status == 200
    assert (await agent_client.get("/api/cases/no-such-case")).status == 404
    assert (await agent_client.get(f"/print/receipt/{case_id}")).status == 200
    resp = await agent_client.get("/metrics")
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    values = parse(await resp.text())
    count = "township_agent_http_request_duration_seconds_count"
    assert values[f'{count}{{route="/api/cases",status="201"}}'] == 1
    assert values[f'{count}{{route="/api/cases/{{case_id}}",status="200"}}'] == 1
    assert values[f'{count}{{route="/api/cases/{{case_id}}",status="404"}}'] == 1
    assert values[f'{count}{{route="/print/{{kind}}/{{case_id}}",status="200"}}'] == 1
    assert not any(case_id in key or "no-such-case" in key for key in values)
    assert values["township_agent_pending_events"] == 1
    assert values["township_agent_sync_rounds_total"] == 0
