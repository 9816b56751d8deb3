"""Fuzzing both programs on one real county server process and one real township agent process on loopback.

1. schemathesis over both programs' OpenAPI documents: the server with a valid admin token (dashboard and stats
   routes) and a valid agent token (the PCs' routes); the agent's local API with a signed-in lead, as the staff page
   calls it (the agent syncing with its own valid token). Every generated request answers without a server error
   and as the document says (status, content type, headers, body schema).
2. A hypothesis fuzz of push batches with a real agent id and token: batches of well-formed events mixed with events
   broken in every way a PC, a bug or an attacker could send them (a field missing or of the wrong type, a time
   outside the window, a seq reused or beyond 2^63, an org of another township, an unknown kind or item, text too
   long or with a NUL, data nested deep). No answer is a 5xx; a batch is refused whole with a code (nothing of it
   stored), or each of its events is stored, a duplicate, or refused with a code and a reason; nothing is stored
   half: a refused event is in no table of stored events, a stored one is whole.

Bounded: a few examples per operation, no shrinking, a few dozen batches; the whole file stays well under a minute
on an idle 2-core box."""

from __future__ import annotations

import gzip
import json
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from agent.http.openapi import build_openapi as agent_openapi
from scripts.cluster import BIN, Cluster, http_json
from server.http.openapi import build_openapi
from tests import database, postgres

pytestmark = pytest.mark.e2e
TOWNSHIP = "513422100"
BATCHES = 30
STAFF_SECRET = "柜台口令-2026-春"
EXAMPLES = 2  # per operation (positive and negative): ~60 operations over both programs

@schemathesis.serializer("application/offset+octet-stream")
def _chunk(ctx: Any, value: Any) -> bytes:
    """An attachment chunk is raw bytes (the generated binary string, or its text encoded)."""
    return value if isinstance(value, bytes) else str(value).encode()


schema = schemathesis.openapi.from_dict(build_openapi())
# Checked: no server error, and status, content type, headers and body of every answer as documented (including the
# 405 to an undeclared method). Left out: that every schema-valid request is taken (positive_data_acceptance), since
# what a schema cannot say is refused as it must be (an org code that is no unit of the county, a cursor this server
# never handed out, a body that is not deflated as its Content-Encoding says: 4xx with a code); and ignored_auth,
# since each request here carries a valid token on purpose (tests/server/test_roles.py walks every route without).
EXCLUDED = [positive_data_acceptance, ignored_auth]
# Without the coverage phase (deterministic boundary values of every parameter): it took three times as long as the
# rest. What it found once is pinned in tests/server/test_hostile_input.py (empty filters, a 405's Allow, a bad
# figure on any export).
schema.config.phases.coverage.enabled = False
_agent_doc = json.loads(json.dumps(agent_openapi()))
_agent_doc["paths"]["/api/session/end"] = _agent_doc["paths"].pop("/api/session/end")  # sign out last
agent_schema = schemathesis.openapi.from_dict(_agent_doc)
agent_schema.config.phases.coverage.enabled = False
AGENT_PATHS = ("/api/v1/sync/", "/api/v1/reference")


class County:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        out = json.loads(cluster.county("agents", "add", "--township", "513422100", "--name", "窗口1", "--json"))
        self.agent_token = out["token"]
        agent = cluster.add_agent("pc", interval_s=3600)  # syncs when asked (POST /api/sync) and after writes
        # A lead of the township signs in: every /api/ route then needs a staff member.
        subprocess.run([str(BIN / "township-agent"), "staff", "add", "--config", str(agent.config), "--id", "L01",
                        "--name", "卓玛", "--lead", "--secret", STAFF_SECRET], check=True, capture_output=True)
        agent.start()
        self.agent_url = cluster.agent_url("pc")
        # Signed in once, as the page is (the session cookie): a password check per request would cost scrypt each.
        login = urllib.request.Request(f"{self.agent_url}/api/session", method="POST", headers={
            "Content-Type": "application/json"}, data=json.dumps({"staff_id": "L01", "secret": STAFF_SECRET}).encode())
        with urllib.request.urlopen(login, timeout=10) as r:
            cookie = r.headers["Set-Cookie"].split(";", 1)[0]
        self.staff = {"Cookie": cookie}
        _wait_synced(self.agent_url, self.staff)  # the catalog and calendar have come from the county


