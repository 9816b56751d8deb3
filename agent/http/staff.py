"""Local JSON routes the staff page needs beyond the case API: today's work, consultations, a case's history, and
correcting quarantined events. HTTP only: the rules live in `today`, `consultations` and `corrections`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aiohttp import web

from agent.corrections import editable_fields
from agent.errors import CaseNotFound, EventNotQuarantined, InvalidInput
from agent.explain import refusal_reason
from agent.http.api import SERVICE, STORE, SYNCER, case_json, code_response, json_body
from agent.today import counts, flag_of, worklist
from protocol.certificates import mask_certificate
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


@routes.get("/api/cases/{case_id}/history")
async def history(request: web.Request) -> web.Response:
    """One case with its flag, masked certificate number and every event with its sync status."""
    service, store = request.app[SERVICE], request.app[STORE]
    case = await store.get_case(request.match_info["case_id"])
    if case is None:
        raise CaseNotFound(request.match_info["case_id"])
    ref = request.app[SYNCER].reference
    flag = flag_of(case, service.today(), ref.calendar if ref else None)
    events = await store.case_events(case.case_id)
    return web.json_response({
        "case": case_json(case) | {
            "flag": flag, "cert_no_masked": mask_certificate(case.cert_no),
            "supplement_deadline": ref.supplement_deadline(case) if ref else None,
            "centre_phone": ref.phone_of(case.org_code) if ref else None,
        },
        "events": [{"seq": e.seq, "event_id": e.event_id, "kind": e.kind, "at": e.at, "status": e.status,
                    "data": e.data} for e in events],
    })


@routes.post("/api/consultations")
async def create_consultation(request: web.Request) -> web.Response:
    row = await request.app[SERVICE].consult(await json_body(request))
    return web.json_response(asdict(row), status=201)


@routes.get("/api/consultations")
async def list_consultations(request: web.Request) -> web.Response:
    day = request.query.get("day") or request.app[SERVICE].today().isoformat()
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
