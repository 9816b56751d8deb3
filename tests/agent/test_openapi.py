"""The agent's OpenAPI document describes every route and method of its router (static files aside), and is served."""

from __future__ import annotations

from agent.http.openapi import build_openapi


async def test_the_document_describes_every_route_and_method(agent_client) -> None:
    doc = build_openapi()
    assert doc["openapi"].startswith("3.1")
    routes = {(r.resource.canonical, r.method.lower()) for r in agent_client.server.app.router.routes()
              if r.resource is not None and r.method != "HEAD"
              and not r.resource.canonical.startswith(("/static", "/messages"))}
    assert {(path, method) for path, ops in doc["paths"].items() for method in ops} == routes
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["summary"] and op["responses"], (method, path)


async def test_the_document_is_served(agent_client) -> None:
    r = await agent_client.get("/api/openapi.json")
    assert r.status == 200 and (await r.json())["paths"]["/api/cases"]["post"]["responses"]["201"]
