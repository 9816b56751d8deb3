"""Ingest folds a batch while the batch before it is still being written (server/ingest/pipeline.py, through the
overlay of server/ingest/pending.py): what the later batch sees of the pending one, and what happens to it when the
pending one fails.

Real HTTP and a real SQLite file. A gate holds the writer thread in front of one batch's statements, so that the
next batch is folded, prepared and queued behind it before it commits (or fails).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from server.admin.rollups import verify_rollups
from server.clock import now_iso
from server.http.common import STORE
from server.ingest.batch import fold_batch
from server.ingest.checks import check_push, decode_push
from server.ingest.ingestor import Ingestor
from server.ingest.pending import Pending
from server.ingest.pipeline import InTransaction, Pipeline
from server.model.reference import load_reference
from server.storage.base import AgentRecord, BatchWrite, IngestReads
from server.storage.sqlite import store as sqlite_store
from server.storage.sqlite.store import SqliteStore
from tests import database, postgres
from tests.server.helpers import QIAOWA, REPO, CountyServer, TownshipAgent
from tests.server.storage.backends import AnyTurn


class Gate:
    """Stops the writer thread before the first batch whose acknowledgement names `agent_id`, until `open()`;
    then that batch fails if `fail`, or is written."""

    def __init__(self, agent_id: str, *, fail: bool = False) -> None:
        self.agent_id = agent_id
        self.fail = fail
        self.reached = threading.Event()
        self._open = threading.Event()
        self._used = False

    def wrap(self, run: Callable[[sqlite3.Connection, Sequence[Any]], int]
             ) -> Callable[[sqlite3.Connection, Sequence[Any]], int]:
        def run_statements(conn: sqlite3.Connection, statements: Sequence[Any]) -> int:
            ack_params = statements[-1][1]
            if ack_params[0] == self.agent_id and not self._used:
                self._used = True
                self.reached.set()
                assert self._open.wait(10), "the test never opened the gate"
                if self.fail:
                    raise sqlite3.OperationalError("disk I/O error (injected)")
            return run(conn, statements)
        return run_statements

    def open(self) -> None:
        self._open.set()


# The pipeline is SQLite's way (`SerialIngest`); on PostgreSQL each batch folds inside its own transaction, which
# test_the_in_transaction_path_... below and the contract suite cover.
_serial_only = postgres.sqlite_only("a gate on the SQLite writer thread holds a batch while the next one folds")


@pytest.fixture
async def pc2(county_server: CountyServer) -> TownshipAgent:
    """A second PC of 乔瓦镇: it may act on cases the first PC accepted."""
    return await county_server.add_agent(QIAOWA, "窗口2")


async def _push(server: CountyServer, agent: TownshipAgent, events: list[dict[str, Any]]) -> tuple[int, Any]:
    async with await server.post_push({"agent_id": agent.agent_id, "events": events}, token=agent.token) as r:
        return r.status, await r.json()


async def _hold(server: CountyServer, monkeypatch: pytest.MonkeyPatch, gate: Gate, queued: int
                ) -> asyncio.Event:
    """Install `gate`; the returned event is set once `queued` batches were handed to the writer."""
    monkeypatch.setattr(sqlite_store, "run_statements", gate.wrap(sqlite_store.run_statements))
    store = server.app[STORE]
    queue = store.queue_batch_write
    submitted = asyncio.Event()
    count = 0

    def counting(batch: Any, turn: Any) -> asyncio.Future[int]:
        nonlocal count
        count += 1
        if count >= queued:
            submitted.set()
        return queue(batch, turn)

    monkeypatch.setattr(store, "queue_batch_write", counting)
    return submitted


@_serial_only
async def test_a_batch_folded_behind_a_pending_one_sees_its_case_events_and_seqs(
        county_server: CountyServer, qiaowa: TownshipAgent, pc2: TownshipAgent,
        monkeypatch: pytest.MonkeyPatch) -> None:
    gate = Gate(qiaowa.agent_id)
    submitted = await _hold(county_server, monkeypatch, gate, queued=2)
    acc = qiaowa.accepted()
    first = asyncio.ensure_future(_push(county_server, qiaowa, [acc]))
    assert await asyncio.to_thread(gate.reached.wait, 10)
    # Behind the pending batch: the other PC completes the case the pending batch accepts.
    second = asyncio.ensure_future(_push(county_server, pc2, [pc2.completed(acc["case_id"])]))
    await asyncio.wait_for(submitted.wait(), 10)
    gate.open()
    (s1, a1), (s2, a2) = await first, await second
    assert (s1, a1["stored"], a1["acked_seq"]) == (200, 1, 1)
    assert (s2, a2["stored"], a2["acked_seq"]) == (200, 1, 1)
    # Sent again once nothing is pending: a duplicate.
    again = await county_server.push(qiaowa, [acc])
    assert (again["stored"], again["duplicates"]) == (0, 1)
    township = (await county_server.stats("township"))[QIAOWA + "000"]
    assert (township["accepted"], township["completed"]) == (1, 1)
    assert await verify_rollups(county_server.app[STORE]) == []


@_serial_only
async def test_a_resend_or_a_reused_seq_behind_the_pending_batch_is_seen_as_such(
        county_server: CountyServer, qiaowa: TownshipAgent, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = Gate(qiaowa.agent_id)
    submitted = await _hold(county_server, monkeypatch, gate, queued=2)
    acc = qiaowa.accepted()
    first = asyncio.ensure_future(_push(county_server, qiaowa, [acc]))
    assert await asyncio.to_thread(gate.reached.wait, 10)
    other = qiaowa.accepted()
    other["seq"] = acc["seq"]  # a reset PC reusing seq 1 for another event
    # The answer to the first push was lost: the PC sends it again, with the reused seq behind it.
    second = asyncio.ensure_future(_push(county_server, qiaowa, [acc, other]))
    await asyncio.wait_for(submitted.wait(), 10)
    gate.open()
    (s1, a1), (s2, a2) = await first, await second
    assert (s1, a1["stored"]) == (200, 1)
    assert (s2, a2["stored"], a2["duplicates"], a2["acked_seq"]) == (200, 0, 1, 1)
    assert [r["code"] for r in a2["refused"]] == ["seq_reused"]
    with database.connect(county_server.config) as db:
        assert db.execute("SELECT count(*) FROM events").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM cases").fetchone() == (1,)


@_serial_only
async def test_a_failed_write_fails_the_batches_folded_behind_it_and_the_next_fold_starts_from_the_commits(
        county_server: CountyServer, qiaowa: TownshipAgent, pc2: TownshipAgent,
        monkeypatch: pytest.MonkeyPatch) -> None:
    done = qiaowa.accepted()
    assert (await county_server.push(qiaowa, [done]))["acked_seq"] == 1  # a committed case, for contrast
    gate = Gate(qiaowa.agent_id, fail=True)
    submitted = await _hold(county_server, monkeypatch, gate, queued=2)
    acc = qiaowa.accepted()
    first = asyncio.ensure_future(_push(county_server, qiaowa, [acc]))
    assert await asyncio.to_thread(gate.reached.wait, 10)
    # Folded on the failing batch's state (where its case exists): it must not be written.
    completions = [pc2.completed(acc["case_id"]), pc2.completed(done["case_id"])]
    second = asyncio.ensure_future(_push(county_server, pc2, completions))
    await asyncio.wait_for(submitted.wait(), 10)
    gate.open()
    (s1, e1), (s2, e2) = await first, await second
    assert (s1, e1["code"]) == (500, "internal")
    assert (s2, e2["code"]) == (500, "internal")
    with database.connect(county_server.config) as db:
        assert db.execute("SELECT count(*) FROM events").fetchone() == (1,)  # only the batch before the gate
        assert db.execute("SELECT acked_seq FROM agents WHERE agent_id = ?", (pc2.agent_id,)).fetchone() == (0,)

    # The agents send the same batches again, the later one first: it is folded on what was committed, where
    # one of its cases does not exist yet. The completion of that case waits for its acceptance.
    retry2 = await county_server.push(pc2, completions)
    assert (retry2["stored"], retry2["acked_seq"]) == (2, 2)
    township = (await county_server.stats("township"))[QIAOWA + "000"]
    assert (township["accepted"], township["completed"]) == (1, 1)
    retry1 = await county_server.push(qiaowa, [acc])
    assert (retry1["stored"], retry1["acked_seq"]) == (1, 2)
    township = (await county_server.stats("township"))[QIAOWA + "000"]
    assert (township["accepted"], township["completed"]) == (2, 2)
    assert await verify_rollups(county_server.app[STORE]) == []


async def test_the_overlay_of_a_pending_batch_answers_as_the_store_does_once_it_committed(tmp_path: Path) -> None:
    """`Pending.over` is the same read interface as the committed state: every read through the overlay of a
    folded batch equals the same read of the store after that batch is written."""
    reference = load_reference(REPO / "config" / "org_units.csv", REPO / "config" / "catalog.csv")
    store = SqliteStore(tmp_path / "county.sqlite3")
    await store.open()
    try:
        await store.upsert_reference(reference.org_units.values(), reference.items.values())
        record = AgentRecord(QIAOWA + "-00000a", QIAOWA, "窗口1", now_iso())
        await store.add_agent(record, "token-hash")
        pc = TownshipAgent(record.agent_id, "token", QIAOWA)
        a, b = pc.accepted("2026-03-02"), pc.accepted("2026-03-02")
        await Ingestor(store, reference).push_body(record, _body(record, [a, pc.completed(a["case_id"])]))
        late = pc.event("supplement_requested", a["case_id"], "2026-03-03", {"missing": ["户口簿复印件"]})
        second = [b, pc.evaluated(a["case_id"]), late, pc.consulted(), {**pc.accepted(), "seq": 1},
                  pc.accepted(item_code="NO-SUCH-ITEM")]
        request = decode_push(record, _body(record, second))
        folded = await fold_batch(store.committed_reads, check_push(record, request, reference), reference.items,
                                  now_iso())
        assert [r.code for r in folded.refused] == ["unknown_item", "seq_reused"]
        pending = Pending()
        pending.add(folded.write)
        overlay = pending.over(store.committed_reads)
        keys = ([e["event_id"] for e in second], [a["case_id"], b["case_id"]], [second[3]["case_id"]])
        before = await _read_all(overlay, record.agent_id, *keys)
        await store.queue_batch_write(folded.write, AnyTurn())
        assert await _read_all(store.committed_reads, record.agent_id, *keys) == before
        assert all(before) and len(before[0]) == 4  # b, the rating, the supplement, the consultation
    finally:
        await store.close()


def _body(record: AgentRecord, events: list[dict[str, Any]]) -> bytes:
    return json.dumps({"agent_id": record.agent_id, "events": events}).encode()


async def _read_all(reads: IngestReads, agent_id: str, event_ids: list[str], case_ids: list[str],
                    consultation_ids: list[str]) -> tuple[Any, ...]:
    return (await reads.stored_events(event_ids), await reads.seq_owners(agent_id, list(range(1, 10))),
            {k: (v.case, v.category, v.last_key) for k, v in (await reads.load_cases(case_ids)).items()},
            sorted((e.event_id, e.order_key) for e in await reads.events_of_cases(case_ids)),
            await reads.stored_consultations(consultation_ids))


class _LockedSqlite:
    """The `TransactionalIngest` shape on SQLite's parts: a township's lock held from its fold's first read to its
    commit (what a PostgreSQL row lock does), the fold reading the state its transaction would see."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.folds = 0

    async def fold_and_write(self, township_code: str, fold: Callable[[IngestReads], Awaitable[BatchWrite]]) -> int:
        async with self._locks[township_code]:
            batch = await fold(self._store.committed_reads)
            self.folds += 1
            return await self._store.queue_batch_write(batch, AnyTurn())


