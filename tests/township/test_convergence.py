"""The property of issue 9, over the real code of both sides: 1-4 PCs of one township (the agent's service, casebook,
store and sync round, each on its own SQLite file) and the county (its ingest, storage and pull, on its own file, or
its own PostgreSQL schema under TEST_SERVER_BACKEND=postgres),
under any interleaving of offline work and syncs, with pushes and pulls in any batch sizes, answers lost after the
county committed (the agent sends again: duplicates), requests lost before it, and old pushes replayed late (any
delivery order). In the end every PC holds exactly the county's cases and conflicts, the county's cases are the fold
of their stored events, every event any PC made is stored, and each is either applied or a conflict.

Only the network is replaced, by `Loopback`: a push or pull goes straight to the county's ingest and pull (the
TCP and HTTP layer is covered by tests/e2e, faults included), encoded and decoded as on the wire.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from agent.casebook import Casebook, fold_event
from agent.errors import InvalidInput, TransientUplinkError
from agent.service import CaseService
from agent.store import AgentStore
from agent.sync.syncer import Syncer
from protocol.causal import fold
from protocol.messages import (
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    ReferenceResponse,
    StaffList,
    StaffPush,
)
from server.accounts.agents import hash_token
from server.admin.cases import verify_cases
from server.clock import now_iso
from server.http.sync import pull_answer
from server.ingest.ingestor import Ingestor
from server.model.reference import Reference, load_reference
from server.storage.base import AgentRecord, Store
from server.storage.choose import make_store
from tests import database, postgres
from tests.server.helpers import QIAOWA, REPO

_wire = msgspec.json.Encoder()
NEXT = {"in_progress": [("completed", {"result": "approved"}), ("supplement_requested", {"missing": ["户口簿"]}),
                        ("withdrawn", {}), ("rejected", {"reason": "不符合条件"}),
                        ("updated", {"phone": "13900000000"})],
        "suspended": [("supplement_received", {}), ("withdrawn", {})],
        "completed": [("evaluated", {"rating": 1}), ("evaluated", {"rating": 5}), ("followed_up", {"note": "已回访"})]}


class Loopback:
    """The network between one PC and the county, with faults drawn from `rng` while `faulty`."""

    def __init__(self, county: Ingestor, store: Store, agent: AgentRecord, reference: ReferenceResponse,
                 rng: random.Random) -> None:
        self.county, self.store, self.agent, self.ref, self.rng = county, store, agent, reference, rng
        self.offset_ms: int | None = 0
        self.faulty = True
        self.sent: list[bytes] = []  # pushes as sent, for late replays

    def _fault(self, p: float) -> bool:
        return self.faulty and self.rng.random() < p

    async def reference(self) -> ReferenceResponse:
        return self.ref

    async def staff(self, request: StaffPush) -> StaffList:
        members = await self.store.merge_staff(self.agent.township_code, self.agent.agent_id, request.members,
                                               "2026-01-01T00:00:00+00:00")
        return StaffList(members=members)

    async def push(self, request: PushRequest[Any], *, attempts: int | None = None) -> PushResponse:
        if self._fault(0.1):
            raise TransientUplinkError("lost on the way")
        body = _wire.encode(request)
        self.sent.append(body)
        answer = await self.county.push_body(self.agent, body)
        if self._fault(0.2):
            raise TransientUplinkError("the answer was lost: the county has committed it")
        return msgspec.json.decode(_wire.encode(answer), type=PushResponse)

    async def pull(self, request: PullRequest, *, attempts: int | None = None) -> PullResponse[msgspec.Raw]:
        if self._fault(0.1):
            raise TransientUplinkError("lost on the way")
        asked = msgspec.json.decode(_wire.encode(request), type=PullRequest)
        answer = await pull_answer(self.store, self.agent, asked)
        if self._fault(0.15):
            raise TransientUplinkError("the answer was lost")
        return msgspec.json.decode(_wire.encode(answer), type=PullResponse[msgspec.Raw])

    async def replay(self) -> None:
        """An old push delivered again, late (its answer goes nowhere)."""
        if self.sent:
            await self.county.push_body(self.agent, self.rng.choice(self.sent))


class PC:
    def __init__(self, store: AgentStore, service: CaseService, syncer: Syncer, link: Loopback) -> None:
        self.store, self.service, self.syncer, self.link = store, service, syncer, link


def agent_reference(reference: Reference) -> ReferenceResponse:
    township = reference.township(QIAOWA)
    assert township is not None
    return ReferenceResponse(version="ref", township=township, items=list(reference.items.values()),
                             org_units=[u for u in reference.units_under(QIAOWA) if u.code != township.code])


async def township(where: Path, n: int, batch_sizes: list[int], rng: random.Random
                   ) -> tuple[Store, Ingestor, Reference, list[PC]]:
    reference = load_reference(REPO / "config" / "org_units.csv", REPO / "config" / "catalog.csv")
    dsn = postgres.server_dsn(where)
    county = make_store("postgres" if dsn else "sqlite", where / "county.sqlite3", dsn or "", 2)
    await county.open()
    await county.upsert_reference(reference.org_units.values(), reference.items.values())
    ingestor = Ingestor(county, reference)
    ref = agent_reference(reference)
    pcs = []
    for i in range(n):
        record = AgentRecord(agent_id=f"{QIAOWA}-{i:06x}", township_code=QIAOWA, name=f"窗口{i + 1}",
                             created_at=now_iso())
        await county.add_agent(record, hash_token(f"{record.agent_id}.t"))
        store = await AgentStore.open(where / f"pc{i}.sqlite3")
        link = Loopback(ingestor, county, record, ref, rng)
        casebook = Casebook(store, record.agent_id)
        syncer = Syncer(store, link, agent_id=record.agent_id, batch_size=batch_sizes[i], reference_interval_s=1e9,
                        casebook=casebook)  # type: ignore[arg-type]
        service = CaseService(store, township_code=QIAOWA, pc_no=i + 1,
                              reference=lambda syncer=syncer: syncer.reference,
                              offset_ms=lambda link=link: link.offset_ms or 0, casebook=casebook)
        pcs.append(PC(store, service, syncer, link))
    return county, ingestor, reference, pcs


async def work(pc: PC, rng: random.Random, n: int) -> None:
    """One staff action on the PC's own state, offline: a new case, or the next step of a case it holds."""
    if pc.syncer.reference is None:
        return
    cases = await pc.store.list_cases(limit=1000)
    try:
        if not cases or rng.random() < 0.3:
            await pc.service.accept({"item_code": "GG-0003", "applicant_name": f"申请人{n}", "cert_type": "passport",
                                     "cert_no": f"E{n:08d}", "village_code": f"{QIAOWA}201"})
            return
        case = rng.choice(cases)
        if case.state in NEXT:
            kind, data = rng.choice(NEXT[case.state])
            await pc.service.act(case.case_id, kind, dict(data))
    except InvalidInput:
        pass  # the PC refuses what does not fit its state of the case, as staff see it


