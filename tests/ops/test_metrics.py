"""ops.metrics: the text format from prometheus-client, a registry per app, and request latency by route pattern."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ops import metrics
from ops.metrics import CONTENT_TYPE, METRICS, counter, gauge, parse, render


def test_families_read_at_scrape_time_render_in_the_text_format_and_parse_back() -> None:
    registry = metrics.AppMetrics("x").registry
    info = gauge("x_info", 'A "quoted"\nlabel.', labels=["version"])
    info.add_metric(['1"2\\3'], 1)
    requests = counter("x_requests_total", "Requests.", labels=["route", "status"])
    requests.add_metric(["/api/v1/sync/push", "200"], 5)
    text = render(registry, [gauge("x_events", "Events.", 3), requests, gauge("x_age_seconds", "Age.", float("inf")),
                             info]).decode()
    assert "# TYPE x_requests_total counter" in text
    assert 'x_requests_total{route="/api/v1/sync/push",status="200"} 5.0' in text
    assert "x_age_seconds +Inf" in text
    assert 'x_info{version="1\\"2\\\\3"} 1.0' in text
    assert "# TYPE x_http_request_duration_seconds histogram" in text  # the registry's own, after the families
    assert "_created" not in text
    values = parse(text)
    assert values["x_events"] == 3
    assert values["x_age_seconds"] == float("inf")
    assert values['x_requests_total{route="/api/v1/sync/push",status="200"}'] == 5
    assert values['x_info{version="1\\"2\\\\3"}'] == 1


def _app() -> web.Application:
    routes = web.RouteTableDef()

    @routes.get("/cases/{case_id}/events")
    async def events(request: web.Request) -> web.Response:
        if request.match_info["case_id"] == "missing":
            raise web.HTTPNotFound()
        return web.json_response([])

    @routes.get("/boom")
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    @routes.get("/metrics")
    async def page(request: web.Request) -> web.Response:
        return metrics.response(request.app[METRICS].registry)

    app = web.Application()
    app.add_routes(routes)
    metrics.instrument(app, "x", count_requests=True)
    return app


async def _scrape(client: TestClient) -> dict[str, float]:
    resp = await client.get("/metrics")
    assert resp.headers["Content-Type"] == CONTENT_TYPE
    return parse(await resp.text())


async def test_requests_are_timed_by_route_pattern_and_status_in_a_registry_per_app() -> None:
    async with TestClient(TestServer(_app(), host="127.0.0.1")) as one, \
            TestClient(TestServer(_app(), host="127.0.0.1")) as other:
        for case_id in ("a1", "b2", "c3", "missing"):
            await one.get(f"/cases/{case_id}/events")
        assert (await one.get("/no/such/path/7f3a")).status == 404
        assert (await one.get("/boom")).status == 500
        values = await _scrape(one)
        assert values['x_http_request_duration_seconds_count{route="/cases/{case_id}/events",status="200"}'] == 3
        assert values['x_http_request_duration_seconds_count{route="/cases/{case_id}/events",status="404"}'] == 1
        assert values['x_requests_total{route="/cases/{case_id}/events",status="200"}'] == 3
        assert values['x_http_request_duration_seconds_count{route="unmatched",status="404"}'] == 1
        assert values['x_http_request_duration_seconds_count{route="/boom",status="500"}'] == 1
        assert values['x_http_request_duration_seconds_bucket{le="+Inf",route="/boom",status="500"}'] == 1
        assert not any("a1" in key or "7f3a" in key for key in values)  # never the raw path
        # The other app counted nothing: its registry is its own.
        assert not any(key.startswith("x_http_request_duration_seconds_count") for key in await _scrape(other))
        assert (await _scrape(one))['x_http_request_duration_seconds_count{route="/metrics",status="200"}'] == 1


def test_without_count_requests_there_is_only_the_histogram() -> None:
    text = render(metrics.AppMetrics("y").registry).decode()
    assert "y_http_request_duration_seconds" in text and "y_requests_total" not in text
