"""Roles as a township viewer of 乔瓦镇 tries them: every route of the server's router, walked from the router itself
(a route added without a rule here fails `test_every_route_has_a_rule`), answers only 乔瓦镇's rows, or refuses.
Also the auditor's and the county admin's reach, and `users add --role`."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from click.testing import CliRunner

from server.cli import main
from server.http.dashboard import ACCOUNTS
from server.reports.tables import TABLES
from tests.server.helpers import ADMIN_TOKEN, METRICS_TOKEN, QIAOWA, WACHANG, CountyServer, push_conflict

PASSWORD = "县政务服务看板 2026!"
COUNTY = "513422"
VILLAGE = "513422100201"  # a village of 乔瓦镇
PERIOD = "period=2026"

# How each route answers a township viewer. Every (method, path) of the router must be here.
#   scoped:   figures/lists that take `org`: the viewer's answer is the county admin's for org=乔瓦镇, and another
#             township or the county is 403 outside_township
#   rows:     lists without `org` (PCs, the org tree): only 乔瓦镇's rows
#   export:   every table of /export/{table}, each as `scoped` or `rows`
#   county:   county-wide figures for admins: 403 outside_township
#   auditor:  the audit log: 403 auditor_only
#   agent:    township PCs only (agent token): a session opens nothing (401)
#   metrics:  the metrics token: a session opens nothing (401)
#   case:     one case's page or materials by its id: 乔瓦镇's case answers, 瓦厂镇's is not found or 403
#   search:   a 瓦厂镇 case number finds nothing, a 乔瓦镇 one finds its case
#   admin:    county admins only (correction grants): 403
#   file:     one material's file by its id: an unknown id is 404 (its township check is `case`'s)
#   public:   no township data (health, the API description, the page's files, the session itself)
RULES: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/overview"): "scoped",
    ("GET", "/api/v1/units"): "scoped",
    ("GET", "/api/v1/summary"): "scoped",
    ("GET", "/api/v1/report"): "scoped",
    ("GET", "/api/v1/follow-ups"): "scoped",
    ("GET", "/api/v1/items"): "catalog",
    ("GET", "/api/v1/cases/{case_id}"): "case",
    ("GET", "/api/v1/cases/{case_id}/attachments"): "case",
    ("POST", "/api/v1/cases/{case_id}/grants"): "admin",
    ("GET", "/api/v1/search"): "search",
    ("GET", "/api/v1/attachments/{attachment_id}/file"): "file",
    ("POST", "/api/v1/attachments"): "agent",
    ("PATCH", "/api/v1/uploads/{sha256}"): "agent",
    ("GET", "/api/v1/cases"): "scoped",
    ("GET", "/api/v1/conflicts"): "scoped",
    ("GET", "/api/v1/agents"): "rows",
    ("GET", "/api/v1/org-units"): "rows",
    ("GET", "/api/v1/export/{table}"): "export",
    ("GET", "/api/v1/stats"): "county",
    ("GET", "/api/v1/audit"): "auditor",
    ("GET", "/api/v1/audit/export"): "auditor",
    ("POST", "/api/v1/sync/push"): "agent",
    ("POST", "/api/v1/sync/pull"): "agent",
    ("GET", "/api/v1/sync/pull"): "agent",
    ("GET", "/api/v1/reference"): "agent",
    ("POST", "/api/v1/staff"): "agent",
    ("GET", "/metrics"): "metrics",
    ("GET", "/readyz"): "public",
    ("GET", "/healthz"): "public",
    ("GET", "/api/v1/openapi.json"): "public",
    ("POST", "/api/v1/session"): "public",
    ("GET", "/api/v1/session"): "public",
    ("DELETE", "/api/v1/session"): "public",
    ("GET", "/"): "public",
    ("GET", "/dashboard/fonts/{name}"): "public",
    ("GET", "/dashboard/{path}"): "public",
}
# The tables whose rows are PCs (no `org`); the others take `org` like the figures.
ROW_TABLES = {"agents"}
CATALOG_TABLES = {"items"}  # the county's catalogue: the same for every reader, nothing of a township in it


def router_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route of the app; HEAD answers as its GET."""
    return {(r.method, r.resource.canonical) for r in app.router.routes()
            if r.method != "HEAD" and r.resource is not None}


class Client:
    def __init__(self, session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None) -> None:
        self.session, self.url, self.headers = session, url, headers or {}

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(self.url + path, headers=self.headers, allow_redirects=False) as r:
            body = await r.read()
            return r.status, body.decode("utf-8", "replace")

    async def send(self, method: str, path: str) -> int:
        async with self.session.request(method, self.url + path, headers=self.headers, json={}) as r:
            return r.status


