"""A township under faults, with real processes: 3 PCs of 乔瓦镇 and 1 of 瓦厂镇 reach the county only through a fault
proxy on loopback (tests/e2e/faults.py). Cases are accepted on one PC and continued on another; PCs work offline
and sync through partitions, answers dropped after the county committed, uploads and downloads cut after a few
kilobytes, a kill -9 of a PC and of the server in the middle of a sync.

Afterwards every PC of 乔瓦镇 holds exactly the county's cases (and conflicts) of its township, the county's cases and
conflicts are exactly the fold (`protocol.causal`) of the events the PCs hold, its figures are those of its cases
(`rollups verify` finds nothing) and match a count from that fold, and no case crossed a township line.

Bounded: a fixed seed, ROUNDS rounds of a few actions per PC, a deadline for the final syncs.
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import msgspec

from protocol.causal import FoldEvent, fold, order_key
from protocol.messages import DATA_TYPES
from protocol.vocabulary import EventKind
from scripts.cluster import BIN, Cluster, http_json
from server import keys
from server.config import ServerConfig, load_config
from tests import database
from tests.e2e.conftest import form, stats
from tests.e2e.faults import FaultProxy

SEED = 9
ROUNDS = 8
QIAOWA, WACHANG = "513422100", "513422101"
PCS = ["q1", "q2", "q3"]
FINAL_DEADLINE_S = 90


def _sync(url: str, timeout_s: float = 30) -> dict[str, Any]:
    try:
        return http_json("POST", f"{url}/api/sync", timeout_s=timeout_s)[1]
    except OSError as e:  # the agent was killed in the middle
        return {"ok": False, "error": str(e)}


def _act(url: str, case_id: str, kind: str, data: dict[str, Any]) -> bool:
    """An action as staff take it: True when the PC took it (422: it does not fit the case as this PC has it)."""
    status, body = http_json("POST", f"{url}/api/cases/{case_id}/events", {"kind": kind, "data": data})
    assert status in (201, 422), body
    return status == 201


NEXT = {  # what staff may do next, by state (the PC refuses what does not fit)
    "in_progress": [("completed", {"result": "approved"}), ("supplement_requested", {"missing": ["户口簿复印件"]}),
                    ("withdrawn", {"reason": "申请人撤回"}), ("rejected", {"reason": "不符合条件"})],
    "suspended": [("supplement_received", {}), ("withdrawn", {})],
    "completed": [("evaluated", {"rating": 2}), ("evaluated", {"rating": 5})],
}


def _work(url: str, rng: random.Random, n: int, township: str) -> None:
    """A few actions on one PC: a new case, and the next step of cases it holds (any window's)."""
    status, case = http_json("POST", f"{url}/api/cases", form(n, village_code=f"{township}201" if township == QIAOWA
                                                               else None, org_code=f"{township}000"))
    assert status == 201, case
    cases = http_json("GET", f"{url}/api/cases?limit=1000")[1]["cases"]
    for c in rng.sample(cases, min(3, len(cases))):
        if c["state"] in NEXT:
            kind, data = rng.choice(NEXT[c["state"]])
            _act(url, c["case_id"], kind, data)
        elif c.get("rating") in (1, 2) and not c.get("followed_up_on"):
            _act(url, c["case_id"], "followed_up", {"note": "已回访"})


FAULTS = ("none", "drop", "cut_up", "cut_down", "partition", "kill_pc", "kill_server")


def _fault_sync(cluster: Cluster, proxy: FaultProxy, name: str, rng: random.Random, work: Any,
                fault: str | None = None, sibling: Any = None) -> None:
    url = cluster.agent_url(name)
    fault = fault or rng.choice(FAULTS)
    if fault == "drop":
        proxy.set(drop_answers=1)
    elif fault == "cut_up":
        for _ in range(4):  # a backlog that does not fit through the link in one push
            work()
        # Low enough that a gzip push of a few events (headers included) is always cut, however the batch packs.
        proxy.set(cut_requests_over=rng.choice([600, 900]))
    elif fault == "cut_down":
        if sibling is not None:  # another PC of the township pushes first: this one's pull has something to carry
            sibling()
        # Above any push's answer (a few hundred bytes), below a pull that carries a few cases.
        proxy.set(cut_responses_over=rng.choice([800, 1_500]))
    elif fault == "partition":
        proxy.set(partitioned=True)
    proxy.counts[fault] += 1
    if fault in ("kill_pc", "kill_server"):
        syncing = threading.Thread(target=_sync, args=(url,))
        syncing.start()
        time.sleep(rng.uniform(0.0, 0.3))
        victim = cluster.agents[name] if fault == "kill_pc" else cluster.server
        victim.kill()
        syncing.join()
        victim.start()
    else:
        _sync(url)
    proxy.heal()


def _agent_id(cluster: Cluster, name: str) -> str:
    config = cluster.agents[name].config.read_text(encoding="utf-8")  # type: ignore[attr-defined]
    token = next(line.split('"')[1] for line in config.splitlines() if line.startswith("token"))
    return token.split(".")[0]


def _own_events(path: Path, agent_id: str) -> list[FoldEvent]:
    """The events a PC made and the county did not refuse, as the fold takes them (`protocol.causal`)."""
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT event_id, seq, case_id, kind, at, offset_ms, data, parents, replaces FROM outbox "
                          "WHERE status IN ('pending', 'synced') AND staff_outcome IS NULL "
                          "AND kind <> 'consulted'").fetchall()
    out = []
    for event_id, seq, case_id, kind, at, offset_ms, data, parents, replaces in rows:
        k = EventKind(kind)
        key, corrected = order_key(at, offset_ms, event_id)
        out.append(FoldEvent(event_id, agent_id, seq, case_id, k, msgspec.json.decode(data, type=DATA_TYPES[k]), key,
                             corrected, None if parents is None else tuple(msgspec.json.decode(parents)), replaces))
    return out


