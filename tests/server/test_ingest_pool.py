"""Ingest in worker processes (`[server] ingest_workers`): real worker processes behind the real HTTP route, a real
SQLite file. Townships are dealt to workers evenly and for good; PCs of several townships push at once; a worker
that dies is started again at the next push and nothing is half-applied; the workers end with the server."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest

from server.admin.rollups import verify_rollups
from server.http.common import INGEST, REFERENCE, STORE
from server.ingest.pool import IngestPool
from tests import database
from tests.server.helpers import QIAOWA, WACHANG, CountyServer, TownshipAgent


@pytest.fixture
def ingest_workers() -> int:
    return 2


def _pool(server: CountyServer) -> IngestPool:
    pool = server.app[INGEST]
    assert isinstance(pool, IngestPool)
    return pool


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


async def test_townships_are_dealt_to_the_workers_evenly_and_both_are_running(county_server: CountyServer) -> None:
    pool = _pool(county_server)
    townships = sorted(u.code[:9] for u in county_server.app[REFERENCE].townships())
    dealt = [pool.worker_of(t) for t in townships]
    assert dealt == [i % 2 for i in range(len(townships))]
    assert pool.worker_of(QIAOWA) != pool.worker_of(WACHANG)  # the two townships of these tests
    pids = pool.pids()
    assert len(set(pids)) == 2 and all(pid is not None and _running(pid) for pid in pids)
    assert pool.alive == 2


async def test_pcs_of_two_townships_pushing_at_once_are_all_counted(county_server: CountyServer) -> None:
    pcs = [await county_server.add_agent(township, f"窗口{n}") for township in (QIAOWA, WACHANG) for n in (1, 2)]

    async def work(pc: TownshipAgent) -> None:
        for _ in range(5):
            cases = [pc.accepted() for _ in range(20)]
            events: list[dict[str, Any]] = []
            for acc in cases:
                events += [acc, pc.completed(acc["case_id"]), pc.evaluated(acc["case_id"])]
            answer = await county_server.push(pc, events)
            assert (answer["stored"], answer["acked_seq"]) == (60, pc.seq)

    await asyncio.gather(*(work(pc) for pc in pcs))
    rows = await county_server.stats("township")
    for township in (QIAOWA, WACHANG):
        row = rows[township + "000"]
        assert (row["accepted"], row["completed"], row["evaluations"]) == (200, 200, 200)
    assert await verify_rollups(county_server.app[STORE]) == []


async def test_a_killed_worker_is_started_again_and_its_push_is_sent_again_without_double_counting(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    pool = _pool(county_server)
    first = await county_server.push(qiaowa, [acc := qiaowa.accepted()])
    assert first["stored"] == 1
    index = pool.worker_of(QIAOWA)
    old_pid = pool.pids()[index]
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)
    for _ in range(200):  # the server notices when the worker's socket closes
        if pool.alive == 1:
            break
        await asyncio.sleep(0.01)
    assert pool.alive == 1

    # The PC did not hear back and sends its batch again, with a new event.
    again = await county_server.push(qiaowa, [acc, qiaowa.completed(acc["case_id"])])
    assert (again["stored"], again["duplicates"], again["acked_seq"]) == (1, 1, 2)
    new_pid = pool.pids()[index]
    assert new_pid not in (None, old_pid) and pool.alive == 2
    assert not _running(old_pid)
    row = (await county_server.stats("township"))[QIAOWA + "000"]
    assert (row["accepted"], row["completed"]) == (1, 1)
    with database.connect(county_server.config) as db:
        assert db.execute("SELECT count(*) FROM events").fetchone() == (2,)


async def test_a_bad_body_is_answered_by_the_worker_with_the_usual_error(county_server: CountyServer,
                                                                        qiaowa: TownshipAgent) -> None:
    async with await county_server.post_push(b"{not json", token=qiaowa.token) as r:
        assert (r.status, (await r.json())["code"]) == (400, "bad_json")
    async with await county_server.post_push({"agent_id": "513422100-other", "events": []}, token=qiaowa.token) as r:
        assert (r.status, (await r.json())["code"]) == (403, "agent_mismatch")
    assert _pool(county_server).alive == 2  # a bad body is the agent's fault, not the worker's


async def test_the_workers_end_with_the_server(server_config: Any) -> None:
    import aiohttp
    from aiohttp.test_utils import TestServer

    from server.app import build_app

    app = await build_app(server_config)
    async with TestServer(app, host="127.0.0.1", port=0), aiohttp.ClientSession():
        pids = app[INGEST].pids()  # type: ignore[attr-defined]
        assert all(pid is not None and _running(pid) for pid in pids)
    assert not any(_running(pid) for pid in pids if pid is not None)