async def _login(county: CountyServer, name: str, role: str, township: str | None = None) -> aiohttp.ClientSession:
    await county.app[ACCOUNTS].add(name, PASSWORD, role, township)
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.post(f"{county.url}/api/v1/session", json={"name": name, "password": PASSWORD}) as r:
        assert r.status == 200, await r.text()
        info = await r.json()
        assert info["role"] == role and info["township_code"] == township
    return session


@pytest.fixture
async def two_townships(county_server: CountyServer) -> CountyServer:
    """Cases, ratings, a consultation and a conflict in 乔瓦镇 and in 瓦厂镇."""
    for township, n in ((QIAOWA, 3), (WACHANG, 2)):
        agent = await county_server.add_agent(township, "受理窗口")
        events = []
        for i in range(n):
            accepted = agent.accepted(f"2026-03-0{i + 2}", org_code=VILLAGE if township == QIAOWA and i == 0 else None)
            events += [accepted, agent.completed(accepted["case_id"], f"2026-03-0{i + 3}"),
                       agent.evaluated(accepted["case_id"], f"2026-03-0{i + 3}", rating=1 + i)]
        events.append(agent.consulted())
        await county_server.push(agent, events)
        await push_conflict(county_server, township)
    return county_server


@pytest.fixture
async def viewer(two_townships: CountyServer):
    session = await _login(two_townships, "qiaowa-viewer", "township_viewer", QIAOWA)
    yield Client(session, two_townships.url)
    await session.close()


def _admin(county: CountyServer) -> Client:
    return Client(county.session, county.url, {"Authorization": f"Bearer {ADMIN_TOKEN}"})


def test_every_route_has_a_rule(county_server: CountyServer) -> None:
    routes = router_routes(county_server.app)
    assert routes - set(RULES) == set(), "a route without a township-viewer rule: add it to RULES"
    assert set(RULES) - routes == set(), "a rule for a route that is gone"


async def _scoped(viewer: Client, admin: Client, path: str) -> None:
    sep = "&" if "?" in path else "?"
    status, mine = await viewer.get(path)
    assert status == 200, (path, mine)
    status, township = await admin.get(f"{path}{sep}org={QIAOWA}")
    assert status == 200 and mine == township, path  # exactly 乔瓦镇's answer
    status, county = await admin.get(path)
    assert status == 200 and county != mine, path  # and not the county's
    status, body = await viewer.get(f"{path}{sep}org={VILLAGE}")  # its own village: allowed (the units of a
    assert status == 200 or json.loads(body)["code"] == "invalid_filter", (path, body)  # village may not exist)
    for other in (WACHANG, f"{WACHANG}000", f"{WACHANG}201", COUNTY, "513422999"):
        status, body = await viewer.get(f"{path}{sep}org={other}")
        assert status == 403 and json.loads(body)["code"] == "outside_township", (path, other, body)


async def _a_case(admin: Client, township: str) -> dict[str, Any]:
    status, body = await admin.get(f"/api/v1/cases?{PERIOD}&figure=accepted&org={township}")
    assert status == 200, body
    return json.loads(body)["rows"][0]


async def _catalog(viewer: Client, admin: Client, path: str) -> None:
    status, mine = await viewer.get(path)
    assert status == 200, (path, mine)
    status, county = await admin.get(path)
    assert status == 200 and mine == county and WACHANG not in mine and "瓦厂镇" not in mine, path


async def _rows(viewer: Client, admin: Client, path: str) -> None:
    status, mine = await viewer.get(path)
    assert status == 200 and QIAOWA in mine and WACHANG not in mine and "瓦厂镇" not in mine, (path, mine[:300])
    status, county = await admin.get(path)
    assert status == 200 and WACHANG in county, path  # the admin's answer has 瓦厂镇: the test can fail


