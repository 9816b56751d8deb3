"""`POST /api/v1/sync/push`, `POST|GET /api/v1/sync/pull` and `GET /api/v1/reference`: the agent-facing routes."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import time
from datetime import UTC, datetime
from typing import Any

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
    PushResponse,
    ReferenceResponse,
    StaffList,
    StaffPush,
    encoder,
)
from protocol.vocabulary import Level
from server.accounts.audit import details
from server.accounts.quotas import Quotas, quota_refusal
from server.clock import now_iso, now_ms
from server.config import ServerConfig
from server.errors import ApiError
from server.http.body import read_body
from server.http.common import (
    AUDIT,
    CALENDAR,
    CLOCK,
    CONFIG,
    INGEST,
    INGEST_STATS,
    KEYS,
    QUOTA_REFUSALS,
    REFERENCE,
    REFERENCE_CACHE,
    STORE,
    client_address,
    decode,
    json_response,
    require_agent,
)
from server.http.health import INSTRUMENTS
from server.ingest.privacy import open_event
from server.model.cursor import cursor_of, position_of
from server.model.sealing import Keyring
from server.storage.base import AgentRecord, AuditEntry, Store

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
# (agent_id, quota, day) already logged as refused: one warning per agent, quota and day, however often it retries.
_LOGGED: set[tuple[str, str, str]] = set()


@routes.post(f"{API_PREFIX}/sync/push")
async def push(request: web.Request) -> web.Response:
    agent = await require_agent(request)
    app = request.app
    config = app[CONFIG]
    refusal = await quota_refusal(app[STORE], agent.agent_id, quotas_of(config), app[CLOCK].utc())
    if refusal is not None:
        app[QUOTA_REFUSALS][refusal.quota] += 1
        key = (agent.agent_id, refusal.quota, app[CLOCK].today().isoformat())
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
    await _audit_push(request, agent, body, response)
    answer = json_response(response)
    app[INSTRUMENTS].push_seconds.observe(time.perf_counter() - started)
    return answer


class _AuditedEvent(msgspec.Struct):
    """What the audit reads of a pushed event; its data is decoded only for the kinds audited."""

    event_id: Any = None
    kind: Any = None
    case_id: Any = None
    staff_id: Any = None  # who at the PC, when its agent signs staff in
    data: msgspec.Raw = msgspec.Raw(b"null")


class _AuditedPush(msgspec.Struct):
    events: list[_AuditedEvent] = []


_audited = msgspec.json.Decoder(_AuditedPush)
AUDITED_KINDS = {"updated": "case_corrected", "corrected": "case_corrected", "settled": "conflict_settled"}
_AUDITED_MARKS = tuple(f'"{kind}"'.encode() for kind in AUDITED_KINDS)


async def _audit_push(request: web.Request, agent: AgentRecord, body: bytes, response: PushResponse) -> None:
    """Record the case corrections and conflict settlements of a push in the audit log, once per event (a batch sent
    again adds nothing): the PC, the case, the fields corrected (not their values) or the conflict settled; a
    refused event is not recorded, one the county could not apply is recorded as refused."""
    if not any(mark in body for mark in _AUDITED_MARKS):
        return
    try:  # any event that is an object reads (ingest refused the batch whole otherwise, before this)
        events = _audited.decode(body).events
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return
    refused = {r.event_id for r in response.refused}
    conflicts = {c.event_id: c.code for c in response.conflicts}
    entries, now, address = [], now_iso(), client_address(request)
    for e in events:
        action = AUDITED_KINDS.get(e.kind) if isinstance(e.kind, str) else None
        if action is None or not isinstance(e.event_id, str) or e.event_id in refused:
            continue
        try:
            data = msgspec.json.decode(e.data)
        except (msgspec.DecodeError, RecursionError):
            data = None
        data = data if isinstance(data, dict) else {}
        if action == "case_corrected":  # the fields changed, and the reason given; never the values
            fields = sorted(str(k)[:40] for k in data if k not in ("reason", "before", "grant"))[:40]
            detail = details(fields=fields, reason=str(data.get("reason", ""))[:200] or None,
                             conflict=conflicts.get(e.event_id))
        else:
            detail = details(conflict_event=str(data.get("event_id", ""))[:40],
                             outcome=str(data.get("outcome", ""))[:20], conflict=conflicts.get(e.event_id))
        staff = f"/{str(e.staff_id)[:64]}" if e.staff_id else ""
        entries.append(AuditEntry(at=now, actor=agent.agent_id + staff, role="agent", address=address,
                                  action=action, outcome="refused" if e.event_id in conflicts else "ok",
                                  target=str(e.case_id)[:64], detail=detail, event_id=e.event_id[:64]))
    await request.app[AUDIT].record_events(entries)


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
        server_time_ms=now_ms(), grants=batch.grants)


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
        # Each version of a staff record once (a PC sends it again until the county acknowledged it); never a hash.
        now, address = now_iso(), client_address(request)
        await request.app[AUDIT].record_events([AuditEntry(
            at=now, actor=agent.agent_id + (f"/{m.changed_by}" if m.changed_by else ""), role="agent",
            address=address, action="staff_changed", outcome="ok", target=m.staff_id,
            detail=details(township=agent.township_code, role=m.role, rev=m.rev, disabled=m.is_disabled or None),
            event_id=f"staff:{agent.township_code}:{m.staff_id}:{m.rev}") for m in asked.members])
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
    township = ref.desk(township_code)  # a township's centre, or a hall
    assert township is not None, township_code  # agents are only created for known townships and halls
    # A township: its village stations. A hall: the villages of the area it serves, where its applicants live.
    units = ([u for u in ref.units_under(township_code) if u.code != township.code] if ref.hall(township_code) is None
             else ref.units_under(ref.residence_prefix(township_code), Level.VILLAGE))
    items = ref.items_for_agents
    calendar = app[CALENDAR]
    follow_up = app[CONFIG].follow_up_workdays or None
    version = hashlib.sha256(msgspec.json.encode([township, units, items, calendar, follow_up])).hexdigest()[:16]
    return ReferenceResponse(version=version, township=township, org_units=units, items=items, calendar=calendar,
                             follow_up_workdays=follow_up)