def rows(source: Path | Store, sql: str) -> dict[str, Any]:
    """First column -> the others, JSON columns decoded (the agent keeps them as bytes, the county as text): of a
    PC's file, or of the county's store (either backend)."""
    with closing(sqlite3.connect(source)) if isinstance(source, Path) else database.of_store(source) as db:
        return {r[0]: tuple(msgspec.json.decode(v) if isinstance(v, bytes | str) and v[:1] in ("{", b"{") else v
                            for v in r[1:]) for r in db.execute(sql)}


async def run(where: Path, n_pcs: int, batch_sizes: list[int], steps: list[tuple[int, str]], seed: int) -> None:
    rng = random.Random(seed)
    county, _, reference, pcs = await township(where, n_pcs, batch_sizes, rng)
    try:
        for pc in pcs:
            pc.link.faulty = False
            assert (await pc.syncer.sync_once()).is_ok  # the catalog
            pc.link.faulty = True
        for n, (i, step) in enumerate(steps):
            pc = pcs[i % n_pcs]
            if step == "work":
                await work(pc, rng, n)
            elif step == "sync":
                pc.link.offset_ms = rng.randint(-3000, 3000)  # the offset measured at each sync moves
                await pc.syncer.sync_once()
            else:
                await pc.link.replay()
        for pc in pcs:
            pc.link.faulty = False
        for _ in range(3):  # every PC's pull sees what the others pushed before it
            summaries = [await pc.syncer.sync_once() for pc in pcs]
        assert all(s.is_ok and s.pending == 0 and s.digest_agrees for s in summaries), summaries

        cases_sql = "SELECT case_id, body FROM cases"
        conflicts_sql = "SELECT event_id, is_open, body FROM conflicts"
        county_cases = rows(county, cases_sql + f" WHERE township_code = '{QIAOWA}'")
        county_conflicts = rows(county, conflicts_sql)
        for pc in pcs:
            assert rows(pc.store.path, cases_sql) == county_cases
            assert rows(pc.store.path, conflicts_sql) == county_conflicts
        assert await verify_cases(county, reference.items) == []
        event(f"conflicts: {min(len(county_conflicts), 3)}{'+' if len(county_conflicts) >= 3 else ''}")
        shared = rows(county, "SELECT case_id, count(DISTINCT agent_id) FROM events GROUP BY case_id")
        event(f"cases continued on another PC: {'yes' if any(v[0] > 1 for v in shared.values()) else 'no'}")
        stored = rows(county, "SELECT event_id, case_id FROM events")
        for pc in pcs:
            made = rows(pc.store.path, "SELECT event_id, case_id, status FROM outbox")
            assert set(made) <= set(stored)  # nothing any PC made was lost
            assert {v[1] for v in made.values()} <= {"synced"}
            for case_id in {v[0] for v in made.values()}:
                events = await pc.store.known_events([case_id], pc.syncer.agent_id)
                result = fold(fold_event(e) for e in events)
                assert result.case is not None
                assert sorted([*result.applied, *(c.event_id for c in result.conflicts)]) == sorted(
                    e.event_id for e in events)  # each event applied or a conflict, none left waiting
    finally:
        for pc in pcs:
            await pc.store.close()
        await county.close()


def schedule(n_pcs: int, length: int, sync_share: float, seed: int) -> list[tuple[int, str]]:
    """Which PC does what, step by step: staff work (offline until that PC syncs), a sync round, a late replay."""
    rng = random.Random(seed)
    return [(rng.randrange(n_pcs), "sync" if r < sync_share else "replay" if r > 0.95 else "work")
            for r in (rng.random() for _ in range(length))]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 4), st.lists(st.integers(1, 6), min_size=4, max_size=4), st.integers(20, 60),
       st.floats(0.1, 0.5), st.integers(0, 2**32))
def test_any_interleaving_of_offline_work_and_faulty_syncs_ends_with_every_pc_holding_the_countys_cases(
        tmp_path_factory: Any, n_pcs: int, batch_sizes: list[int], length: int, sync_share: float,
        seed: int) -> None:
    where = tmp_path_factory.mktemp("township")
    asyncio.run(run(where, n_pcs, batch_sizes, schedule(n_pcs, length, sync_share, seed), seed))
