"""The local API keeps other web pages out (agent/http/guard.py), tried as an attacker's page would send it: a
rebinding Host, cross-origin "simple" requests (text/plain, forms, no content type), a foreign Origin, framing.
The real agent app on a loopback port; what is stored is read back through the API."""

from __future__ import annotations

import json
import logging

import pytest
from aiohttp.test_utils import TestClient, TestServer

from agent.app import build_app
from agent.config import config_from_dict
from agent.errors import ConfigError
from tests.agent.conftest import TOKEN, VALID_ID, accept_form

CASE_JSON = json.dumps(accept_form(), ensure_ascii=False).encode()  # a whole valid case, as the attack page sends it


def _host(client: TestClient) -> str:
    return f"127.0.0.1:{client.port}"


async def _count(client: TestClient) -> int:
    return len((await (await client.get("/api/cases")).json())["cases"])


async def test_a_rebinding_host_gets_an_error_and_no_data(agent_client):
    assert (await agent_client.post("/api/cases", json=accept_form())).status == 201
    port = agent_client.port
    for host in (f"rebind.example:{port}", "rebind.example", f"127.0.0.1.rebind.example:{port}",
                 f"127.0.0.1:{port + 1}", ""):
        for path in ("/api/cases", "/api/status", "/", "/static/app.js", "/metrics"):
            resp = await agent_client.get(path, headers={"Host": host})
            body = await resp.read()
            assert resp.status == 403, (host, path)
            assert (await resp.json())["code"] == "host_not_allowed"
            assert VALID_ID.encode() not in body and "扎西".encode() not in body and b"agent_id" not in body
    for host in (_host(agent_client), f"localhost:{agent_client.port}", f"LOCALHOST:{agent_client.port}"):
        resp = await agent_client.get("/api/cases", headers={"Host": host})
        assert resp.status == 200 and VALID_ID in await resp.text()


@pytest.mark.parametrize(("content_type", "body"), [
    ("text/plain", CASE_JSON),  # fetch(..., {mode: "no-cors", headers: {"Content-Type": "text/plain"}})
    ("text/plain;charset=UTF-8", CASE_JSON),
    ("application/x-www-form-urlencoded", b"item_code=GG-001&applicant_name=x"),  # <form method=post>
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\nb\r\n--x--\r\n"),
    (None, CASE_JSON),  # fetch with a Blob body and no type
])
async def test_a_change_not_sent_as_json_is_refused_and_stores_nothing(agent_client, content_type, body):
    headers = {"Content-Type": content_type} if content_type else {}
    resp = await agent_client.post("/api/cases", data=body, headers=headers, skip_auto_headers=["Content-Type"])
    assert resp.status == 415
    assert (await resp.json())["code"] == "json_required"
    assert await _count(agent_client) == 0
    assert (await (await agent_client.get("/api/status")).json())["pending"] == 0


async def test_a_foreign_origin_is_refused_even_with_json_and_the_own_origin_or_none_is_served(agent_client):
    own = f"http://{_host(agent_client)}"
    for origin in ("http://evil.example", "null", f"http://127.0.0.1:{agent_client.port + 1}",
                   own.replace("http", "https")):
        resp = await agent_client.post("/api/cases", json=accept_form(), headers={"Origin": origin})
        assert resp.status == 403 and (await resp.json())["code"] == "cross_origin", origin
        resp = await agent_client.post("/api/sync", json={}, headers={"Origin": origin})
        assert resp.status == 403, origin
    assert await _count(agent_client) == 0
    assert (await agent_client.post("/api/cases", json=accept_form(), headers={"Origin": own})).status == 201
    assert (await agent_client.post("/api/cases", json=accept_form())).status == 201  # curl: no Origin
    assert await _count(agent_client) == 2


async def test_a_preflight_is_never_granted(agent_client):
    resp = await agent_client.options("/api/cases", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert resp.status >= 400
    assert not [h for h in resp.headers if h.lower().startswith("access-control-")]


async def test_every_answer_forbids_framing_sniffing_and_referrers(agent_client):
    for method, path, kwargs in (("GET", "/", {}), ("GET", "/static/app.js", {}), ("GET", "/api/status", {}),
                                 ("GET", "/api/cases/nope", {}), ("GET", "/no/such/page", {}),
                                 ("POST", "/api/cases", {"data": b"x", "headers": {"Content-Type": "text/plain"}}),
                                 ("GET", "/api/cases", {"headers": {"Host": "rebind.example"}})):
        resp = await agent_client.request(method, path, **kwargs)
        headers = resp.headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cross-Origin-Resource-Policy"] == "same-origin"
    page = await agent_client.get("/")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]  # the page's own policy is kept
    assert (await agent_client.get("/api/status")).headers["Cache-Control"] == "no-store"


async def test_deeply_nested_json_is_a_clear_error_not_a_crash(agent_client):
    resp = await agent_client.post("/api/cases", data=b"[" * 100_000 + b"]" * 100_000,
                                   headers={"Content-Type": "application/json"})
    assert resp.status == 422
    assert (await resp.json())["code"] == "invalid_input"


def _raw(host: str, **agent) -> dict:
    return {"agent": {"host": host, "database": "agent.sqlite3", **agent},
            "county": {"url": "http://127.0.0.1:9", "token": TOKEN}}


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "pc1.township.lan"])
def test_a_listen_address_beyond_loopback_is_refused_unless_allowed(tmp_path, host):
    with pytest.raises(ConfigError, match="not a loopback address"):
        config_from_dict(_raw(host), tmp_path / "agent.toml")
    assert config_from_dict(_raw(host, allow_non_loopback=True), tmp_path / "agent.toml").host == host


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_loopback_addresses_need_no_setting(tmp_path, host):
    assert config_from_dict(_raw(host), tmp_path / "agent.toml").host == host


async def test_an_allowed_address_beyond_loopback_is_logged_as_a_warning_and_its_name_is_answered(tmp_path, caplog):
    raw = _raw("0.0.0.0", allow_non_loopback=True)
    config = config_from_dict(raw, tmp_path / "agent.toml")
    caplog.set_level(logging.WARNING)
    async with TestClient(TestServer(build_app(config, run_schedule=False), host="127.0.0.1")) as client:
        assert any("agent listening beyond loopback host=0.0.0.0" in r.getMessage() for r in caplog.records)
        assert (await client.get("/api/status", headers={"Host": f"0.0.0.0:{client.port}"})).status == 200
        assert (await client.get("/api/status", headers={"Host": f"evil.example:{client.port}"})).status == 403

