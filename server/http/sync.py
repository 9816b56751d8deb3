"""`POST /api/v1/sync/push` and `GET /api/v1/reference`: the agent-facing routes."""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import UTC, datetime

import msgspec
from aiohttp import web

from protocol import API_PREFIX
from protocol.messages import ReferenceResponse
from server.accounts.quotas import Quotas, quota_refusal
from server.clock import now_ms
from server.config import ServerConfig
from server.errors import ApiError
from server.http.body import read_body
from server.http.common import (
    CALENDAR,
    CONFIG,
    INGEST,
    INGEST_STATS,
    QUOTA_REFUSALS,
    REFERENCE,
    REFERENCE_CACHE,
    STORE,
    json_response,
    require_agent,
)
from server.http.health import INSTRUMENTS

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
# (agent_id, quota, day) already logged as refused: one warning per agent, quota and day, however often it retries.
_LOGGED: set[tuple[str, str, str]] = set()


@routes.post(f"{API_PREFIX}/sync/push")
async def push(request: web.Request) -> web.Response:
    agent = await require_agent(request)
    app = request.app
    config = app[CONFIG]
    refusal = await quota_refusal(app[STORE], agent.agent_id, quotas_of(config), datetime.now(UTC))
    if refusal is not None:
        app[QUOTA_REFUSALS][refusal.quota] += 1
        key = (agent.agent_id, refusal.quota, datetime.now(UTC).date().isoformat())
        if key not in _LOGGED:
            if len(_LOGGED) > 10_000:
                _LOGGED.clear()
            _LOGGED.add(key)
            log.warning("push refused quota=%s agent_id=%s detail=%s", refusal.quota, agent.agent_id, refusal.detail)
        raise ApiError(refusal.code, refusal.detail, retry_after_s=refusal.retry_after_s)
    body = await read_body(request, config.max_body_bytes, config.body_timeout_s)
    started = time.perf_counter()
    response = await app[INGEST].push_body(agent, body)  # in a worker process when there are workers
    app[INGEST_STATS].count(response)
    answer = json_response(response)
    app[INSTRUMENTS].push_seconds.observe(time.perf_counter() - started)
    return answer


def quotas_of(config: ServerConfig) -> Quotas:
    return Quotas(config.quota_events_per_day, config.quota_bytes_per_day, config.quota_orphan_events)


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
    items = ref.items_for_agents
    calendar = app[CALENDAR]
    version = hashlib.sha256(msgspec.json.encode([township, units, items, calendar])).hexdigest()[:16]
    return ReferenceResponse(version=version, township=township, org_units=units, items=items, calendar=calendar)
