"""Prometheus metrics of both programs, through `prometheus-client`.

Each app has a registry of its own (`AppMetrics`, under the app key `METRICS`), never the library's global one, so
that several apps in one process (the tests) count apart. The registry holds the live instruments: the HTTP latency
histogram every app has (observed by `AppMetrics.middleware`, labelled by the route's canonical path, never the raw
one, so that the label values stay few) and whatever a program adds. Figures read from the database at each scrape
are families the program builds then (`gauge`, `counter`) and hands to `render` beside the registry.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator, Sequence

import prometheus_client
from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["CONTENT_TYPE", "METRICS", "AppMetrics", "Metric", "counter", "gauge", "instrument", "parse", "render",
           "response", "route_of"]

# The classic text format (0.0.4): what every Prometheus and node-exporter textfile reader takes.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# Request latencies: a local page answers in milliseconds, a push of 5000 events or an export in seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# A route label for requests no route matched (404, 405): one value, whatever path was asked for.
UNMATCHED = "unmatched"
# The status label of a request whose client went away before the answer (nginx's convention): no answer was sent.
CLIENT_CLOSED = "499"

# No `<name>_created` series beside each counter and histogram: start times nobody reads, twice the series.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # the library leaves it unannotated


class AppMetrics:
    """The metrics of one app: its own registry and the HTTP request instruments, named `<prefix>_...`."""

    def __init__(self, prefix: str, *, count_requests: bool = False) -> None:
        self.prefix = prefix
        self.registry = CollectorRegistry(auto_describe=True)
        self.request_seconds = Histogram(
            f"{prefix}_http_request_duration_seconds",
            "Time from a request's arrival to its answer, by route (the route's pattern, `unmatched` for none) and "
            "status.", ["route", "status"], registry=self.registry, buckets=LATENCY_BUCKETS)
        self.requests: Counter | None = None
        if count_requests:
            self.requests = Counter(f"{prefix}_requests", "HTTP requests answered since start, by route and status.",
                                    ["route", "status"], registry=self.registry)

    def observe(self, route: str, status: str, seconds: float) -> None:
        self.request_seconds.labels(route, status).observe(seconds)
        if self.requests is not None:
            self.requests.labels(route, status).inc()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Times every request, error answers included (put it outermost)."""
        started = time.perf_counter()
        status = "500"
        try:
            response = await handler(request)
            status = str(response.status)
            return response
        except web.HTTPException as exc:
            status = str(exc.status)
            raise
        except asyncio.CancelledError:
            status = CLIENT_CLOSED
            raise
        finally:
            self.observe(route_of(request), status, time.perf_counter() - started)


METRICS = web.AppKey("ops_metrics", AppMetrics)


def instrument(app: web.Application, prefix: str, *, count_requests: bool = False) -> AppMetrics:
    """Give `app` its registry and time its requests (the middleware goes first, so it sees every answer)."""
    metrics = app[METRICS] = AppMetrics(prefix, count_requests=count_requests)
    app.middlewares.insert(0, metrics.middleware)
    return metrics


def route_of(request: web.Request) -> str:
    """The canonical path of the route that matched (`/api/cases/{case_id}/events`), never the path asked for."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


def gauge(name: str, help: str, value: float | None = None, labels: Sequence[str] = ()) -> GaugeMetricFamily:
    """A gauge read at scrape time: give `value`, or `labels` and then `.add_metric([label values], value)`."""
    return GaugeMetricFamily(name, help, value=value, labels=labels or None)


def counter(name: str, help: str, value: float | None = None, labels: Sequence[str] = ()) -> CounterMetricFamily:
    """A counter kept by the program (`name` ends in `_total`), read at scrape time."""
    return CounterMetricFamily(name, help, value=value, labels=labels or None)


class _Together:
    def __init__(self, registry: CollectorRegistry, families: Iterable[Metric]) -> None:
        self.registry, self.families = registry, families

    def collect(self) -> Iterator[Metric]:
        yield from self.families
        yield from self.registry.collect()


def render(registry: CollectorRegistry, families: Iterable[Metric] = ()) -> bytes:
    """The text exposition of `families` (read at this scrape) followed by the registry's instruments."""
    return generate_latest(_Together(registry, families))


def response(registry: CollectorRegistry, families: Iterable[Metric] = ()) -> web.Response:
    return web.Response(body=render(registry, families), headers={"Content-Type": CONTENT_TYPE})


def parse(text: str) -> dict[str, float]:
    """`name{label="value",...}` (labels sorted by name) -> value of every sample in `text`; for tests and `doctor`."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
