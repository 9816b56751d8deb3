"""`POST /api/v1/sync/push` and `GET /api/v1/reference`: the agent-facing routes."""

from __future__ import annotations

import hashlib
import time
import zlib

import msgspec
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from protocol import API_PREFIX
from protocol.messages import ReferenceResponse
from server.clock import now_ms
from server.errors import ApiError
from server.http.common import (
    CALENDAR,
    CONFIG,
    INGEST,
    INGEST_STATS,
    REFERENCE,
    REFERENCE_CACHE,
    json_response,
    require_agent,
)
from server.http.health import INSTRUMENTS

routes = web.RouteTableDef()


async def read_body(request: web.Request) -> bytes:
    """The request body, decompressed by aiohttp per Content-Encoding, at most `max_body_bytes` after
    decompression (aiohttp's client_max_size counts decompressed bytes, so a gzip bomb stops at the limit)."""
    limit = request.app[CONFIG].max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise ApiError("too_large", f"Content-Length {request.content_length} exceeds {limit} bytes")
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError("too_large", f"the body exceeds {limit} bytes after decompression") from None
    except (RequestPayloadError, HttpProcessingError, zlib.error) as exc:
        raise ApiError("bad_json", f"the body could not be decompressed: {exc}") from None


@routes.post(f"{API_PREFIX}/sync/push")
async def push(request: web.Request) -> web.Response:
    agent = await require_agent(request)
    body = await read_body(request)
    started = time.perf_counter()
    response = await request.app[INGEST].push_body(agent, body)  # in a worker process when there are workers
    request.app[INGEST_STATS].count(response)
    answer = json_response(response)
    request.app[INSTRUMENTS].push_seconds.observe(time.perf_counter() - started)
    return answer


@routes.get(f"{API_PREFIX}/reference")
async def reference(request: web.Request) -> web.Response:
    agent = await require_agent(request)
    cache = request.app[REFERENCE_CACHE]
    cached = cache.get(agent.township_code)
    if cached is None:
        cached = cache[agent.township_code] = build_reference(request.app, agent.township_code)
    return json_response(msgspec.structs.replace(cached, server_time_ms=now_ms()))


def build_reference(app: web.Application, township_code: str) -> ReferenceResponse:
    ref = app[REFERENCE]
    township = ref.township(township_code)
    assert township is not None, township_code  # agents are only created for known townships
    units = [u for u in ref.units_under(township_code) if u.code != township.code]
    items = sorted(ref.items.values(), key=lambda i: i.code)
    calendar = app[CALENDAR]
    version = hashlib.sha256(msgspec.json.encode([township, units, items, calendar])).hexdigest()[:16]
    return ReferenceResponse(version=version, township=township, org_units=units, items=items, calendar=calendar)
