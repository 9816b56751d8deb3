"""POST /api/v1/sync/push over real HTTP, gzip bodies and a real SQLite file."""

from __future__ import annotations

import time
from typing import Any

import pytest

from protocol.ids import new_uuid7
from tests import database
from tests.server.helpers import QIAOWA, WACHANG, CountyServer, TownshipAgent

VILLAGE = QIAOWA + "201"  # 锄头湾村


@pytest.fixture(params=[0, 2], ids=["in-process", "2-workers"])
def ingest_workers(request: pytest.FixtureRequest) -> int:
    """Every push test runs with ingest in the server process and in two worker processes."""
    return request.param


def _db(server: CountyServer) -> Any:
    return database.connect(server.config)


async def test_a_push_stores_the_events_folds_the_case_and_acknowledges_every_seq(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    acc = qiaowa.accepted(org_code=VILLAGE)
    case_id = acc["case_id"]
    before_ms = time.time_ns() // 1_000_000
    answer = await county_server.push(qiaowa, [acc, qiaowa.completed(case_id), qiaowa.evaluated(case_id, rating=4)])
    assert answer["acked_seq"] == 3
    assert answer["stored"] == 3
    assert answer["duplicates"] == 0
    assert answer.get("refused", []) == []
    assert answer["server_time_ms"] >= before_ms
    with _db(county_server) as db:
        row = db.execute("SELECT state, org_code, township_code, rating, is_on_time, category FROM cases "
                         "WHERE case_id = ?", (case_id,)).fetchone()
        assert row == ("completed", VILLAGE, QIAOWA, 4, 1, "公共服务")
        if county_server.config.storage_backend == "sqlite":
            # JSON goes to SQLite as UTF-8 bytes and is stored as text: the JSON functions of the dashboard read it.
            assert db.execute("SELECT typeof(body), json_extract(body, '$.rating') FROM cases").fetchone() == (
                "text", 4)
            assert db.execute("SELECT DISTINCT typeof(data) FROM events").fetchall() == [("text",)]
        else:  # text that PostgreSQL's JSON functions read, as the dashboard does
            assert db.execute("SELECT (body::jsonb ->> 'rating')::int FROM cases").fetchone() == (4,)
        assert db.execute("SELECT acked_seq FROM agents WHERE agent_id = ?", (qiaowa.agent_id,)).fetchone() == (3,)
    village = (await county_server.stats("village", org=QIAOWA))[VILLAGE]
    assert (village["accepted"], village["completed"], village["completed_on_time"], village["evaluations"]) == (
        1, 1, 1, 1)


async def test_the_same_batch_sent_twice_counts_once(county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    acc = qiaowa.accepted()
    batch = [acc, qiaowa.completed(acc["case_id"]), qiaowa.consulted()]
    first = await county_server.push(qiaowa, batch)
    figures = await county_server.stats("township")
    again = await county_server.push(qiaowa, batch)
    assert (first["stored"], first["duplicates"]) == (3, 0)
    assert (again["stored"], again["duplicates"], again["acked_seq"]) == (0, 3, 3)
    assert await county_server.stats("township") == figures
    assert figures[QIAOWA + "000"]["accepted"] == 1
    with _db(county_server) as db:
        assert db.execute("SELECT count(*) FROM events").fetchone() == (3,)
        assert db.execute("SELECT sum(consultations) FROM rollups").fetchone() == (1,)


async def test_a_duplicate_inside_one_batch_is_counted_as_duplicate(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    acc = qiaowa.accepted()
    answer = await county_server.push(qiaowa, [acc, acc])
    assert (answer["stored"], answer["duplicates"], answer["acked_seq"]) == (1, 1, 1)


async def test_events_arriving_out_of_order_across_batches_converge(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    acc = qiaowa.accepted("2026-03-02", due_on="2026-03-04")
    done = qiaowa.completed(acc["case_id"], "2026-03-06")  # late: after the due date
    rated = qiaowa.evaluated(acc["case_id"], "2026-03-06", rating=2)
    # The evaluation first, then the completion, then the acceptance: seq 3, 2, 1.
    first = await county_server.push(qiaowa, [rated])
    assert (first["stored"], first["acked_seq"]) == (1, 0)
    second = await county_server.push(qiaowa, [done])
    assert (second["stored"], second["acked_seq"]) == (1, 0)
    with _db(county_server) as db:
        assert db.execute("SELECT count(*) FROM cases").fetchone() == (0,)  # no `accepted` yet: no row
    assert (await county_server.stats("township"))[QIAOWA + "000"]["completed"] == 0
    third = await county_server.push(qiaowa, [acc])
    assert (third["stored"], third["acked_seq"]) == (1, 3)
    row = (await county_server.stats("township"))[QIAOWA + "000"]
    assert (row["accepted"], row["completed"], row["completed_on_time"], row["on_time_rate"]) == (1, 1, 0, 0.0)
    assert (row["evaluations"], row["good_ratings"], row["good_rating_rate"]) == (1, 0, 0.0)
    with _db(county_server) as db:
        assert db.execute("SELECT state, rating, is_on_time FROM cases").fetchone() == ("completed", 2, 0)


async def test_an_event_that_belongs_before_the_stored_state_refolds_the_case(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    acc = qiaowa.accepted("2026-03-02")
    done = qiaowa.completed(acc["case_id"], "2026-03-05")
    rated = qiaowa.evaluated(acc["case_id"], "2026-03-09", rating=5)
    first = await county_server.push(qiaowa, [acc, rated])  # the completion has not arrived: the rating cannot apply
    with _db(county_server) as db:
        assert db.execute("SELECT state, rating FROM cases").fetchone() == ("in_progress", None)
        assert db.execute("SELECT event_id, code, is_open FROM conflicts").fetchall() == [
            (rated["event_id"], "not_completed", 1)]
    assert [(c["event_id"], c["code"]) for c in first["conflicts"]] == [(rated["event_id"], "not_completed")]
    await county_server.push(qiaowa, [done])  # seq 2 belongs before the stored rating: refold from all events
    with _db(county_server) as db:
        assert db.execute("SELECT state, rating, completed_on, rated_on FROM cases").fetchone() == (
            "completed", 5, "2026-03-05", "2026-03-09")
        assert db.execute("SELECT count(*) FROM conflicts").fetchone() == (0,)  # derived: gone with the refold


async def test_an_agents_seq_order_is_the_order_whatever_its_clock_said(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    # The bug: completed and rated in one second, the offset measured between them moved the rating back.
    acc = qiaowa.accepted("2026-03-02T09:00:00.100+08:00")
    done = qiaowa.completed(acc["case_id"], "2026-03-02T09:00:01.200+08:00")
    rated = qiaowa.evaluated(acc["case_id"], "2026-03-02T09:00:01.400+08:00", rating=4)
    rated["offset_ms"] = 900
    await county_server.push(qiaowa, [acc, done, rated])
    with _db(county_server) as db:
        assert db.execute("SELECT state, rating FROM cases").fetchone() == ("completed", 4)
        assert db.execute("SELECT count(*) FROM conflicts").fetchone() == (0,)


async def test_one_invalid_event_is_refused_alone_and_the_ack_moves_past_it(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    a1 = qiaowa.accepted()
    bad = qiaowa.evaluated(a1["case_id"], rating=9)  # rating out of 1..5
    a2 = qiaowa.accepted()
    answer = await county_server.push(qiaowa, [a1, bad, a2])
    assert (answer["stored"], answer["acked_seq"]) == (2, 3)
    [refusal] = answer["refused"]
    assert (refusal["event_id"], refusal["seq"], refusal["code"]) == (bad["event_id"], 2, "invalid_event")
    assert "rating" in refusal["detail"]
    assert refusal["message"]
    with _db(county_server) as db:
        assert db.execute("SELECT event_id, code FROM refused_events").fetchall() == [(bad["event_id"],
                                                                                       "invalid_event")]
    # Sent again (the agent never heard the answer): refused the same way, nothing else changes.
    again = await county_server.push(qiaowa, [a1, bad, a2])
    assert (again["stored"], again["duplicates"], again["acked_seq"]) == (0, 2, 3)
    assert [r["code"] for r in again["refused"]] == ["invalid_event"]


async def test_each_kind_of_bad_event_gets_its_own_code(county_server: CountyServer,
                                                        qiaowa: TownshipAgent) -> None:
    events = [
        qiaowa.accepted(item_code="NO-SUCH-ITEM"),
        qiaowa.accepted(org_code=QIAOWA + "999"),  # inside the township, not an org unit
        qiaowa.accepted(village_code=QIAOWA + "000"),  # a centre is not a village
        qiaowa.accepted(at="2026-13-45T10:00:00+08:00"),
        {"seq": 6, "kind": "accepted"},  # no event_id: refused, listed, but cannot be recorded
    ]
    qiaowa.seq += 1
    answer = await county_server.push(qiaowa, events)
    codes = [(r["seq"], r["code"]) for r in answer["refused"]]
    assert codes == [(1, "unknown_item"), (2, "unknown_org"), (3, "unknown_org"), (4, "invalid_event"),
                     (6, "invalid_event")]
    assert answer["acked_seq"] == 4  # seq 5 never arrived; seq 6 had no event_id to record


async def test_a_token_of_one_township_cannot_write_another_townships_cases(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    wachang = await county_server.add_agent(WACHANG)
    foreign_org = qiaowa.accepted(org_code=WACHANG + "201")  # 乔瓦镇 writing a 瓦厂镇 village
    foreign_village = qiaowa.accepted(village_code=WACHANG + "202")
    answer = await county_server.push(qiaowa, [foreign_org, foreign_village])
    assert [r["code"] for r in answer["refused"]] == ["wrong_township", "wrong_township"]
    assert (answer["stored"], answer["acked_seq"]) == (0, 2)
    # 瓦厂镇 completing a case of 乔瓦镇: refused, the case stays open.
    own = qiaowa.accepted()
    await county_server.push(qiaowa, [own])
    answer = await county_server.push(wachang, [wachang.completed(own["case_id"])])
    assert [r["code"] for r in answer["refused"]] == ["wrong_township"]
    assert answer["acked_seq"] == 1
    with _db(county_server) as db:
        assert db.execute("SELECT state FROM cases").fetchall() == [("in_progress",)]
    assert all(row["accepted"] == 0 for code, row in (await county_server.stats("township")).items()
               if code != QIAOWA + "000")


async def test_a_seq_sent_again_with_another_event_id_is_refused_as_reused(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    first = qiaowa.accepted()
    await county_server.push(qiaowa, [first])
    qiaowa.seq = 0  # the PC's store was restored from an old backup
    reused = qiaowa.accepted()
    answer = await county_server.push(qiaowa, [reused])
    assert reused["seq"] == first["seq"] == 1
    assert (answer["stored"], answer["acked_seq"]) == (0, 1)
    [refusal] = answer["refused"]
    assert refusal["code"] == "seq_reused"
    assert first["event_id"] in refusal["detail"]
    with _db(county_server) as db:
        assert db.execute("SELECT count(*) FROM cases").fetchone() == (1,)


async def test_an_event_id_sent_again_with_another_seq_is_refused(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    acc = qiaowa.accepted()
    await county_server.push(qiaowa, [acc])
    answer = await county_server.push(qiaowa, [{**acc, "seq": 2}])
    assert [r["code"] for r in answer["refused"]] == ["event_id_reused"]
    assert answer["acked_seq"] == 2


async def test_a_rejected_case_counts_as_rejected_not_accepted(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    a, b = qiaowa.accepted(), qiaowa.accepted()
    await county_server.push(qiaowa, [a, b, qiaowa.rejected(a["case_id"]), qiaowa.withdrawn(b["case_id"])])
    row = (await county_server.stats("township"))[QIAOWA + "000"]
    assert (row["accepted"], row["rejected"], row["withdrawn"]) == (1, 1, 1)


async def test_the_ack_is_the_highest_contiguous_seq(county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    events = [qiaowa.accepted() for _ in range(5)]
    assert (await county_server.push(qiaowa, [events[0], events[1], events[3]]))["acked_seq"] == 2
    assert (await county_server.push(qiaowa, [events[4]]))["acked_seq"] == 2
    assert (await county_server.push(qiaowa, [events[2]]))["acked_seq"] == 5


async def test_events_that_arrive_before_a_foreign_townships_accept_are_skipped(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    wachang = await county_server.add_agent(WACHANG)
    acc = qiaowa.accepted()
    stray = wachang.completed(acc["case_id"])  # no case yet, so it cannot be refused at push time
    assert (await county_server.push(wachang, [stray]))["stored"] == 1
    await county_server.push(qiaowa, [acc])
    with _db(county_server) as db:
        assert db.execute("SELECT state FROM cases").fetchone() == ("in_progress",)


async def test_a_batch_naming_another_agent_is_refused_whole(county_server: CountyServer,
                                                              qiaowa: TownshipAgent) -> None:
    async with await county_server.post_push({"agent_id": "513422101-abcdef", "events": [qiaowa.accepted()]},
                                             token=qiaowa.token) as r:
        assert r.status == 403
        assert (await r.json())["code"] == "agent_mismatch"
    with _db(county_server) as db:
        assert db.execute("SELECT count(*) FROM events").fetchone() == (0,)


async def test_aiohttp_decompresses_gzip_and_the_size_limit_counts_decompressed_bytes(
        county_server: CountyServer, qiaowa: TownshipAgent) -> None:
    limit = county_server.config.max_body_bytes
    padding = " " * (limit + 10)  # JSON whitespace: compresses to almost nothing
    body = b'{"agent_id": "%s", "events": []%s}' % (qiaowa.agent_id.encode(), padding.encode())
    async with await county_server.post_push(body, token=qiaowa.token) as r:
        assert r.status == 413
        assert (await r.json())["code"] == "too_large"
    async with await county_server.post_push({"agent_id": qiaowa.agent_id, "events": [qiaowa.accepted()]},
                                             token=qiaowa.token, is_gzip=False) as r:
        assert r.status == 200  # an uncompressed body is accepted too
        assert (await r.json())["stored"] == 1


async def test_consultations_count_on_their_day_and_channel(county_server: CountyServer,
                                                            qiaowa: TownshipAgent) -> None:
    await county_server.push(qiaowa, [qiaowa.consulted("2026-03-02"), qiaowa.consulted("2026-03-03", VILLAGE),
                                      qiaowa.consulted("2026-03-03", VILLAGE, channel="online")])
    with _db(county_server) as db:
        rows = db.execute("SELECT org_code, day, category, channel, consultations FROM rollups ORDER BY 1, 2, 4")
        assert rows.fetchall() == [(QIAOWA + "000", "2026-03-02", "咨询", "window", 1),
                                   (VILLAGE, "2026-03-03", "咨询", "online", 1),
                                   (VILLAGE, "2026-03-03", "咨询", "window", 1)]


async def test_a_corrected_clock_moves_the_day_an_event_counts_on(county_server: CountyServer,
                                                                 qiaowa: TownshipAgent) -> None:
    # The PC clock is 2 hours fast: 01:00 on the PC is 23:00 the day before on the server's clock.
    acc = qiaowa.accepted("2026-03-03T01:00:00+08:00")
    acc["offset_ms"] = 2 * 3600 * 1000
    await county_server.push(qiaowa, [acc])
    with _db(county_server) as db:
        assert db.execute("SELECT accepted_on FROM cases").fetchone() == ("2026-03-02",)


async def test_a_new_agent_token_works_and_an_unknown_one_does_not(county_server: CountyServer) -> None:
    agent = await county_server.add_agent(QIAOWA)
    assert agent.agent_id.startswith(QIAOWA + "-") and len(agent.agent_id) == 16
    assert agent.token.startswith(agent.agent_id + ".")
    async with await county_server.post_push({"agent_id": agent.agent_id, "events": []},
                                             token=agent.token + "x") as r:
        assert r.status == 401
    assert (await county_server.push(agent, []))["acked_seq"] == 0
    assert new_uuid7() != new_uuid7()
