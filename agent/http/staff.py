"""Local JSON routes the staff page needs beyond the case API: today's work, consultations, a case's history, and
correcting quarantined events. HTTP only: the rules live in `today`, `consultations` and `corrections`."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from typing import Any

import msgspec
from aiohttp import web

from agent.corrections import editable_fields
from agent.errors import CaseNotFound, EventNotQuarantined, InvalidInput
from agent.explain import refusal_reason
from agent.http.api import SERVICE, STORE, SYNCER, case_json, code_response, json_body
from agent.service import can_redo
from agent.store import AgentStore
from agent.today import counts, flag_of, worklist
from protocol.certificates import mask_certificate
from protocol.corrections import CORRECTABLE, needs_grant
from protocol.lifecycle import Case
from protocol.messages import Conflict
from protocol.vocabulary import EventKind

routes = web.RouteTableDef()

OPEN_CASES_MAX = 1000  # a township centre has tens to hundreds open; the page lists them all


def _not_quarantined(e: EventNotQuarantined) -> web.Response:
    return code_response("not_quarantined", e.event_id)


@routes.get("/api/today")
async def today(request: web.Request) -> web.Response:
    """Open cases with their flags, bad ratings awaiting follow-up, and today's consultations."""
    service, store = request.app[SERVICE], request.app[STORE]
    ref = request.app[SYNCER].reference
    calendar = ref.calendar if ref else None
    day = service.today()
    flagged = worklist(await store.list_cases(open_only=True, limit=OPEN_CASES_MAX), day, calendar)
    return web.json_response({
        "today": day.isoformat(),
        "calendar": calendar and {"version": calendar.version, "first_year": calendar.first_year,
                                  "last_year": calendar.last_year},
        "counts": counts(flagged),
        "cases": [case_json(c) | {"flag": flag} for c, flag in flagged],
        "follow_ups": [case_json(c) for c in await store.cases_to_follow_up()],
        "consultations": [asdict(c) for c in await store.consultations_on(day.isoformat())],
    })


async def _names(store: AgentStore, own_id: str) -> dict[str, str]:
    """agent_id -> the PC's name as the county registered it (from the pull)."""
    names: dict[str, str] = json.loads((await store.get_meta()).get("township_agents") or "{}")
    return names


def _who(agent_id: str | None, names: dict[str, str], own_id: str) -> dict[str, Any] | None:
    if agent_id is None:
        return None
    return {"agent_id": agent_id, "name": names.get(agent_id), "is_this_pc": agent_id == own_id}


async def _conflict_json(store: AgentStore, c: Conflict, case: Case | None, names: dict[str, str], own_id: str
                         ) -> dict[str, Any]:
    lost = await store.known_event(c.event_id, own_id)
    data = msgspec.json.decode(lost.data) if lost is not None else {}
    return msgspec.to_builtins(c) | {
        "data": data, "by": _who(c.agent_id, names, own_id), "lost_to_by": _who(c.lost_to_agent_id, names, own_id),
        "case_no": case.case_no if case else None, "applicant_name": case.applicant_name if case else None,
        "can_redo": bool(case is not None and c.is_open and can_redo(case, c.kind, data))}


@routes.get("/api/cases/{case_id}/history")
async def history(request: web.Request) -> web.Response:
    """One case with its flag, masked certificate number, which PC accepted it and acted last, its conflicts, and
    every event this PC knows of it: its own with their upload status, the other PCs' as pulled ("county")."""
    service, store, syncer = request.app[SERVICE], request.app[STORE], request.app[SYNCER]
    state = await store.case_state(request.match_info["case_id"])
    if state is None or state.case is None:
        raise CaseNotFound(request.match_info["case_id"])
    case, own_id = state.case, syncer.agent_id
    names = await _names(store, own_id)
    staff = await store.staff_names()
    ref = syncer.reference
    flag = flag_of(case, service.today(), ref.calendar if ref else None)
    grant = await service.grant_for(case.case_id)
    lost = {c.event_id for c in state.conflicts if c.is_open}
    events = [{"seq": e.seq, "event_id": e.event_id, "kind": e.kind, "at": e.at, "status": e.status,
               "data": e.data, "by": _who(own_id, names, own_id), "staff": _staff(e.staff_id, staff),
               "is_conflict": e.event_id in lost}
              for e in await store.case_events(case.case_id)]
    mine = {e["event_id"] for e in events}
    events += [{"seq": e.seq, "event_id": e.event_id, "kind": e.kind, "at": e.at, "status": "county",
                "data": msgspec.json.decode(e.data), "by": _who(e.agent_id, names, own_id),
                "staff": _staff(e.staff_id, staff), "is_conflict": e.event_id in lost}
               for e in await store.known_events([case.case_id], own_id) if e.event_id not in mine]
    events.sort(key=lambda e: (e["at"], e["event_id"]))
    return web.json_response({
        "case": case_json(case) | {
            "flag": flag, "cert_no_masked": mask_certificate(case.cert_no),
            "supplement_deadline": ref.supplement_deadline(case) if ref else None,
            "centre_phone": ref.phone_of(case.org_code) if ref else None,
            "accepted_by": _who(state.meta.accepted_by, names, own_id),
            "last_by": _who(state.meta.last_by, names, own_id),
            # 更正: the fields the page offers, those that need the county's grant now, and the grant if given.
            "correction": {"fields": list(CORRECTABLE), "locked": [] if grant else needs_grant(case, CORRECTABLE),
                           "grant": msgspec.to_builtins(grant) if grant else None},
        },
        "conflicts": [await _conflict_json(store, c, case, names, own_id) for c in state.conflicts],
        "events": events,
    })


