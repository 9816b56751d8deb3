"""`POST /api/v1/sync/push`, `POST|GET /api/v1/sync/pull` and `GET /api/v1/reference`: the agent-facing routes."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import time
from datetime import UTC, datetime

import msgspec
from aiohttp import web

from ops.passwords import is_scrypt_hash
from protocol import API_PREFIX
from protocol.causal import township_digest
from protocol.messages import (
    AgentName,
    PulledEvent,
    PullRequest,
    PullResponse,
    ReferenceResponse,
    StaffList,
    StaffPush,
    encoder,
)
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
    KEYS,
    QUOTA_REFUSALS,
    REFERENCE,
    REFERENCE_CACHE,
    STORE,
    decode,
    json_response,
    require_agent,
)
from server.http.health import INSTRUMENTS
from server.ingest.privacy import open_event
from server.model.cursor import cursor_of, position_of
from server.model.sealing import Keyring
from server.storage.base import AgentRecord, Store

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


# Pull answers are gzipped when the agent accepts it (it does): about 600 bytes of JSON per event. Level 6 as for
# pushes (perf-notes); larger answers are compressed on a thread (zlib lets go of the GIL), so the loop goes on.
PULL_GZIP_LEVEL = 6
GZIP_ON_THREAD_BYTES = 64 * 1024
_parents = msgspec.json.Decoder(list[str])


@routes.post(f"{API_PREFIX}/sync/pull")
@routes.get(f"{API_PREFIX}/sync/pull")
async def pull(request: web.Request) -> web.Response:
    """The township's events after the cursor, other PCs' only, in the order stored; idempotent and resumable (the
    agent stores by event_id and sends the cursor of the last batch it applied)."""
    agent = await require_agent(request)
    if request.method == "POST":
        config = request.app[CONFIG]
        asked = decode(await read_body(request, config.max_body_bytes, config.body_timeout_s), PullRequest)
    else:
        try:
            asked = msgspec.convert(dict(request.query), PullRequest, strict=False)
        except msgspec.ValidationError as exc:
            raise ApiError("bad_request", str(exc)) from None
    answer = await pull_answer(request.app[STORE], agent, asked, request.app[KEYS])
    instruments = request.app[INSTRUMENTS]
    instruments.pulled_events.inc(len(answer.events))
    instruments.pulls.labels(str(answer.reset).lower()).inc()
    body = encoder.encode(answer)
    if "gzip" not in request.headers.get("Accept-Encoding", ""):
        return web.Response(body=body, content_type="application/json")
    if len(body) > GZIP_ON_THREAD_BYTES:
        packed = await asyncio.to_thread(gzip.compress, body, PULL_GZIP_LEVEL)
    else:
        packed = gzip.compress(body, PULL_GZIP_LEVEL)
    return web.Response(body=packed, content_type="application/json",
                        headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})


async def pull_answer(store: Store, agent: AgentRecord, asked: PullRequest, keys: Keyring | None = None
                      ) -> PullResponse[msgspec.Raw]:
    """The answer to one pull of `agent` (authenticated). Raises ApiError for a cursor this server never handed out."""
    stream = await store.stream()
    try:
        after = position_of(asked.cursor, stream)
    except ValueError as exc:
        raise ApiError("bad_cursor", str(exc)) from None
    batch = await store.pull(agent.township_code, agent.agent_id, after or 0, asked.limit)
    # The township's PCs get their events in clear: sealed is how the county keeps them, not how it sends them.
    events = [open_event(keys, e) for e in batch.events] if keys is not None else batch.events
    return PullResponse(
        events=[PulledEvent(event_id=e.event_id, agent_id=e.agent_id, seq=e.seq, case_id=e.case_id, kind=e.kind,
                            at=e.at, data=msgspec.Raw(e.data), offset_ms=e.offset_ms,
                            parents=None if e.parents is None else _parents.decode(e.parents), replaces=e.replaces,
                            staff_id=e.staff_id)
                for e in events],
        cursor=cursor_of(stream, batch.last_pos), has_more=batch.has_more,
        digest=None if batch.digest is None else township_digest(*batch.digest), reset=after is None,
        conflicts=batch.conflicts, agents=[AgentName(agent_id=a, name=n) for a, n in batch.agents],
        server_time_ms=now_ms())


@routes.post(f"{API_PREFIX}/staff")
async def staff(request: web.Request) -> web.Response:
    """A PC's changes to its township's staff list (hashes only, never a PIN); answers the township's whole list,
    which every PC of the township takes as its own, so a clerk signs in at any window offline."""
    agent = await require_agent(request)
    config = request.app[CONFIG]
    asked = decode(await read_body(request, config.max_body_bytes, config.body_timeout_s), StaffPush)
    ids = [m.staff_id for m in asked.members]
    if len(set(ids)) != len(ids):
        raise ApiError("bad_request", "a staff id appears twice in members")
    bad = [m.staff_id for m in asked.members if not is_scrypt_hash(m.secret_hash)]
    if bad:
        raise ApiError("bad_request", f"secret_hash is not an scrypt hash (ops.passwords) for {bad[:5]}")
    members = await request.app[STORE].merge_staff(agent.township_code, agent.agent_id, asked.members,
                                                    datetime.now(UTC).isoformat(timespec="seconds"))
    if asked.members:
        log.info("staff list changed township=%s agent_id=%s sent=%d", agent.township_code, agent.agent_id,
                 len(asked.members))
    return json_response(StaffList(members=members, server_time_ms=now_ms()))


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
