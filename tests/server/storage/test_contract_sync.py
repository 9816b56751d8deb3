"""The storage contract, sync half: the pull by cursor (positions in commit order, a township's other agents only,
one snapshot with the township digest), conflicts stored with both sides and replaced at every fold, the case check
and the refold behind `rollups verify` and the upgrade, the PCs' statuses. Every backend of `backends.BACKENDS`."""

from __future__ import annotations

from typing import Any

from protocol.causal import case_digest
from server.admin.cases import refold_all, verify_cases
from server.admin.rollups import verify_rollups
from server.ingest.privacy import open_history
from tests.server.storage.backends import KEYS, Backend

QIAOWA, WACHANG = "513422100", "513422101"


def v2(event: dict[str, Any], *parents: dict[str, Any]) -> dict[str, Any]:
    """The event as a protocol-2 PC sends it, naming the events it follows."""
    return event | {"parents": [p["event_id"] for p in parents]}


async def _conflict(b: Backend) -> tuple[Any, Any, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Window 1 accepts and completes a case; window 2, which had pulled the acceptance, withdraws it later."""
    one_rec, one = await b.add_agent(QIAOWA, "窗口1")
    two_rec, two = await b.add_agent(QIAOWA, "窗口2")
    accepted = v2(one.accepted("2026-03-02T09:00:00+08:00"))
    completed = v2(one.completed(accepted["case_id"], "2026-03-02T10:00:00+08:00"), accepted)
    withdrawn = v2(two.withdrawn(accepted["case_id"], "2026-03-02T10:05:00+08:00"), accepted)
    await b.push(one_rec, [accepted, completed], protocol_version=2)
    answer = await b.push(two_rec, [withdrawn], protocol_version=2)
    assert [c.event_id for c in answer.conflicts] == [withdrawn["event_id"]]
    return one_rec, two_rec, accepted, completed, withdrawn


async def test_the_pull_gives_the_other_agents_events_of_a_township_in_the_order_stored_by_position(
        backend: Backend) -> None:
    q_rec, q = await backend.add_agent(QIAOWA)
    p_rec, _ = await backend.add_agent(QIAOWA, "窗口2")
    w_rec, w = await backend.add_agent(WACHANG)
    first = [q.accepted(f"2026-03-0{n}") for n in range(1, 4)]
    await backend.push(q_rec, first)
    await backend.push(w_rec, [w.accepted(org_code=WACHANG + "000")])
    later = [q.completed(first[0]["case_id"]), q.consulted()]
    await backend.push(q_rec, later)
    store = backend.store
    page = await store.pull(QIAOWA, p_rec.agent_id, 0, 2)
    rest = await store.pull(QIAOWA, p_rec.agent_id, page.last_pos, 2)
    after = await store.pull(QIAOWA, p_rec.agent_id, rest.last_pos, 2)
    own = await store.pull(QIAOWA, q_rec.agent_id, 0, 100)
    assert [e.event_id for e in page.events + rest.events] == [e["event_id"] for e in [*first, later[0]]]
    assert page.has_more and not rest.has_more and page.digest is None and rest.digest is not None
    assert page.last_pos < rest.last_pos == after.last_pos and after.events == [] and after.digest == rest.digest
    assert own.events == []  # an agent's own events are not pulled back to it
    assert {a for a, _ in page.agents} == {q_rec.agent_id, p_rec.agent_id}
    assert await store.stream() == page.stream == await store.stream()


async def test_the_last_pull_batch_carries_the_digest_of_the_townships_cases_from_the_same_snapshot(
        backend: Backend) -> None:
    one_rec, _, accepted, _, _ = await _conflict(backend)
    q_rec, q = await backend.add_agent(QIAOWA, "窗口3")
    plain = q.accepted()
    await backend.push(q_rec, [plain, q.evaluated(plain["case_id"])])
    batch = await backend.store.pull(QIAOWA, one_rec.agent_id, 0, 100)
    histories = {h.case_id: h for h in await backend.store.check_cases(lambda h: open_history(KEYS, h))}
    expected = [case_digest(h.record.case, h.conflicts) for h in histories.values() if h.record is not None]
    assert batch.digest == (2, sum(expected))
    assert len(histories[accepted["case_id"]].conflicts) == 1  # the digest counts conflicts too


async def test_conflicts_are_kept_with_both_sides_answered_listed_and_settled(backend: Backend) -> None:
    one_rec, two_rec, accepted, completed, withdrawn = await _conflict(backend)
    total, rows = await backend.dashboard.list_conflicts(QIAOWA, True, 10, 0)
    (row,) = rows
    c = row.conflict
    assert total == 1 and (c.event_id, c.code, c.lost_to, c.lost_to_kind, c.agent_id) == (
        withdrawn["event_id"], "closed", completed["event_id"], "completed", two_rec.agent_id)
    assert row.township_code == QIAOWA and row.case_no and row.settled_at is None
    assert [x.event_id for x in (await backend.store.pull(QIAOWA, two_rec.agent_id, 0, 10)).conflicts] == [
        withdrawn["event_id"]]
    assert await backend.dashboard.conflict_counts() == {(QIAOWA, True): 1}
    assert (await backend.dashboard.list_conflicts(WACHANG, None, 10, 0))[0] == 0
    statuses = {s.agent.agent_id: s for s in await backend.dashboard.agent_statuses()}
    assert (statuses[two_rec.agent_id].open_conflicts, statuses[one_rec.agent_id].open_conflicts) == (1, 0)
    _, two = await backend.add_agent(QIAOWA, "unused")  # a builder of events; the seq is window 2's next
    settle = v2(two.event("settled", accepted["case_id"], "2026-03-02T11:00:00+08:00",
                          {"event_id": withdrawn["event_id"], "outcome": "accepted"}), completed, withdrawn)
    settle["seq"] = 2
    await backend.push(two_rec, [settle], protocol_version=2)
    total, rows = await backend.dashboard.list_conflicts(QIAOWA, False, 10, 0)
    assert total == 1 and rows[0].conflict.outcome == "accepted" and rows[0].settled_at is not None
    assert await backend.dashboard.conflict_counts() == {(QIAOWA, False): 1}
    assert (await backend.store.pull(QIAOWA, two_rec.agent_id, 0, 10)).conflicts == []


async def test_a_late_event_that_reorders_a_case_replaces_its_conflicts(backend: Backend) -> None:
    q_rec, q = await backend.add_agent(QIAOWA)
    acc = q.accepted("2026-03-02")
    done = q.completed(acc["case_id"], "2026-03-05")
    rated = q.evaluated(acc["case_id"], "2026-03-06")
    await backend.push(q_rec, [acc, rated])  # protocol 1: the rating follows the acceptance for now
    assert (await backend.dashboard.conflict_counts()) == {(QIAOWA, True): 1}
    await backend.push(q_rec, [done])  # seq 2 arrives: the rating follows the completion
    assert await backend.dashboard.conflict_counts() == {}


async def test_the_case_check_finds_a_case_that_is_not_the_fold_of_its_events_and_the_refold_mends_it(
        backend: Backend) -> None:
    _, _, accepted, _, _ = await _conflict(backend)
    assert await verify_cases(backend.store, backend.reference.items, KEYS) == []
    assert await backend.kind.set_case_state(backend.where, backend.database, accepted["case_id"], "withdrawn") == 1
    found = await verify_cases(backend.store, backend.reference.items, KEYS)
    assert [(d.case_id, d.field, d.stored, d.expected) for d in found] == [
        (accepted["case_id"], "state", "withdrawn", "completed")]
    report = await refold_all(backend.store, backend.reference.items, KEYS)
    assert report.cases_changed == 1 and report.fields == {"state": 1} and report.rollup_rows > 0
    assert await verify_cases(backend.store, backend.reference.items, KEYS) == []
    assert await verify_rollups(backend.store) == []
    again = await refold_all(backend.store, backend.reference.items, KEYS)
    assert again.cases_changed == 0  # refolding true cases changes nothing


async def test_the_refold_flag_of_the_upgrade_is_set_once_and_stays_cleared(backend: Backend) -> None:
    assert await backend.store.flag("refold_needed")  # a new database went through migration 0010 too
    await backend.store.clear_flag("refold_needed")
    assert not await backend.store.flag("refold_needed")
    async with backend.kind.opened(backend.where, backend.database) as again:
        assert not await again.store.flag("refold_needed")


async def test_a_push_records_the_agents_protocol_pull_and_agreement_and_the_pull_lag_follows(
        backend: Backend) -> None:
    q_rec, q = await backend.add_agent(QIAOWA)
    p_rec, _ = await backend.add_agent(QIAOWA, "窗口2")
    await backend.push(q_rec, [q.accepted(), q.accepted(), q.accepted()])
    batch = await backend.store.pull(QIAOWA, p_rec.agent_id, 0, 1)
    cursor = f"{batch.stream}.{batch.last_pos}"
    await backend.push(p_rec, [], protocol_version=2, pull_cursor=cursor, digest_agrees=True)
    agent = next(a for a in await backend.store.list_agents() if a.agent_id == p_rec.agent_id)
    assert (agent.protocol_version, agent.pull_cursor, agent.digest_agrees) == (2, cursor, True)
    statuses = {s.agent.agent_id: s for s in await backend.dashboard.agent_statuses()}
    assert statuses[p_rec.agent_id].pull_lag == 2 and statuses[q_rec.agent_id].pull_lag is None
    await backend.push(p_rec, [], protocol_version=2)  # no cursor this time: the last one stands
    agent = next(a for a in await backend.store.list_agents() if a.agent_id == p_rec.agent_id)
    assert agent.pull_cursor == cursor and agent.digest_agrees is True