def _staff(staff_id: str | None, names: dict[str, str]) -> dict[str, str] | None:
    """Who did it (None: before staff sign-in, or the agent itself)."""
    return None if staff_id is None else {"staff_id": staff_id, "name": names.get(staff_id, staff_id)}


@routes.get("/api/conflicts")
async def conflicts(request: web.Request) -> web.Response:
    """Open conflicts (县级未采纳): this PC's own (`?mine=1`), or the township's, with what staff can do."""
    store, syncer = request.app[STORE], request.app[SYNCER]
    own_id = syncer.agent_id
    names = await _names(store, own_id)
    found = await store.open_conflicts(own_id if request.query.get("mine") in ("1", "true") else None)
    return web.json_response({"conflicts": [await _conflict_json(store, c, await store.get_case(c.case_id), names,
                                                                 own_id) for c in found]})


@routes.post("/api/conflicts/{event_id}/accept")
async def accept_conflict(request: web.Request) -> web.Response:
    """以县级为准: body `{"note": "…"}` (optional). Records a `settled` event; the case stays as the county has it."""
    body = await json_body(request) if request.can_read_body else {}
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        raise InvalidInput("note 应为文字")
    case = await request.app[SERVICE].accept_conflict(request.match_info["event_id"], note or None)
    return web.json_response({"case": case_json(case)}, status=201)


@routes.post("/api/conflicts/{event_id}/redo")
async def redo_conflict(request: web.Request) -> web.Response:
    """按当前状态重做: body `{"data": {field: value}}` (optional changes to the action's data). The action again on
    the current state, and a `settled` event naming the one the county could not apply."""
    body = await json_body(request) if request.can_read_body else {}
    changes = body.get("data") or {}
    if not isinstance(changes, dict):
        raise InvalidInput("data 应为 JSON 对象")
    case = await request.app[SERVICE].redo_conflict(request.match_info["event_id"], changes)
    return web.json_response({"case": case_json(case)}, status=201)


@routes.post("/api/consultations")
async def create_consultation(request: web.Request) -> web.Response:
    row = await request.app[SERVICE].consult(await json_body(request))
    return web.json_response(asdict(row), status=201)


@routes.get("/api/consultations")
async def list_consultations(request: web.Request) -> web.Response:
    day = request.query.get("day") or request.app[SERVICE].today().isoformat()
    try:
        date.fromisoformat(day)
    except ValueError:
        raise InvalidInput("日期应为 YYYY-MM-DD", {"day": "日期应为 YYYY-MM-DD"}) from None
    return web.json_response({"day": day,
                              "consultations": [asdict(c) for c in await request.app[STORE].consultations_on(day)]})


@routes.get("/api/quarantine")
async def quarantine(request: web.Request) -> web.Response:
    """Refused events with the county's reason and the fields staff may correct before resending."""
    return web.json_response({"events": [
        {"seq": q.seq, "event_id": q.event_id, "case_id": q.case_id, "kind": q.kind, "code": q.code,
         "message": q.message, "reason": refusal_reason(q.code, q.message), "data": q.data,
         "editable": list(editable_fields(EventKind(q.kind)))}
        for q in await request.app[STORE].quarantined()
    ]})


@routes.post("/api/quarantine/{event_id}/resend")
async def resend(request: web.Request) -> web.Response:
    """Body `{"data": {field: corrected value}}`: a new event with the same case_id and kind, new event_id and seq."""
    body: dict[str, Any] = await json_body(request)
    changes = body.get("data") or {}
    if not isinstance(changes, dict):
        raise InvalidInput("data 应为 JSON 对象")
    try:
        seq, case = await request.app[SERVICE].resend(request.match_info["event_id"], changes)
    except EventNotQuarantined as e:
        return _not_quarantined(e)
    return web.json_response({"seq": seq, "case": case_json(case) if case else None}, status=201)


@routes.post("/api/quarantine/{event_id}/dismiss")
async def dismiss(request: web.Request) -> web.Response:
    """Staff decided the refused event is not to be sent again; it leaves the list."""
    event_id = request.match_info["event_id"]
    if not await request.app[STORE].dismiss_quarantined(event_id):
        return _not_quarantined(EventNotQuarantined(event_id))
    return web.json_response({"dismissed": event_id})
