"""A fuzz of push batches with the real agent id and token, against the real server process: batches of well-formed
events mixed with events broken in every way a PC, a bug or an attacker could send them (a field missing or of the
wrong type, a time outside the window, a seq reused or beyond 2^63, an org of another township, an unknown kind or
item, text too long or with a NUL, data nested deep). No answer is a 5xx; a batch is refused whole with a code
(nothing of it stored), or each of its events is stored, a duplicate, or refused with a code and a reason; nothing is
stored half: a refused event is in no table of stored events, a stored one is whole."""

from __future__ import annotations

import gzip
import json
import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from scripts.cluster import Cluster, http_json

pytestmark = pytest.mark.e2e
TOWNSHIP = "513422100"
BATCHES = 30


class Agent:
    def __init__(self, cluster: Cluster) -> None:
        out = json.loads(cluster.county("agents", "add", "--township", TOWNSHIP, "--name", "窗口1", "--json"))
        self.cluster, self.agent_id, self.token = cluster, out["agent_id"], out["token"]
        self.seq = 0  # the last seq it used
        self.cases: list[str] = []  # cases it accepted, for follow-ups

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.cluster.base / 'county.sqlite3'}?mode=ro", uri=True)


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    cluster = Cluster(tmp_path_factory.mktemp("push-fuzz") / "cluster", server_section="ingest_workers = 0\n")
    cluster.server.start()
    yield Agent(cluster)
    cluster.stop_all()


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
