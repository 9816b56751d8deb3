"""The PC's copy of its township's cases: pulled events folded with its own by the county's function, conflicts with
both sides, settled by staff as events; refusals and the upgrade refold."""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta

import msgspec

from agent.store import migrations
from agent.sync.syncer import AdaptiveBatch
from protocol.ids import new_uuid7
from protocol.lifecycle import CHINA_TZ
from protocol.messages import PulledEvent, Refusal
from tests.agent.conftest import TOWNSHIP, accept_form
from tests.agent.desk import outbox, running_agent, service_of, store_of

OTHER_PC = f"{TOWNSHIP}-0ther1"


def pulled(kind: str, case_id: str, data: dict, *, parents: list[str] | None, minutes: float = 0,
           seq: int = 1, agent_id: str = OTHER_PC, event_id: str | None = None) -> PulledEvent[msgspec.Raw]:
    at = (datetime.now(CHINA_TZ) + timedelta(minutes=minutes)).isoformat(timespec="milliseconds")
    return PulledEvent(event_id=event_id or new_uuid7(), agent_id=agent_id, seq=seq, case_id=case_id, kind=kind,
                       at=at, data=msgspec.Raw(msgspec.json.encode(data)), parents=parents)


def accepted_elsewhere(case_no: str = "51342210002202601010001") -> PulledEvent[msgspec.Raw]:
    return pulled("accepted", new_uuid7(), {
        "case_no": case_no, "item_code": "GG-001", "org_code": f"{TOWNSHIP}000", "channel": "window",
        "applicant_name": "卓玛", "cert_type": "resident_id", "cert_no": "11010519491231002X", "promised_days": 3},
        parents=[], minutes=-60)


async def test_a_case_accepted_at_another_window_can_be_continued_here(tmp_path):
    async with running_agent(tmp_path) as client:
        casebook = service_of(client).casebook
        acc = accepted_elsewhere()
        await casebook.apply_pull([acc], pull_cursor="c1")
        shown = await (await client.get(f"/api/cases/{acc.case_id}/history")).json()
        done = await client.post(f"/api/cases/{acc.case_id}/events",
                                 json={"kind": "completed", "data": {"result": "approved"}})
        done_body = await done.json()
        rows = outbox(client)
        meta = await store_of(client).get_meta()
    assert shown["case"]["applicant_name"] == "卓玛" and shown["case"]["accepted_by"]["agent_id"] == OTHER_PC
    assert shown["case"]["accepted_by"]["is_this_pc"] is False
    assert [e["status"] for e in shown["events"]] == ["county"]
    assert done.status == 201 and done_body["state"] == "completed"
    (seq, _, case_id, kind, status, _) = rows[0]
    assert (case_id, kind, status) == (acc.case_id, "completed", "pending")
    assert meta["pull_cursor"] == "c1"
    with closing(sqlite3.connect(store_of(client).path)) as db:
        (parents,) = db.execute("SELECT parents FROM outbox WHERE seq = ?", (seq,)).fetchone()
    assert msgspec.json.decode(parents) == [acc.event_id]  # made on the state after the other window's acceptance


async def test_pulled_events_in_any_batches_and_order_and_again_fold_to_the_same_case(tmp_path):
    acc = accepted_elsewhere()
    evs = [acc]
    for n, (kind, data) in enumerate([("supplement_requested", {"missing": ["户口簿"]}),
                                      ("supplement_received", {"due_on": "2030-01-10"}),
                                      ("completed", {"result": "approved"}), ("evaluated", {"rating": 2}),
                                      ("followed_up", {"note": "已回访"})], start=2):
        evs.append(pulled(kind, acc.case_id, data, parents=[evs[-1].event_id], minutes=n, seq=n))
    states = set()
    for seed in range(4):
        order = random.Random(seed).sample(evs, len(evs))
        order += order[:2]  # duplicates
        async with running_agent(tmp_path / str(seed)) as client:
            casebook = service_of(client).casebook
            cut = 1 + seed
            await casebook.apply_pull(order[:cut], pull_cursor="a")
            await casebook.apply_pull(order[cut:], pull_cursor="b")
            await casebook.apply_pull(order, pull_cursor="c")
            case = await (await client.get(f"/api/cases/{acc.case_id}")).json()
            states.add(msgspec.json.encode(case))
            assert (case["state"], case["rating"], case["followed_up_on"] is not None) == ("completed", 2, True)
            assert await store_of(client).digest() == (1, (await store_of(client).digest())[1])
    assert len(states) == 1