class _LockedStore:
    def __init__(self, store: SqliteStore) -> None:
        self.ingest_writes = _LockedSqlite(store)


async def test_the_in_transaction_path_folds_the_same_batches_to_the_same_answers_and_figures(
        tmp_path: Path) -> None:
    """Ingest through `InTransaction` (the path of a backend that folds inside its write transaction) and through
    the pipeline give the same answers, cases and rollups for the same pushes, sent at once."""
    reference = load_reference(REPO / "config" / "org_units.csv", REPO / "config" / "catalog.csv")
    stores = [SqliteStore(tmp_path / f"{name}.sqlite3") for name in ("pipeline", "locked")]
    agents = [AgentRecord(t + "-00000a", t, "窗口1", now_iso()) for t in (QIAOWA, "513422101")]
    for store in stores:
        await store.open()
        await store.upsert_reference(reference.org_units.values(), reference.items.values())
        for a in agents:
            await store.add_agent(a, a.agent_id)
    try:
        pipelined = Ingestor(stores[0], reference)
        locked = _LockedStore(stores[1])
        in_transaction = Ingestor(locked, reference)  # type: ignore[arg-type]  # the store's ingest shape only
        assert isinstance(in_transaction._path, InTransaction) and isinstance(pipelined._path, Pipeline)
        batches: list[tuple[AgentRecord, list[dict[str, Any]]]] = []
        for record in agents:
            pc = TownshipAgent(record.agent_id, "token", record.township_code)
            cases = [pc.accepted("2026-03-02") for _ in range(3)]
            batches += [(record, cases[:2]), (record, [pc.completed(cases[0]["case_id"]), cases[2]]),
                        (record, [pc.evaluated(cases[0]["case_id"], rating=2), {**pc.accepted(), "seq": 1},
                                  pc.rejected(cases[1]["case_id"]), pc.consulted()]),
                        (record, cases[:1])]  # sent again

        async def push_all(ingestor: Ingestor) -> list[Any]:
            return await asyncio.gather(*(ingestor.push_body(r, _body(r, events)) for r, events in batches))

        answers = [await push_all(ingestor) for ingestor in (pipelined, in_transaction)]
        assert locked.ingest_writes.folds == len(batches)
        strip = [[(a.acked_seq, a.stored, a.duplicates, [(r.seq, r.code) for r in a.refused]) for a in run]
                 for run in answers]
        assert strip[0] == strip[1]
        # seq 6 was never sent (the reused seq took its place): the acknowledgement stays at 5
        assert strip[0][2] == (5, 3, 0, [(1, "seq_reused")]) and strip[0][3] == (5, 0, 1, [])
        states = []
        for store in stores:
            assert await verify_rollups(store) == []
            ids = [e["case_id"] for _, events in batches for e in events if e["kind"] == "accepted"]
            cases = await store.committed_reads.load_cases(ids)
            states.append(sorted((c.case.case_id, c.case.state, c.case.rating) for c in cases.values()))
        assert states[0] == states[1] and len(states[0]) == 6
    finally:
        for store in stores:
            await store.close()
