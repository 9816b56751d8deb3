"""The audit log as an auditor reads it and as the county's admins and PCs fill it: logins (right, wrong, locked),
exports, refused reads outside a township, account and PC changes at the console, corrections and settlements pushed
by PCs (once each), who may read it (only the auditor), its China time and export, and the retention purge."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from server.admin.audit import purge_audit
from server.cli import main
from server.http.common import STORE
from server.http.dashboard import ACCOUNTS
from server.storage.base import AuditEntry, AuditQuery
from tests.server.helpers import ADMIN_TOKEN, QIAOWA, WACHANG, CountyServer, push_conflict

PASSWORD = "县政务服务看板 2026!"


async def _session(county: CountyServer, name: str, role: str = "county_admin", township: str | None = None
                   ) -> aiohttp.ClientSession:
    await county.app[ACCOUNTS].add(name, PASSWORD, role, township)
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.post(f"{county.url}/api/v1/session", json={"name": name, "password": PASSWORD}) as r:
        assert r.status == 200
    return session


async def _entries(county: CountyServer, **filters: Any) -> list[AuditEntry]:
    return (await county.app[STORE].audit_entries(AuditQuery(limit=500, **filters)))[1]


async def test_logins_exports_and_refused_reads_are_recorded_with_who_where_and_outcome(county_server) -> None:
    county = county_server
    viewer = await _session(county, "qiaowa-viewer", "township_viewer", QIAOWA)
    async with aiohttp.ClientSession() as anon:
        async with anon.post(f"{county.url}/api/v1/session", json={"name": "qiaowa-viewer", "password": "x" * 12}):
            pass
        async with anon.post(f"{county.url}/api/v1/session", json={"name": "nobody", "password": "y" * 12}):
            pass
    try:
        async with viewer.get(f"{county.url}/api/v1/export/cases?format=csv") as r:
            assert r.status == 200
        async with viewer.get(f"{county.url}/api/v1/overview?org={WACHANG}") as r:
            assert r.status == 403
        async with viewer.delete(f"{county.url}/api/v1/session") as r:
            assert r.status == 200
    finally:
        await viewer.close()
    rows = await _entries(county)
    seen = [(e.action, e.actor, e.outcome, e.target) for e in reversed(rows)]
    assert seen == [("login", "qiaowa-viewer", "ok", "qiaowa-viewer"),
                    ("login_failed", "qiaowa-viewer", "refused", "qiaowa-viewer"),
                    ("login_failed", "[unknown]", "refused", None),  # a made-up name may be a typed password
                    ("export", "qiaowa-viewer", "ok", "cases.csv"),
                    ("access_refused", "qiaowa-viewer", "refused", "/api/v1/overview"),
                    ("logout", "qiaowa-viewer", "ok", "qiaowa-viewer")], seen
    assert {e.address for e in rows} == {"127.0.0.1"}
    assert all(e.role == "township_viewer" for e in rows if e.actor == "qiaowa-viewer")
    assert json.loads(rows[1].detail or "{}") == {"org": WACHANG}
    assert "nobody" not in json.dumps([e.detail for e in rows]) and "y" * 12 not in json.dumps([e.detail for e in rows])


async def test_only_the_auditor_reads_and_exports_the_audit_log_in_china_time(county_server) -> None:
    county = county_server
    auditor = await _session(county, "shenji", "auditor")
    admin = await _session(county, "zhangsan")
    try:
        for client, headers in ((admin, {}), (county.session, {"Authorization": f"Bearer {ADMIN_TOKEN}"})):
            for path in ("/api/v1/audit", "/api/v1/audit/export?format=csv"):
                async with client.get(county.url + path, headers=headers) as r:
                    assert r.status == 403 and (await r.json())["code"] == "auditor_only", path
        async with auditor.get(f"{county.url}/api/v1/audit?action=login") as r:
            body = await r.json()
        assert r.status == 200 and body["total"] == 2 and body["retention_days"] == 365
        row = body["rows"][0]
        at = datetime.fromisoformat(row["at"])
        assert row["at_china"] == (at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")
        assert row["action_label"] == "登录" and row["outcome_label"] == "成功" and row["actor"] == "zhangsan"
        async with auditor.get(f"{county.url}/api/v1/audit?action=nonsense") as r:
            assert r.status == 422 and (await r.json())["fields"]["action"]
        async with auditor.get(f"{county.url}/api/v1/audit/export?format=csv") as r:
            text = (await r.read()).decode("utf-8-sig")
        lines = list(csv.reader(io.StringIO(text)))
        assert lines[0][:3] == ["编号", "时间(北京时间)", "操作人"] and any("访问被拒绝" in ",".join(x) for x in lines)
        async with auditor.get(f"{county.url}/api/v1/audit/export?format=xlsx") as r:
            sheet = load_workbook(io.BytesIO(await r.read())).active
        assert sheet.cell(1, 1).value == "编号" and sheet.max_row >= 6
    finally:
        await auditor.close()
        await admin.close()
    actions = {e.action for e in await _entries(county, actor="shenji")}
    assert {"audit_viewed", "audit_exported"} <= actions
    refused = await _entries(county, action="access_refused")
    assert {e.actor for e in refused} == {"zhangsan", "admin"}


async def test_corrections_and_settlements_pushed_by_pcs_are_recorded_once(county_server) -> None:
    county = county_server
    accepted, completed, withdrawn = await push_conflict(county)
    fixer = await county.add_agent(QIAOWA, "窗口3")
    correction = fixer.event("updated", accepted["case_id"], "2026-03-02T11:00:00+08:00",
                             {"applicant_name": "扎西顿珠", "phone": "13800000001"})
    correction["parents"] = [completed["event_id"]]
    settle = fixer.event("settled", accepted["case_id"], "2026-03-02T11:05:00+08:00",
                         {"event_id": withdrawn["event_id"], "outcome": "accepted"})
    settle["parents"] = [correction["event_id"]]
    for _ in range(2):  # a batch sent again (its answer was lost) records nothing more
        await county.push(fixer, [correction, settle])
    rows = await _entries(county, actor=fixer.agent_id)
    assert sorted(e.action for e in rows) == ["case_corrected", "conflict_settled"], rows
    corrected = next(e for e in rows if e.action == "case_corrected")
    assert corrected.target == accepted["case_id"] and corrected.event_id == correction["event_id"]
    assert json.loads(corrected.detail or "{}")["fields"] == ["applicant_name", "phone"]
    assert "扎西顿珠" not in (corrected.detail or "") and "13800000001" not in (corrected.detail or "")
    settled = next(e for e in rows if e.action == "conflict_settled")
    assert json.loads(settled.detail or "{}")["conflict_event"] == withdrawn["event_id"]


async def test_console_changes_of_accounts_and_pcs_are_recorded(config_file: Path, county_server) -> None:
    def run(*args: str, stdin: str | None = None) -> Any:
        return CliRunner().invoke(main, [*args, "--config", str(config_file)], input=stdin)

    assert (await asyncio.to_thread(run, "users", "add", "--name", "lisi", "--password-stdin",
                                    stdin=PASSWORD + "\n")).exit_code == 0
    assert (await asyncio.to_thread(run, "users", "add", "--name", "wangwu", "--password-stdin",
                                    stdin="password\n")).exit_code == 2
    assert (await asyncio.to_thread(run, "users", "disable", "lisi")).exit_code == 0
    assert (await asyncio.to_thread(run, "users", "enable", "lisi")).exit_code == 0
    added = await asyncio.to_thread(run, "agents", "add", "--township", QIAOWA, "--name", "窗口9", "--json")
    agent_id = json.loads(added.output)["agent_id"]
    assert (await asyncio.to_thread(run, "agents", "revoke", agent_id)).exit_code == 0
    assert (await asyncio.to_thread(run, "agents", "rotate-token", "--agent", agent_id)).exit_code == 0
    assert (await asyncio.to_thread(run, "agents", "revoke", "513422100-ffffff")).exit_code == 2
    rows = list(reversed(await _entries(county_server)))
    assert [(e.action, e.target, e.outcome) for e in rows] == [
        ("user_added", "lisi", "ok"), ("user_added", "wangwu", "failed"), ("user_disabled", "lisi", "ok"),
        ("user_enabled", "lisi", "ok"), ("agent_added", agent_id, "ok"), ("agent_revoked", agent_id, "ok"),
        ("agent_token_rotated", agent_id, "ok"), ("agent_revoked", "513422100-ffffff", "failed")]
    assert all(e.actor.startswith("cli:") and e.address == "local" for e in rows)
    listed = await asyncio.to_thread(run, "audit", "list", "--limit", "3")
    assert listed.exit_code == 0 and "agent_revoked" in listed.output


async def test_the_retention_purge_removes_only_entries_older_than_the_retention(county_server) -> None:
    store = county_server.app[STORE]

    def old(days: int) -> AuditEntry:
        at = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="milliseconds")
        return AuditEntry(at=at, actor="zhangsan", address="10.0.0.1", action="login", outcome="ok")

    await store.append_audit([old(500), old(366), old(300), old(1)])
    assert await purge_audit(store, 365) == 2
    with pytest.raises(ValueError, match="183"):
        await purge_audit(store, 100)
    rows = await _entries(county_server)
    assert [e.action for e in rows] == ["audit_purged", "login", "login"]


async def test_a_county_grant_and_a_pcs_correction_with_its_reason_are_recorded(county_server, qiaowa) -> None:
    county = county_server
    accepted = qiaowa.accepted()
    case_id = accepted["case_id"]
    await county.push(qiaowa, [accepted, qiaowa.completed(case_id), qiaowa.evaluated(case_id, rating=4)])
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    for reason, expected in (("窗口选错事项", 201), ("r", 201)):
        async with county.session.post(f"{county.url}/api/v1/cases/{case_id}/grants", json={"reason": reason},
                                        headers=headers) as r:
            assert r.status == expected, await r.text()
    async with county.session.post(f"{county.url}/api/v1/cases/{accepted['case_id']}x/grants",
                                    json={"reason": "不存在的办件"}, headers=headers) as r:
        assert r.status >= 400
    grants = await _entries(county, action="correction_granted")
    assert [(e.actor, e.outcome) for e in reversed(grants)] == [("admin", "ok"), ("admin", "ok"), ("admin", "refused")]
    assert json.loads(grants[-1].detail or "{}")["reason"] == "窗口选错事项"
    fixed = qiaowa.event("corrected", case_id, "2026-03-06", {
        "reason": "电话记错", "phone": "13900000000", "before": {"phone": None}})
    await county.push(qiaowa, [fixed])
    [entry] = await _entries(county, action="case_corrected")
    assert json.loads(entry.detail or "{}") == {"fields": ["phone"], "reason": "电话记错"}
    assert "13900000000" not in (entry.detail or "")


async def test_a_refused_event_does_not_hide_a_correction_beside_it_from_the_audit(county_server, qiaowa) -> None:
    accepted = qiaowa.accepted()
    fixed = qiaowa.event("corrected", accepted["case_id"], "2026-03-06",
                         {"reason": "姓名写错", "applicant_name": "扎西"})
    broken = qiaowa.event("completed", accepted["case_id"], "2026-03-07", {"result": "approved", "trips": 0})
    broken["case_id"] = 12345  # not an id: this event is refused, the rest of the batch goes on
    answer = await county_server.push(qiaowa, [accepted, fixed, broken])
    assert [r["code"] for r in answer["refused"]] == ["invalid_event"]
    [entry] = await _entries(county_server, action="case_corrected")
    assert entry.event_id == fixed["event_id"] and json.loads(entry.detail or "{}")["fields"] == ["applicant_name"]


async def test_key_rotation_and_sealing_at_the_console_are_recorded(config_file: Path, county_server) -> None:
    def run(*args: str) -> Any:
        return CliRunner().invoke(main, [*args, "--config", str(config_file)])

    assert (await asyncio.to_thread(run, "keys", "seal")).exit_code == 0
    rotated = await asyncio.to_thread(run, "keys", "rotate")
    assert rotated.exit_code == 0, rotated.output
    rows = list(reversed(await _entries(county_server)))
    assert [(e.action, e.outcome) for e in rows] == [("data_sealed", "ok"), ("key_rotated", "ok")]
    assert json.loads(rows[1].detail or "{}")["key_id"] == "k2" and rows[1].actor.startswith("cli:")


async def test_a_pcs_staff_list_changes_are_recorded_once_per_version_without_their_hash(county_server) -> None:
    from ops.passwords import hash_password

    agent = await county_server.add_agent()
    secret_hash = hash_password("柜台口令-2026", n=2**4)
    member = {"staff_id": "C07", "name": "扎西", "role": "clerk", "secret_hash": secret_hash, "rev": 1,
              "changed_at": "2026-03-02T09:00:00+08:00", "changed_by": "L01"}
    for body in ({"members": [member]}, {"members": [member]}, {"members": [member | {"rev": 2, "is_disabled": True}]}):
        async with county_server.session.post(f"{county_server.url}/api/v1/staff", json=body,
                                              headers={"Authorization": f"Bearer {agent.token}"}) as r:
            assert r.status == 200, await r.text()
    rows = list(reversed(await _entries(county_server, action="staff_changed")))
    assert [(e.actor, e.target, json.loads(e.detail or "{}").get("rev")) for e in rows] == [
        (f"{agent.agent_id}/L01", "C07", 1), (f"{agent.agent_id}/L01", "C07", 2)]
    assert json.loads(rows[1].detail or "{}")["disabled"] is True
    assert all(secret_hash not in (e.detail or "") for e in rows)