async def test_two_windows_closing_one_case_offline_make_a_conflict_staff_can_settle(tmp_path):
    async with running_agent(tmp_path) as client:
        casebook = service_of(client).casebook
        acc = accepted_elsewhere()
        await casebook.apply_pull([acc], pull_cursor="1")
        # Offline here: withdrawn. Meanwhile the other window completed it a minute earlier.
        mine = await client.post(f"/api/cases/{acc.case_id}/events", json={"kind": "withdrawn", "data": {}})
        assert (await mine.json())["state"] == "withdrawn"
        completed = pulled("completed", acc.case_id, {"result": "approved"}, parents=[acc.event_id], minutes=-1, seq=2)
        await casebook.apply_pull([completed], pull_cursor="2")
        status = await (await client.get("/api/status")).json()
        history = await (await client.get(f"/api/cases/{acc.case_id}/history")).json()
        listed = (await (await client.get("/api/conflicts?mine=1")).json())["conflicts"]
        withdrawn_id = outbox(client)[0][1]
        redo = await client.post(f"/api/conflicts/{withdrawn_id}/redo", json={})
        accept = await client.post(f"/api/conflicts/{withdrawn_id}/accept", json={"note": "以县级为准"})
        again = await client.post(f"/api/conflicts/{withdrawn_id}/accept", json={})
        again_body = await again.json()
        after = await (await client.get("/api/status")).json()
        settled_history = await (await client.get(f"/api/cases/{acc.case_id}/history")).json()
        rows = outbox(client)
    assert history["case"]["state"] == "completed"  # the earlier close stands, here as at the county
    (conflict,) = history["conflicts"]
    assert (conflict["event_id"], conflict["code"], conflict["lost_to"]) == (withdrawn_id, "closed",
                                                                             completed.event_id)
    assert conflict["by"]["is_this_pc"] and conflict["lost_to_by"]["agent_id"] == OTHER_PC
    assert conflict["can_redo"] is False and "撤回" in conflict["message"]
    assert [c["event_id"] for c in status["conflicts"]] == [withdrawn_id] == [c["event_id"] for c in listed]
    assert [e["is_conflict"] for e in history["events"] if e["event_id"] == withdrawn_id] == [True]
    assert redo.status == 422  # a completed case cannot be withdrawn: only the county's state can stand
    assert accept.status == 201 and again.status == 404
    assert again_body["code"] == "conflict_not_found"
    assert after["conflicts"] == []
    assert settled_history["conflicts"][0]["outcome"] == "accepted"
    assert [(r[3], r[4]) for r in rows] == [("withdrawn", "pending"), ("settled", "pending")]
    assert rows[1][5] == {"event_id": withdrawn_id, "outcome": "accepted", "note": "以县级为准"}


async def test_an_action_that_lost_can_be_redone_once_the_case_allows_it(tmp_path):
    async with running_agent(tmp_path) as client:
        casebook = service_of(client).casebook
        acc = accepted_elsewhere()
        await casebook.apply_pull([acc], pull_cursor="1")
        await client.post(f"/api/cases/{acc.case_id}/events",
                          json={"kind": "completed", "data": {"result": "approved", "note": "当场办结"}})
        # The other window had asked for a supplement before, and received it after: completion lost in between.
        asked = pulled("supplement_requested", acc.case_id, {"missing": ["户口簿"]}, parents=[acc.event_id],
                       minutes=-2, seq=2)
        got = pulled("supplement_received", acc.case_id, {"due_on": "2030-01-10"}, parents=[asked.event_id],
                     minutes=30, seq=3)
        await casebook.apply_pull([asked, got], pull_cursor="2")
        lost_id = outbox(client)[0][1]
        (conflict,) = (await (await client.get("/api/conflicts")).json())["conflicts"]
        redo = await client.post(f"/api/conflicts/{lost_id}/redo", json={})
        case = await (await client.get(f"/api/cases/{acc.case_id}")).json()
        rows = outbox(client)
    assert conflict["code"] == "not_in_progress" and conflict["can_redo"] is True
    assert redo.status == 201
    assert (case["state"], case["note"]) == ("completed", "当场办结")
    assert [r[3] for r in rows] == ["completed", "completed", "settled"]
    assert rows[2][5] == {"event_id": lost_id, "outcome": "redone", "redo_event_id": rows[1][1]}