def _open(source: Path | ServerConfig) -> Any:
    """A PC's SQLite file, or the county's storage (either backend)."""
    return database.connect(source) if isinstance(source, ServerConfig) else closing(sqlite3.connect(source))


def _cases(source: Path | ServerConfig, where: str = "", *args: object) -> dict[str, Any]:
    """Cases as stored; the county's with their ID number and phone opened (it stores them sealed)."""
    with _open(source) as db:
        cases = {r[0]: msgspec.json.decode(r[1]) for r in db.execute(f"SELECT case_id, body FROM cases {where}", args)}
    if isinstance(source, ServerConfig):
        ring = keys.load(source.key_file)
        for case in cases.values():
            for field in ("cert_no", "phone"):
                if case.get(field):
                    case[field] = ring.open(case[field], field)
    return cases


def _conflicts(source: Path | ServerConfig, where: str = "", *args: object) -> dict[str, tuple[str, str | None]]:
    with _open(source) as db:
        return {r[0]: (r[1], json_get(r[2], "settled_by"))
                for r in db.execute(f"SELECT event_id, case_id, body FROM conflicts {where}", args)}


def json_get(body: str, key: str) -> Any:
    return msgspec.json.decode(body).get(key)


def test_a_township_under_faults_ends_with_every_pc_and_the_county_in_agreement(cluster: Cluster) -> None:
    rng = random.Random(SEED)
    owed = list(FAULTS)  # every kind of fault once, whatever the draws; then at random
    cluster.server.start()
    proxy = FaultProxy(cluster.server_port)
    for i, name in enumerate(PCS, start=1):
        # q3 syncs by itself 0.3 s after each write, beside the rounds the test starts; q1 and q2 only when told,
        # so that their backlogs build up.
        cluster.add_agent(name, QIAOWA, pc_no=i, county_url=proxy.url, interval_s=3600,
                          early_delay_s=0.3 if name == "q3" else 3600, batch_size=50).start()
    cluster.add_agent("w1", WACHANG, pc_no=1, county_url=proxy.url, interval_s=3600, early_delay_s=3600,
                      batch_size=50).start()
    names = [*PCS, "w1"]
    for name in names:
        assert _sync(cluster.agent_url(name))["ok"]  # the catalog
    n = 0
    for _ in range(ROUNDS):
        for name in names:
            for _ in range(rng.randint(1, 3)):
                n += 1
                _work(cluster.agent_url(name), rng, n, WACHANG if name == "w1" else QIAOWA)
        for name in rng.sample(names, len(names)):
            def work(name: str = name) -> None:
                nonlocal n
                n += 1
                _work(cluster.agent_url(name), rng, n, WACHANG if name == "w1" else QIAOWA)
            # A cut download needs a download: the one owed goes to a PC with a sibling that pushes before it.
            fault = next((f for f in owed if f != "cut_down" or name in PCS), None)
            if fault is not None:
                owed.remove(fault)

            def sibling(name: str = name) -> None:
                nonlocal n
                other = next(p for p in PCS if p != name)
                for _ in range(4):
                    n += 1
                    _work(cluster.agent_url(other), rng, n, QIAOWA)
                _sync(cluster.agent_url(other))

            _fault_sync(cluster, proxy, name, rng, work, fault, sibling if name in PCS else None)
    counts = proxy.counts.copy()

    # Heal: every PC syncs until it has nothing to send and agrees with the county (twice round: a PC's pull sees
    # what the others pushed after it).
    # Two rounds in a row where all agree: in a round where one PC still pushed, a PC that synced before it agreed
    # with the county as it was then, and pulls the rest only in the next round.
    deadline = time.monotonic() + FINAL_DEADLINE_S
    agreed: set[str] = set()
    rounds_agreed = 0
    while rounds_agreed < 2 and time.monotonic() < deadline:
        agreed = set()
        for name in names:
            summary = _sync(cluster.agent_url(name))
            if summary.get("ok") and summary["pending"] == 0 and summary["digest_agrees"] is True:
                agreed.add(name)
        rounds_agreed = rounds_agreed + 1 if agreed == set(names) else 0
    statuses = {name: http_json("GET", f"{cluster.agent_url(name)}/api/status")[1] for name in names}
    assert agreed == set(names), {k: (v["pending"], v["digest"], v["last_error"]) for k, v in statuses.items()}
    for happened in ("dropped", "cut_request", "cut_response", "refused", "kill_pc", "kill_server"):
        assert counts[happened], counts  # every fault happened

    county = load_config(cluster.server_config)
    ids = {name: _agent_id(cluster, name) for name in names}
    # The county's cases and conflicts are exactly the fold of what the PCs hold.
    made = [e for name in names for e in _own_events(cluster.base / f"agent-{name}.sqlite3", ids[name])]
    by_case: dict[str, list[FoldEvent]] = {}
    for e in made:
        by_case.setdefault(e.case_id, []).append(e)
    folds = {case_id: fold(events) for case_id, events in by_case.items()}
    expected = {cid: msgspec.to_builtins(f.case) for cid, f in folds.items() if f.case is not None}
    expected_conflicts = {c.event_id: (c.case_id, c.settled_by) for f in folds.values() for c in f.conflicts}
    assert _cases(county) == expected
    assert _conflicts(county) == expected_conflicts
    # Every PC of 乔瓦镇 holds exactly the county's cases of its township, and its conflicts; none of 瓦厂镇's.
    for name in PCS:
        agent_db = cluster.base / f"agent-{name}.sqlite3"
        assert _cases(agent_db) == _cases(county, "WHERE township_code = ?", QIAOWA), name
        assert _conflicts(agent_db) == _conflicts(county, "WHERE township_code = ?", QIAOWA), name
    assert _cases(cluster.base / "agent-w1.sqlite3") == _cases(county, "WHERE township_code = ?", WACHANG)
    continued = [cid for cid, f in folds.items() if len({e.agent_id for e in by_case[cid]}) > 1]
    assert continued, "no case was continued on another PC"
    print(f"cases={len(expected)} continued={len(continued)} conflicts={len(expected_conflicts)} faults={counts}")
    # The figures: true to the cases, and the counts of the fold.
    verify = subprocess.run([str(BIN / "county-server"), "rollups", "verify", "--config", str(cluster.server_config)],
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    figures = stats(cluster, "township", "513422")
    for township in (QIAOWA, WACHANG):
        cases = [c for c in expected.values() if c["org_code"].startswith(township)]
        states = Counter(c["state"] for c in cases)
        row = figures[f"{township}000"]
        assert row["accepted"] == len(cases) - states["rejected"], township
        assert row["completed"] == states["completed"], township
        assert row["evaluations"] == sum(c["rating"] is not None for c in cases), township
