"""The agent store: migrations, gap-free seqs, one transaction per action, and idempotent acknowledgement marks."""

from __future__ import annotations

import sqlite3

import msgspec

from agent.records import OutboxEvent
from agent.store import PHONE_KEY, AgentStore, migrations
from protocol.lifecycle import Case
from protocol.messages import Refusal
from tests.agent.conftest import folded


def make_case(n: int) -> Case:
    return Case(case_id=f"case-{n}", case_no=f"51342210001202611230{n:03d}", org_code="513422100000",
                item_code="GG-001", channel="window", applicant_name="扎西", cert_type="passport",
                cert_no="E1234567", promised_days=3, accepted_at="2026-11-23T09:00:00+08:00",
                accepted_on="2026-11-23", due_on="2026-11-26")


def folded_case(n: int):
    return folded(make_case(n))


async def mark(store: AgentStore, acked_seq: int, refused: list[Refusal]) -> int:
    async with store.write(), store.transaction():
        return await store.mark_pushed(acked_seq, refused)


def make_event(n: int) -> OutboxEvent:
    return OutboxEvent(event_id=f"ev-{n}", case_id=f"case-{n}", kind="accepted", at="2026-11-23T09:00:00+08:00",
                       offset_ms=0, data=msgspec.json.encode({"n": n}))


async def test_the_store_runs_in_wal_with_full_sync_and_records_its_migrations(agent_store: AgentStore):
    db = sqlite3.connect(agent_store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    numbers = [row[0] for row in db.execute("SELECT number FROM schema_migrations ORDER BY number")]
    assert numbers == [m[0] for m in migrations()]
    db.close()


async def test_reopening_applies_no_migration_twice_and_keeps_data(tmp_path):
    store = await AgentStore.open(tmp_path / "a.sqlite3")
    await store.save_action(folded_case(1), make_event(1))
    await store.close()
    store = await AgentStore.open(tmp_path / "a.sqlite3")
    assert (await store.get_case("case-1")).case_no.endswith("001")
    assert await store.count_pending() == 1
    await store.close()


async def test_seqs_are_gap_free_and_an_action_is_all_or_nothing(agent_store: AgentStore):
    seqs = [await agent_store.save_action(folded_case(n), make_event(n)) for n in range(1, 4)]
    assert seqs == [1, 2, 3]
    # A second event with an existing event_id fails: its case row must not be written either.
    duplicate = make_case(9)
    try:
        await agent_store.save_action(folded(duplicate), make_event(1))
    except sqlite3.IntegrityError:
        pass
    else:
        raise AssertionError("a duplicate event_id was stored")
    assert await agent_store.get_case("case-9") is None
    assert await agent_store.save_action(folded_case(4), make_event(4)) == 4


async def test_marking_an_acknowledgement_quarantines_refusals_and_is_idempotent(agent_store: AgentStore):
    for n in range(1, 6):
        await agent_store.save_action(folded_case(n), make_event(n))
    refusal = Refusal(event_id="ev-2", seq=2, code="unknown_item", message="not in catalog")
    assert await mark(agent_store, 4, [refusal]) == 3
    assert await mark(agent_store, 4, [refusal]) == 0
    assert [e.seq for e in await agent_store.pending_events(10)] == [5]
    quarantined = await agent_store.quarantined()
    assert [(q.seq, q.code) for q in quarantined] == [(2, "unknown_item")]


async def test_case_numbers_continue_after_a_restart_and_only_a_stored_case_takes_one(tmp_path):
    today, other_pc = "5134221000120261123", "5134221000220261123"
    store = await AgentStore.open(tmp_path / "a.sqlite3")
    async with store.write():
        assert await store.next_case_number(today) == 1
        assert await store.next_case_number(today) == 1  # asked again before anything was stored: the same number
        await store.save_action(folded(msgspec.structs.replace(make_case(1), case_no=today + "0001")), make_event(1))
        assert await store.next_case_number(today) == 2
        # A case of another PC of the township (pulled from the county) does not move this PC's numbers.
        await store.save_action(folded(msgspec.structs.replace(make_case(2), case_no=other_pc + "0007")), make_event(2))
        assert await store.next_case_number(today) == 2
    await store.close()
    store = await AgentStore.open(tmp_path / "a.sqlite3")
    async with store.write():
        assert await store.next_case_number(today) == 2
        assert await store.next_case_number("5134221000120261124") == 1
    await store.close()


async def test_a_dismissed_event_refused_again_after_a_resend_stays_dismissed(agent_store: AgentStore):
    for n in range(1, 4):
        await agent_store.save_action(folded_case(n), make_event(n))
    refusal = Refusal(event_id="ev-2", seq=2, code="unknown_item", message="not in catalog")
    await mark(agent_store, 3, [refusal])
    assert await agent_store.dismiss_quarantined("ev-2")
    # The county was restored from a backup and lost everything: all three go again, and it refuses ev-2 again.
    assert await agent_store.resend_after(0) == 3
    assert [e.seq for e in await agent_store.pending_events(10)] == [1, 2, 3]
    await mark(agent_store, 3, [refusal])
    assert await agent_store.quarantined() == []
    assert await agent_store.count_pending() == 0


async def test_the_searches_by_phone_and_by_the_tail_of_a_certificate_number_use_their_indexes(agent_store):
    db = sqlite3.connect(agent_store.path)
    try:
        plans = {name: " ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN SELECT case_id FROM cases WHERE {w}",
                                                              ("x",)))
                 for name, w in (("phone", f"{PHONE_KEY} = ?"), ("tail", "substr(cert_no, -4) = ?"))}
    finally:
        db.close()
    assert "USING INDEX cases_by_phone" in plans["phone"], plans
    assert "USING INDEX cases_by_cert_tail" in plans["tail"], plans
