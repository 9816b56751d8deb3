"""The rating screen (评价屏) over HTTP: the page at /rate for a second screen at the window, and its API. The agent's
guard applies as to every route: the Host allow-list, and state changes only as JSON from no page or our own."""

from __future__ import annotations

from aiohttp import web

from agent.http.api import case_json, json_body
from agent.http.page import html_file
from agent.rating_desk import RatingDesk

routes = web.RouteTableDef()
DESK = web.AppKey("rating_desk", RatingDesk)


@routes.get("/rate")
async def rate_page(request: web.Request) -> web.FileResponse:
    """The resident's screen: five large faces, the case's item and staff; works with no network."""
    return html_file("rate.html")


@routes.get("/api/rate/current")
async def current(request: web.Request) -> web.Response:
    """What the screen shows now (polled): the handed-over case, or null."""
    req = request.app[DESK].current
    return web.json_response({"request": None if req is None else req.view()})


@routes.post("/api/rate/handoff")
async def hand_over(request: web.Request) -> web.Response:
    """Staff hand a case to the screen: `{"case_id": …, "step": "completion"}` (step optional)."""
    body = await json_body(request)
    case_id, step = body.get("case_id"), body.get("step")
    req = await request.app[DESK].hand_over(str(case_id or ""), None if step is None else str(step))
    return web.json_response({"request": req.view()}, status=201)


@routes.post("/api/rate/cancel")
async def take_back(request: web.Request) -> web.Response:
    request.app[DESK].take_back()
    return web.json_response({"request": None})


@routes.post("/api/rate/give")
async def give(request: web.Request) -> web.Response:
    """The resident's tap: `{"request_id": …, "rating": 1..5}`; stored on this PC before the answer."""
    body = await json_body(request)
    case = await request.app[DESK].rate(str(body.get("request_id") or ""), body.get("rating"))
    rating = case.ratings[-1] if case.ratings else None
    return web.json_response({"case": case_json(case), "rating": None if rating is None else rating.rating},
                             status=201)
