"""Behind a TLS reverse proxy: X-Forwarded-Proto and X-Forwarded-For are believed only from [server] trusted_proxy
(Secure cookie, HSTS, the client's address in the audit log and the login throttle), never from anyone else; plain
HTTP on a network address without TLS or a proxy does not start."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from server.app import build_app
from server.config import load_config
from server.errors import ConfigError
from server.http.common import STORE
from server.http.dashboard import ACCOUNTS
from server.storage.base import AuditQuery
from tests.server.helpers import config_text

PASSWORD = "县政务服务看板 2026!"
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9, 10.20.30.40"}


async def _login_through(tmp_path: Path, trusted_proxy: str) -> tuple[str, dict[str, str], str]:
    path = tmp_path / "server.toml"
    path.write_text(config_text(server=f'trusted_proxy = "{trusted_proxy}"\n', where=tmp_path), encoding="utf-8")
    app = await build_app(load_config(path))
    async with TestServer(app, host="127.0.0.1", port=0) as server, aiohttp.ClientSession() as session:
        await app[ACCOUNTS].add("zhangsan", PASSWORD)
        async with session.post(server.make_url("/api/v1/session"), headers=FORWARDED,
                                json={"name": "zhangsan", "password": PASSWORD}) as r:
            assert r.status == 200
            cookie, headers = r.headers["Set-Cookie"], dict(r.headers)
        [entry] = (await app[STORE].audit_entries(AuditQuery(action="login")))[1]
        return cookie, headers, entry.address


async def test_the_trusted_proxy_makes_cookies_secure_and_names_the_client(tmp_path: Path) -> None:
    cookie, headers, address = await _login_through(tmp_path, "127.0.0.1")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    assert address == "10.20.30.40"  # what the proxy appended, not what the client claimed before it


async def test_forwarded_headers_from_anyone_else_are_ignored(tmp_path: Path) -> None:
    cookie, headers, address = await _login_through(tmp_path, "192.0.2.1")
    assert "Secure" not in cookie and "Strict-Transport-Security" not in headers
    assert address == "127.0.0.1"


@pytest.mark.parametrize("server, expected", [
    ('host = "0.0.0.0"\n', "plain HTTP on a network"),
    ('trusted_proxy = "not-an-address"\n', "trusted_proxy"),
])
def test_plain_http_on_a_network_address_is_refused(tmp_path: Path, server: str, expected: str) -> None:
    path = tmp_path / "server.toml"
    path.write_text(config_text(server=server), encoding="utf-8")
    with pytest.raises(ConfigError, match=expected):
        load_config(path)


def test_tls_settings_go_together(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    for tls, expected in (('cert_file = "a.pem"\n', "give both"),
                          ('require_client_cert = true\n', "needs client_ca_file"),
                          ('client_ca_file = "ca.pem"\n', "needs cert_file")):
        path.write_text(config_text(tables=f"[tls]\n{tls}"), encoding="utf-8")
        with pytest.raises(ConfigError, match=expected):
            load_config(path)
