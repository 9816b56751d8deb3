"""`GET /healthz` and `GET /api/v1/openapi.json`."""

from __future__ import annotations

from aiohttp import web

from protocol import API_PREFIX
from server.http.common import json_response
from server.http.openapi import build_openapi

routes = web.RouteTableDef()
_OPENAPI = build_openapi()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@routes.get(f"{API_PREFIX}/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return json_response(_OPENAPI)