def _wait_synced(url: str, headers: dict[str, str], timeout_s: float = 30) -> None:
    deadline, status = time.monotonic() + timeout_s, {}
    while time.monotonic() < deadline:
        with urllib.request.urlopen(urllib.request.Request(f"{url}/api/status", headers=headers), timeout=5) as r:
            status = json.loads(r.read())
        if status["pending"] == 0 and status["last_sync_at"] and status["reference_version"]:
            return
        time.sleep(0.1)
    raise AssertionError(f"the agent did not sync: {status}")


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[County]:
    where = tmp_path_factory.mktemp("openapi")
    cluster = Cluster(where / "cluster", server_section="ingest_workers = 0\n", storage=postgres.storage_section(where))
    cluster.server.start()
    yield County(cluster)
    cluster.stop_all()


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_the_server_answers_every_generated_request_as_its_document_says(case: schemathesis.Case,
                                                                           county: County) -> None:
    token = county.agent_token if case.path.startswith(AGENT_PATHS) else county.cluster.admin_token
    if case.path == "/metrics":
        token = county.cluster.metrics_token
    case.call_and_validate(base_url=county.cluster.server_url, headers={"Authorization": f"Bearer {token}"},
                           excluded_checks=EXCLUDED)


@agent_schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_the_agent_answers_every_generated_request_as_its_document_says(case: schemathesis.Case,
                                                                       county: County) -> None:
    case.call_and_validate(base_url=county.agent_url, headers=county.staff, excluded_checks=EXCLUDED)


# ---- push batches ----------------------------------------------------------------------------------------------

class Agent:
    """A PC of its own for the push fuzz (schemathesis pushes with the other one), and what it sent."""

    def __init__(self, cluster: Cluster) -> None:
        out = json.loads(cluster.county("agents", "add", "--township", TOWNSHIP, "--name", "窗口9", "--json"))
        self.cluster, self.agent_id, self.token = cluster, out["agent_id"], out["token"]
        self.seq = 0  # the last seq it used
        self.cases: list[str] = []  # cases it accepted, for follow-ups

    def db(self) -> Any:
        return database.connect(self.cluster.server_config, readonly=True)


@pytest.fixture(scope="module")
def agent(county: County) -> Agent:
    return Agent(county.cluster)


def _accepted(n: int) -> dict[str, Any]:
    return {"case_no": f"{TOWNSHIP}01{n:08d}", "item_code": "GG-0004", "org_code": f"{TOWNSHIP}000",
            "channel": "window", "applicant_name": "扎西", "cert_type": "居民身份证", "cert_no": "51342219900101123X",
            "promised_days": 10, "due_on": "2026-03-16"}


# How one event may be broken: (name, change of the event dict).
BREAKS: list[tuple[str, Any]] = [
    ("no_event_id", lambda e: e.pop("event_id")),
    ("bad_event_id", lambda e: e.update(event_id="not-a-uuid")),
    ("seq_zero", lambda e: e.update(seq=0)),
    ("seq_huge", lambda e: e.update(seq=2**63 + 5)),
    ("kind_unknown", lambda e: e.update(kind="teleported")),
    ("at_year_9999", lambda e: e.update(at="9999-01-01T10:00:00+08:00")),
    ("at_year_0001", lambda e: e.update(at="0001-01-01T10:00:00+08:00")),
    ("at_garbage", lambda e: e.update(at="yesterday")),
    ("offset_huge", lambda e: e.update(offset_ms=10**15)),
    ("other_township", lambda e: e["data"].update(org_code="513422101000") if e["kind"] == "accepted" else None),
    ("unknown_item", lambda e: e["data"].update(item_code="NO-SUCH-ITEM") if e["kind"] == "accepted" else None),
    ("name_too_long", lambda e: e["data"].update(applicant_name="扎" * 5000) if e["kind"] == "accepted" else None),
    ("nul_in_text", lambda e: e["data"].update(applicant_name="扎\x00西") if e["kind"] == "accepted" else None),
    ("data_not_object", lambda e: e.update(data=[1, 2, 3])),
    ("data_deep", lambda e: e.update(data=json.loads("[" * 200 + "]" * 200))),
    ("extra_field", lambda e: e.update(sneaky=True)),
    ("case_id_int", lambda e: e.update(case_id=12345)),
]


# One event of a batch: (a follow-up of an earlier case rather than a new one, which earlier case, which break or
# None). Drawn without looking at the agent, so that hypothesis can replay a batch; built against it in the test.
PLANS = st.lists(st.tuples(st.booleans(), st.integers(0, 10**6),
                           st.one_of(st.none(), st.none(), st.integers(0, len(BREAKS) - 1))), min_size=1, max_size=6)