async def test_a_township_viewer_reads_only_its_township_on_every_route(two_townships: CountyServer,
                                                                        viewer: Client) -> None:
    admin = _admin(two_townships)
    for (method, path), rule in sorted(RULES.items()):
        if rule == "scoped":
            extra = "&figure=accepted" if path.endswith("/cases") else "&state=all" if "conflicts" in path else ""
            await _scoped(viewer, admin, f"{path}?{PERIOD}{extra}")
            if path.endswith("/units"):
                await _scoped(viewer, admin, f"{path}?{PERIOD}&level=village")
        elif rule == "rows":
            await _rows(viewer, admin, path)
        elif rule == "catalog":
            await _catalog(viewer, admin, f"{path}?as_of=2026-06-30")
        elif rule == "export":
            for table in TABLES:
                export = path.replace("{table}", table) + f"?format=csv&{PERIOD}"
                if table == "conflicts":
                    export += "&state=all"
                check = _rows if table in ROW_TABLES else _catalog if table in CATALOG_TABLES else _scoped
                await check(viewer, admin, export)
                status, _ = await viewer.get(export.replace("format=csv", "format=xlsx"))
                assert status == 200, export
        elif rule == "county":
            status, body = await viewer.get(f"{path}?level=township&from=2026-01-01&to=2026-12-31")
            assert status == 403 and json.loads(body)["code"] == "outside_township", body
        elif rule == "auditor":
            status, body = await viewer.get(path)
            assert status == 403 and json.loads(body)["code"] == "auditor_only", body
        elif rule in ("case", "search"):
            mine, other = await _a_case(admin, QIAOWA), await _a_case(admin, WACHANG)
            if rule == "case":
                status, body = await viewer.get(path.replace("{case_id}", mine["case_id"]))
                assert status == 200 and (mine["case_id"] in body or body == '{"attachments":[]}'), (path, body)
                status, body = await viewer.get(path.replace("{case_id}", other["case_id"]))
                assert status in (403, 404) and other["case_no"] not in body and "瓦厂镇" not in body, (path, body)
            else:
                status, body = await viewer.get(f"{path}?q={mine['case_no']}")
                assert status == 200 and mine["case_id"] in body, body[:200]
                status, body = await viewer.get(f"{path}?q={other['case_no']}")
                assert status == 200 and other["case_id"] not in body and "瓦厂镇" not in body, body[:200]
        elif rule == "admin":
            status = await viewer.send(method, path.replace("{case_id}", (await _a_case(admin, QIAOWA))["case_id"]))
            assert status in (403, 415), (method, path, status)
        elif rule == "file":
            status, body = await viewer.get(path.replace("{attachment_id}", "0" * 32))
            assert status == 404, (path, status, body[:200])
        elif rule in ("agent", "metrics"):
            status = await viewer.send(method, path.replace("{sha256}", "0" * 64))
            assert status == 401, (method, path, status)
        else:
            assert rule == "public", rule


async def test_the_viewers_cases_are_its_own_and_other_townships_rows_never_show(two_townships: CountyServer,
                                                                                viewer: Client) -> None:
    status, body = await viewer.get(f"/api/v1/cases?{PERIOD}&figure=accepted&limit=500")
    rows = json.loads(body)["rows"]
    assert status == 200 and len(rows) == 4 and {r["township_code"] for r in rows} == {QIAOWA}
    status, text = await viewer.get(f"/api/v1/export/cases?format=csv&{PERIOD}")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert status == 200 and WACHANG not in text and "瓦厂镇" not in text and len(lines) >= 5
    status, body = await viewer.get("/api/v1/session")
    assert json.loads(body)["township_name"] == "乔瓦镇"


async def test_the_auditor_and_the_admin_read_the_county(two_townships: CountyServer) -> None:
    for role in ("auditor", "county_admin"):
        session = await _login(two_townships, f"reader-{role}".replace("_", "-"), role)
        try:
            client = Client(session, two_townships.url)
            status, body = await client.get(f"/api/v1/cases?{PERIOD}&limit=500")
            assert status == 200 and {r["township_code"] for r in json.loads(body)["rows"]} == {QIAOWA, WACHANG}
            status, _ = await client.get("/api/v1/stats?level=township&from=2026-01-01&to=2026-12-31")
            assert status == 200
        finally:
            await session.close()


async def test_metrics_still_need_their_token(two_townships: CountyServer, viewer: Client) -> None:
    viewer.headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    status, text = await viewer.get("/metrics")
    assert status == 200 and "county_server" in text


async def test_users_add_takes_a_role_and_a_township(tmp_path: Path, config_file: Path) -> None:
    def run(*args: str) -> Any:
        return CliRunner().invoke(main, [*args, "--config", str(config_file)], input=PASSWORD + "\n")

    result = await asyncio.to_thread(run, "users", "add", "--name", "qv", "--role", "township_viewer",
                                     "--township", QIAOWA, "--password-stdin")
    assert result.exit_code == 0 and "township 513422100" in result.output, result.output
    bad = await asyncio.to_thread(run, "users", "add", "--name", "qv2", "--role", "township_viewer",
                                  "--password-stdin")
    assert bad.exit_code == 2 and "9-digit" in bad.output, bad.output
    unknown = await asyncio.to_thread(run, "users", "add", "--name", "qv3", "--role", "township_viewer",
                                      "--township", "513422999", "--password-stdin")
    assert unknown.exit_code == 2 and "not in the county" in unknown.output, unknown.output
    listed = await asyncio.to_thread(run, "users", "list")
    assert "qv  role=township_viewer  township=513422100" in listed.output, listed.output