async def test_a_refused_acceptance_leaves_the_case_out_until_it_is_corrected(tmp_path):
    async with running_agent(tmp_path) as client:
        case = await (await client.post("/api/cases", json=accept_form())).json()
        event_id = outbox(client)[0][1]
        casebook = service_of(client).casebook
        await casebook.record_push(1, [Refusal(event_id=event_id, seq=1, code="unknown_item", message="不在目录")])
        gone = await client.get(f"/api/cases/{case['case_id']}")
        back = await client.post(f"/api/quarantine/{event_id}/resend", json={"data": {"item_code": "XK-001"}})
        found = await (await client.get(f"/api/cases/{case['case_id']}")).json()
    assert gone.status == 404  # the county has no such case, and neither does the PC's fold
    assert back.status == 201 and found["item_code"] == "XK-001"


async def test_the_upgrade_refolds_cases_a_swapped_clock_had_folded_wrong(tmp_path):
    """A store of the previous schema, whose case row was folded by time: the completion and the rating made in one
    second swapped by a new clock offset left the rating out. The first start after the upgrade refolds it."""
    path = tmp_path / "agent.sqlite3"
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                   " applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)")
        for number, name, sql in migrations():
            if number < 10:
                db.executescript(sql)
                db.execute("INSERT INTO schema_migrations (number, name) VALUES (?, ?)", (number, name))
        db.commit()
    case_id = new_uuid7()
    accepted = {"case_no": "51342210001202603020001", "item_code": "GG-001", "org_code": f"{TOWNSHIP}000",
                "channel": "window", "applicant_name": "扎西", "cert_type": "resident_id",
                "cert_no": "11010519491231002X", "promised_days": 3, "due_on": "2026-03-05"}
    events = [("accepted", "2026-03-02T09:00:00+08:00", 0, accepted),
              ("completed", "2026-03-02T09:00:01+08:00", 0, {"result": "approved"}),
              ("evaluated", "2026-03-02T09:00:01+08:00", 900, {"rating": 5})]
    stale = {"case_id": case_id, "case_no": accepted["case_no"], "org_code": f"{TOWNSHIP}000", "item_code": "GG-001",
             "channel": "window", "applicant_name": "扎西", "cert_type": "resident_id",
             "cert_no": "11010519491231002X", "promised_days": 3, "accepted_at": "2026-03-02T09:00:00+08:00",
             "accepted_on": "2026-03-02", "state": "completed", "completed_on": "2026-03-02",
             "completed_at": "2026-03-02T09:00:01+08:00", "result": "approved", "due_on": "2026-03-05"}
    with closing(sqlite3.connect(path)) as db:
        for kind, at, offset, data in events:
            db.execute("INSERT INTO outbox (event_id, case_id, kind, at, offset_ms, data, status) VALUES "
                       "(?, ?, ?, ?, ?, ?, 'synced')", (new_uuid7(), case_id, kind, at, offset,
                                                        msgspec.json.encode(data)))
        db.execute("INSERT INTO cases (case_id, case_no, state, accepted_on, due_on, applicant_name, cert_no, body)"
                   " VALUES (?, ?, 'completed', '2026-03-02', '2026-03-05', '扎西', '11010519491231002X', ?)",
                   (case_id, accepted["case_no"], msgspec.json.encode(stale)))
        db.commit()
    async with running_agent(tmp_path) as client:
        case = await (await client.get(f"/api/cases/{case_id}")).json()
        meta = await store_of(client).get_meta()
    assert (case["state"], case["rating"]) == ("completed", 5)
    assert meta["refold_needed"] == "0"


def test_a_batch_halves_on_each_failure_down_to_one_and_grows_back_after_successes():
    batch = AdaptiveBatch(500)
    sizes = []
    while batch.failed():
        sizes.append(batch.size)
    assert sizes == [250, 125, 62, 31, 15, 7, 3, 1] and not batch.can_shrink
    for _ in range(AdaptiveBatch.GROW_AFTER - 1):
        batch.succeeded()
    assert batch.size == 1
    batch.succeeded()
    assert batch.size == 2
    for _ in range(100):
        batch.succeeded()
    assert batch.size == 500