def build(agent: Agent, plan: list[tuple[bool, int, int | None]]
          ) -> tuple[list[dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
    """The events of a batch with the agent's next seqs; the breaks applied, with the event each broke."""
    events, broken = [], []
    for follow_up, pick, break_index in plan:
        agent.seq += 1
        if follow_up and agent.cases:
            case_id = agent.cases[pick % len(agent.cases)]
            event = {"kind": "completed", "case_id": case_id, "data": {"result": "approved", "trips": 0}}
        else:
            event = {"kind": "accepted", "case_id": str(uuid.uuid4()), "data": _accepted(agent.seq)}
        event |= {"event_id": str(uuid.uuid4()), "seq": agent.seq, "at": "2026-03-02T10:00:00+08:00"}
        if break_index is not None:
            name, change = BREAKS[break_index]
            change(event)
            broken.append((name, event))
        events.append(event)
    return events, broken


def _stored(agent: Agent, event_ids: list[str]) -> tuple[set[str], set[str]]:
    with agent.db() as db:
        marks = ",".join("?" * len(event_ids))
        stored = {r[0] for r in db.execute(f"SELECT event_id FROM events WHERE event_id IN ({marks})", event_ids)}
        refused = {r[0] for r in db.execute(f"SELECT event_id FROM refused_events WHERE event_id IN ({marks})",
                                            event_ids)}
    return stored, refused


@settings(max_examples=BATCHES, deadline=None, phases=[Phase.generate], database=None,
          suppress_health_check=list(HealthCheck))
@given(plan=PLANS)
def test_push_batches_are_taken_or_refused_with_a_reason_and_never_half(agent: Agent, plan: Any) -> None:
    events, broken = build(agent, plan)
    body = gzip.compress(json.dumps({"agent_id": agent.agent_id, "events": events}, ensure_ascii=False).encode())
    status, answer = _post(agent, body)
    assert status < 500, (status, answer, broken)
    ids = [e["event_id"] for e in events if isinstance(e.get("event_id"), str)]
    stored, refused = _stored(agent, ids) if ids else (set(), set())
    if status != 200:  # refused whole: a code and a message, and nothing of the batch kept
        assert answer.get("code") and answer.get("message"), answer
        assert not stored, (answer, broken)
        agent.seq = answer_seq(agent)
        return
    refusals = answer.get("refused", [])  # defaults are left out of the answer
    assert answer.get("stored", 0) + answer.get("duplicates", 0) + len(refusals) == len(events), (answer, broken)
    for r in refusals:
        assert r["code"] and r["message"], r
    refused_ids = {r["event_id"] for r in refusals}
    assert not refused_ids & stored, "an event both refused and stored"
    for e in events:
        if e.get("event_id") in stored and e.get("kind") == "accepted":
            agent.cases.append(e["case_id"])
    if broken and not refusals:
        # every break that left the batch whole must have been refused per event: a break that changed nothing
        # (a data change on a follow-up) is the only one allowed to pass
        assert all(_harmless(name, e) for name, e in broken), ([name for name, _ in broken], answer)
    agent.seq = answer_seq(agent)


def _harmless(name: str, event: dict[str, Any]) -> bool:
    return event.get("kind") != "accepted" and name in ("other_township", "unknown_item", "name_too_long",
                                                        "nul_in_text")


def answer_seq(agent: Agent) -> int:
    """The seq the next batch continues from: the highest seq the agent sent and the county holds (stored or
    refused), as a PC's outbox would after its answer."""
    with agent.db() as db:
        [(events,)] = db.execute("SELECT coalesce(max(seq), 0) FROM events WHERE agent_id = ?", (agent.agent_id,))
        [(refused,)] = db.execute("SELECT coalesce(max(seq), 0) FROM refused_events WHERE agent_id = ? "
                                  "AND seq < 1000000", (agent.agent_id,))
    return max(events, refused)


def _post(agent: Agent, body: bytes) -> tuple[int, dict[str, Any]]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(f"{agent.cluster.server_url}/api/v1/sync/push", data=body, method="POST", headers={
        "Content-Type": "application/json", "Content-Encoding": "gzip", "Authorization": f"Bearer {agent.token}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_the_fuzzed_agent_is_still_consistent(agent: Agent) -> None:
    """After the fuzz: the county's cases match a refold of their events (rollups verify)."""
    status, _ = http_json("GET", f"{agent.cluster.server_url}/readyz")
    assert status == 200
    out = agent.cluster.county("rollups", "verify")
    assert "cases match their events; rollups match the cases" in out, out
