"""TLS as an attacker on the township link meets it, with certificates made at test time and real processes on
loopback: the county server speaks HTTPS itself (HSTS, Secure cookies), a real township agent syncs over it with the
county's private CA and its client certificate, and a PC's token is refused without its certificate, with another
PC's, or with one of a stranger's CA (the handshake fails). Plain HTTP to the TLS port gets nothing."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from scripts.cluster import Cluster, http_json
from tests import postgres
from tests.browser.county import add_account
from tests.e2e.certs import Pair, make_ca, make_leaf
from tests.e2e.conftest import accept, wait_synced

pytestmark = pytest.mark.e2e
PASSWORD = "县里的看板密码-2026"


class Certs:
    def __init__(self, where: Path) -> None:
        self.ca = make_ca(where, "county-ca")
        self.server = make_leaf(where, self.ca, "county-server", server=True)
        self.pc_a = make_leaf(where, self.ca, "pc-a", server=False)
        self.pc_b = make_leaf(where, self.ca, "pc-b", server=False)
        stranger = make_ca(where / "stranger", "stranger-ca")
        self.stranger = make_leaf(where / "stranger", stranger, "pc-x", server=False)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return Certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def county(tmp_path: Path, certs: Certs):
    cluster = Cluster(tmp_path / "cluster", ca_file=certs.ca.cert, storage=postgres.storage_section(tmp_path),
                      server_settings=(
        f'[tls]\ncert_file = "{certs.server.cert}"\nkey_file = "{certs.server.key}"\n'
        f'client_ca_file = "{certs.ca.cert}"\nrequire_client_cert = true\n'))
    cluster.server.start()
    yield cluster
    cluster.stop_all()


def _context(certs: Certs, client: Pair | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certs.ca.cert)
    if client is not None:
        context.load_cert_chain(client.cert, client.key)
    return context


def _call(url: str, context: ssl.SSLContext, method: str = "GET", body: Any = None, token: str | None = None
          ) -> tuple[int, dict[str, Any], Any]:
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), method=method,
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(req, timeout=10, context=context) as resp:
            return resp.status, json.loads(resp.read() or b"{}"), resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}"), exc.headers


def _register(county: Cluster, name: str, cert: Pair | None) -> tuple[str, str]:
    out = json.loads(county.county("agents", "add", "--township", "513422100", "--name", name, "--json"))
    if cert is not None:
        county.county("agents", "bind-cert", "--agent", out["agent_id"], "--cert-file", str(cert.cert))
    return out["agent_id"], out["token"]


def test_https_with_hsts_and_secure_cookies_and_nothing_over_plain_http(county: Cluster, certs: Certs) -> None:
    status, body, headers = _call(f"{county.server_url}/healthz", _context(certs, None))
    assert status == 200 and body == {"status": "ok"}
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    add_account(county, "zhangsan", PASSWORD)
    status, body, headers = _call(f"{county.server_url}/api/v1/session", _context(certs, None), "POST",
                                  {"name": "zhangsan", "password": PASSWORD})
    cookie = headers["Set-Cookie"]
    assert status == 200 and "county_session=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    with pytest.raises((ConnectionError, urllib.error.URLError, OSError)):
        http_json("GET", f"http://127.0.0.1:{county.server_port}/healthz", timeout_s=3)
    # the server's certificate is checked: a client that trusts only the system's CAs refuses it
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(f"{county.server_url}/healthz", timeout=5, context=ssl.create_default_context())


def test_a_pcs_token_works_only_with_its_own_certificate(county: Cluster, certs: Certs) -> None:
    agent_a, token_a = _register(county, "窗口A", certs.pc_a)
    _register(county, "窗口B", certs.pc_b)
    reference = f"{county.server_url}/api/v1/reference"
    status, body, _ = _call(reference, _context(certs, certs.pc_a), token=token_a)
    assert status == 200 and body["township"]["code"] == "513422100000", body
    status, body, _ = _call(reference, _context(certs, certs.pc_b), token=token_a)  # another PC's certificate
    assert status == 403 and body["code"] == "client_cert_mismatch", body
    status, body, _ = _call(reference, _context(certs, None), token=token_a)  # the stolen token alone
    assert status == 403 and body["code"] == "client_cert_required", body
    with pytest.raises((urllib.error.URLError, ConnectionError, ssl.SSLError)):  # a stranger CA's: no handshake
        _call(reference, _context(certs, certs.stranger), token=token_a)
    _, unbound_token = _register(county, "窗口C", None)  # require_client_cert: a PC without a binding is refused
    status, body, _ = _call(reference, _context(certs, certs.pc_a), token=unbound_token)
    assert status == 403 and body["code"] == "client_cert_required", body
    out = county.county("audit", "list", "--limit", "10")
    assert any("agent_cert_bound" in line and agent_a in line for line in out.splitlines()), out


def test_a_real_agent_syncs_over_https_with_the_county_ca_and_its_certificate(county: Cluster, certs: Certs
                                                                               ) -> None:
    tls = (f'ca_file = "{certs.ca.cert}"\ncert_file = "{certs.pc_a.cert}"\nkey_file = "{certs.pc_a.key}"\n')
    agent = county.add_agent("a", county_settings=tls)
    agent_id = json.loads(county.county("agents", "list", "--json").splitlines()[0])["agent_id"]
    county.county("agents", "bind-cert", "--agent", agent_id, "--cert-file", str(certs.pc_a.cert))
    agent.start()
    wait_synced(county.agent_url("a"))  # the first round, over HTTPS, fetches the catalog and calendar
    case = accept(county.agent_url("a"))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status, listed, _ = _call(f"{county.server_url}/api/v1/cases?limit=10&figure=accepted",
                                  _context(certs, None), token=county.admin_token)
        if status == 200 and any(r["case_id"] == case["case_id"] for r in listed["rows"]):
            break
        time.sleep(0.3)
    else:
        pytest.fail(f"the case did not reach the county over HTTPS: {status} {listed}")
