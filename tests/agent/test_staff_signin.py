"""Staff sign-in on the PC, tried as a clerk and as someone who should not get in: the real agent app on
127.0.0.1 with a real SQLite file."""

from __future__ import annotations

import base64
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from agent.app import build_app
from agent.http.api import STORE
from agent.http.signin import ops_token_path
from agent.staff import MAX_FAILURES, StaffDesk, secret_problem
from agent.store import AgentStore
from tests.agent.conftest import accept_form, agent_config, seed_reference

LEAD_PIN, CLERK_PIN = "274915", "mountain-road-9"


def basic(staff_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{staff_id}:{secret}".encode()).decode()}


@pytest.fixture
async def staffed(tmp_path: Path):
    """The agent with a lead (L01) and a clerk (C01), as `township-agent staff add` leaves them."""
    config = agent_config(tmp_path)
    store = await AgentStore.open(config.database)
    await seed_reference(store)
    desk = StaffDesk(store)
    await desk.add(None, "L01", "卓玛", "lead", LEAD_PIN)
    await desk.add(None, "C01", "扎西", "clerk", CLERK_PIN)
    await store.close()
    client = TestClient(TestServer(build_app(config, run_schedule=False), host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()


def outbox_staff(client: TestClient) -> list[tuple[str, str | None]]:
    path = client.server.app[STORE].path
    with closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT kind, staff_id FROM outbox ORDER BY seq").fetchall()


@pytest.mark.parametrize("secret", ["12345", "123456", "654321", "111111", "abcdefgh", "1234567", "short"])
def test_guessable_or_short_secrets_are_refused(secret: str) -> None:
    assert secret_problem(secret) is not None


@pytest.mark.parametrize("secret", ["274915", "8301942", "mountain-road-9"])
def test_a_fair_pin_or_password_is_taken(secret: str) -> None:
    assert secret_problem(secret) is None


async def test_without_a_sign_in_the_api_answers_nothing(staffed: TestClient) -> None:
    for method, path in [("GET", "/api/cases"), ("GET", "/api/today"), ("GET", "/api/status"),
                         ("POST", "/api/cases"), ("GET", "/api/staff")]:
        r = await staffed.request(method, path, json={} if method == "POST" else None)
        assert r.status == 401, (method, path)
        assert (await r.json())["code"] == "sign_in_required"
    assert await (await staffed.get("/api/session")).json() == {"required": True, "staff": None}
    assert outbox_staff(staffed) == []


async def test_the_page_signs_in_with_a_strict_httponly_cookie_and_actions_name_the_clerk(
        staffed: TestClient) -> None:
    r = await staffed.post("/api/session", json={"staff_id": "C01", "secret": CLERK_PIN})
    assert r.status == 200
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert (await r.json())["staff"] == {"staff_id": "C01", "name": "扎西", "role": "clerk", "is_disabled": False,
                                         "changed_at": (await r.json())["staff"]["changed_at"], "changed_by": None}
    created = await staffed.post("/api/cases", json=accept_form())
    assert created.status == 201
    case = await created.json()
    done = await staffed.post(f"/api/cases/{case['case_id']}/events",
                              json={"kind": "completed", "data": {"result": "approved"}})
    assert done.status == 201
    assert outbox_staff(staffed) == [("accepted", "C01"), ("completed", "C01")]
    assert (await (await staffed.post("/api/session/end", json={})).json()) == {"staff": None}
    assert (await staffed.get("/api/cases")).status == 401


async def test_scripts_sign_each_request_with_basic_auth(staffed: TestClient) -> None:
    r = await staffed.post("/api/cases", json=accept_form(), headers=basic("L01", LEAD_PIN))
    assert r.status == 201
    assert outbox_staff(staffed) == [("accepted", "L01")]
    wrong = await staffed.get("/api/cases", headers=basic("L01", "999999"))
    assert wrong.status == 401 and (await wrong.json())["code"] == "sign_in_failed"
    unknown = await staffed.get("/api/cases", headers=basic("NOBODY", LEAD_PIN))
    assert (await unknown.json())["code"] == "sign_in_failed"  # the same answer: ids are not revealed


async def test_repeated_failures_lock_the_staff_id_even_for_the_right_pin_and_survive_a_restart(
        staffed: TestClient, tmp_path: Path) -> None:
    for _ in range(MAX_FAILURES - 1):
        r = await staffed.post("/api/session", json={"staff_id": "C01", "secret": "000000x"})
        assert r.status == 401
    r = await staffed.post("/api/session", json={"staff_id": "C01", "secret": "000000x"})
    assert r.status == 429 and int(r.headers["Retry-After"]) > 60
    r = await staffed.post("/api/session", json={"staff_id": "C01", "secret": CLERK_PIN})
    assert r.status == 429 and (await r.json())["code"] == "sign_in_locked"
    with closing(sqlite3.connect(tmp_path / "agent.sqlite3")) as db:  # kept in the database, not in memory
        (locked_until,) = db.execute("SELECT locked_until FROM staff WHERE staff_id = 'C01'").fetchone()
    assert locked_until > 0
    # Another staff member is not locked out by it.
    assert (await staffed.post("/api/session", json={"staff_id": "L01", "secret": LEAD_PIN})).status == 200


async def test_only_the_lead_manages_staff_and_a_clerk_changes_only_their_own_pin(staffed: TestClient) -> None:
    clerk = basic("C01", CLERK_PIN)
    r = await staffed.post("/api/staff", json={"staff_id": "C02", "name": "次仁", "secret": "583920"},
                           headers=clerk)
    assert r.status == 403 and (await r.json())["code"] == "lead_required"
    r = await staffed.post("/api/staff/L01", json={"secret": "583920"}, headers=clerk)
    assert r.status == 403
    r = await staffed.post("/api/staff/C01", json={"secret": "river-bend-42"}, headers=clerk)
    assert r.status == 200
    lead = basic("L01", LEAD_PIN)
    r = await staffed.post("/api/staff", json={"staff_id": "C02", "name": "次仁", "secret": "123456"}, headers=lead)
    assert r.status == 422 and "secret" in (await r.json())["fields"]
    r = await staffed.post("/api/staff", json={"staff_id": None, "name": None, "secret": None}, headers=lead)
    assert r.status == 422 and set((await r.json())["fields"]) == {"staff_id", "name", "secret"}
    r = await staffed.post("/api/staff", json={"staff_id": "C02", "name": "次仁", "secret": "583920"}, headers=lead)
    assert r.status == 201
    r = await staffed.post("/api/staff/C02", json={"is_disabled": True}, headers=lead)
    assert r.status == 200
    r = await staffed.get("/api/cases", headers=basic("C02", "583920"))
    assert (await r.json())["code"] == "staff_disabled"
    # The last lead cannot step down or be disabled: someone must be able to manage staff.
    r = await staffed.post("/api/staff/L01", json={"role": "clerk"}, headers=lead)
    assert r.status == 422
    listed = await (await staffed.get("/api/staff", headers=lead)).json()
    assert [s["staff_id"] for s in listed["staff"]] == ["C01", "C02", "L01"]
    assert all("secret_hash" not in s for s in listed["staff"])


async def test_the_command_line_uses_the_operations_token_for_status_and_sync_only(
        staffed: TestClient, tmp_path: Path) -> None:
    path = ops_token_path(tmp_path / "agent.sqlite3")
    assert path.stat().st_mode & 0o777 == 0o600
    ops = {"Authorization": f"Bearer {path.read_text().strip()}"}
    assert (await staffed.get("/api/status", headers=ops)).status == 200
    assert (await staffed.get("/api/cases", headers=ops)).status == 401
    assert (await staffed.post("/api/cases", json=accept_form(), headers=ops)).status == 401
    assert (await staffed.get("/api/status", headers={"Authorization": "Bearer guessed"})).status == 401


async def test_before_the_first_staff_member_the_agent_works_without_sign_in(agent_client: TestClient) -> None:
    assert await (await agent_client.get("/api/session")).json() == {"required": False, "staff": None}
    assert (await agent_client.post("/api/cases", json=accept_form())).status == 201
    # ... but nobody may add staff through the API then: the first lead is set up on the PC itself.
    r = await agent_client.post("/api/staff", json={"staff_id": "X", "name": "x", "secret": "583920"})
    assert r.status == 403 and (await r.json())["code"] == "lead_required"


async def test_the_rating_screen_needs_no_sign_in_and_its_rating_names_who_handed_the_case_over(
        staffed: TestClient) -> None:
    clerk = basic("C01", CLERK_PIN)
    case = await (await staffed.post("/api/cases", json=accept_form(), headers=clerk)).json()
    assert (await staffed.post("/api/rate/handoff", json={"case_id": case["case_id"]})).status == 401
    handed = await staffed.post("/api/rate/handoff", json={"case_id": case["case_id"]}, headers=clerk)
    assert handed.status == 201
    # The resident's screen, in a browser nobody signed in to.
    shown = await (await staffed.get("/api/rate/current")).json()
    assert shown["request"]["case_no"] == case["case_no"]
    assert "cert_no" not in shown["request"] and "applicant_name" not in shown["request"]
    given = await staffed.post("/api/rate/give", json={"request_id": shown["request"]["request_id"], "rating": 5})
    assert given.status == 201
    assert outbox_staff(staffed) == [("accepted", "C01"), ("evaluated", "C01")]
    # Without a request handed over, the screen can rate nothing.
    again = await staffed.post("/api/rate/give", json={"request_id": shown["request"]["request_id"], "rating": 1})
    assert again.status == 422
    assert (await staffed.get("/api/cases")).status == 401  # the rest of the API stays closed


async def test_a_credential_remembered_for_scripts_ends_with_a_new_pin_or_a_disabled_staff_member(
        staffed: TestClient) -> None:
    clerk, lead = basic("C01", CLERK_PIN), basic("L01", LEAD_PIN)
    assert (await staffed.get("/api/cases", headers=clerk)).status == 200
    assert (await staffed.get("/api/cases", headers=clerk)).status == 200  # remembered: no hash this time
    assert (await staffed.post("/api/staff/C01", json={"secret": "river-bend-42"}, headers=lead)).status == 200
    assert (await staffed.get("/api/cases", headers=clerk)).status == 401
    assert (await staffed.get("/api/cases", headers=basic("C01", "river-bend-42"))).status == 200
    assert (await staffed.post("/api/staff/C01", json={"is_disabled": True}, headers=lead)).status == 200
    r = await staffed.get("/api/cases", headers=basic("C01", "river-bend-42"))
    assert r.status == 403 and (await r.json())["code"] == "staff_disabled"


async def test_another_site_cannot_sign_a_clerk_in_or_out(staffed: TestClient) -> None:
    evil = {"Origin": "http://evil.example"}
    r = await staffed.post("/api/session", json={"staff_id": "C01", "secret": CLERK_PIN}, headers=evil)
    assert r.status == 403 and "Set-Cookie" not in r.headers
    r = await staffed.post("/api/session", data=f"staff_id=C01&secret={CLERK_PIN}",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 415 and "Set-Cookie" not in r.headers
