"""The storage contract: what `server.storage.base.Store` and `server.storage.dashboard.DashboardStore` promise,
pinned once for every backend (`backend` runs each test per backend of `backends.BACKENDS`).

Pushes go through the real `Ingestor` (decode, checks, the fold of one batch, the backend's ingest path), since that
is how a backend is written in production; the reads are the interface's own. Raw SQL appears only where a test must
reach under the interface (an old schema, deliberate damage), through the backend's harness.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import msgspec
import pytest

from protocol.lifecycle import CHINA_TZ
from server.accounts.agents import hash_token
from server.admin.rollups import rebuild_rollups, verify_rollups
from server.clock import now_iso
from server.ingest.checks import check_push, decode_push
from server.ingest.pipeline import BatchNotWritten
from server.model.rollups import GRAINS, METRICS
from server.storage.base import AgentRecord, AgentUsage, BatchWrite, Store, TransactionalIngest
from server.storage.dashboard import CASE_FIGURES, AccountRecord, CaseFilter, SessionRecord
from tests.server.storage.backends import AnyTurn, Backend

QIAOWA, WACHANG = "513422100", "513422101"
Q_CENTRE, Q_VILLAGE, W_VILLAGE = QIAOWA + "000", QIAOWA + "201", WACHANG + "201"
COUNTY = "513422"
YEAR = ("2026-01-01", "2026-12-31")


class DataSet:
    """Six cases and a consultation in two townships, March and April 2026; the figures are worked out by hand in
    the tests."""

    q_rec: AgentRecord
    w_rec: AgentRecord
    q_batch: list[dict[str, Any]]
    w_batch: list[dict[str, Any]]
    case_ids: list[str]


async def _data_set(b: Backend) -> DataSet:
    d = DataSet()
    d.q_rec, q = await b.add_agent(QIAOWA)
    d.w_rec, w = await b.add_agent(WACHANG)
    c1 = q.accepted("2026-03-02", org_code=Q_CENTRE, due_on="2026-03-16")
    c2 = q.accepted("2026-03-02", org_code=Q_VILLAGE, due_on="2026-03-04")
    c3 = q.accepted("2026-03-10", org_code=Q_VILLAGE)
    c4 = q.accepted("2026-03-31", org_code=Q_CENTRE, due_on="2026-04-10")
    c5 = q.accepted("2026-04-01", org_code=Q_CENTRE, channel="online", due_on="2026-04-15")
    d.q_batch = [c1, q.completed(c1["case_id"], "2026-03-05"), q.evaluated(c1["case_id"], "2026-03-05", 5),
                 c2, q.completed(c2["case_id"], "2026-03-06", trips=2), q.evaluated(c2["case_id"], "2026-03-06", 2),
                 c3, q.rejected(c3["case_id"], "2026-03-11"), c4, c5, q.consulted("2026-03-04")]
    answer = await b.push(d.q_rec, d.q_batch, software_version="1.2.3", pending=4)
    assert (answer.stored, answer.duplicates, answer.acked_seq, answer.refused) == (11, 0, 11, [])
    c6 = w.accepted("2026-03-03", org_code=W_VILLAGE, due_on="2026-03-10")
    d.w_batch = [c6, w.withdrawn(c6["case_id"], "2026-03-05")]
    assert (await b.push(d.w_rec, d.w_batch)).acked_seq == 2
    d.case_ids = [c["case_id"] for c in (c1, c2, c3, c4, c5, c6)]
    return d


async def _sums(b: Backend, prefix: str = COUNTY, period: tuple[str, str] = YEAR, by: tuple[str, ...] = (),
                unit_len: int | None = None) -> dict[tuple[str, ...], dict[str, int]]:
    n = unit_len or len(prefix)
    return await b.dashboard.figure_sums(n, prefix, *period, by, units=None if unit_len else [prefix])


async def _total(b: Backend, prefix: str = COUNTY, period: tuple[str, str] = YEAR) -> dict[str, int]:
    return (await _sums(b, prefix, period)).get((), {})


# ---- ingest: idempotency by event_id, the acknowledgement, refusals, seq reuse --------------------------------

async def test_a_push_sent_again_is_stored_once_and_changes_no_figure(backend: Backend) -> None:
    d = await _data_set(backend)
    before = await _sums(backend, by=("unit", "month", "category", "channel"), unit_len=12)
    again = await backend.push(d.q_rec, d.q_batch)
    assert (again.stored, again.duplicates, again.acked_seq, again.refused) == (0, 11, 11, [])
    assert await _sums(backend, by=("unit", "month", "category", "channel"), unit_len=12) == before
    assert await verify_rollups(backend.store) == []


async def test_the_acknowledgement_is_the_highest_seq_up_to_which_every_seq_is_stored_or_refused(
        backend: Backend) -> None:
    rec, pc = await backend.add_agent(QIAOWA)
    e1, e2, e3, e4 = (pc.accepted() for _ in range(4))
    assert (await backend.push(rec, [e1, e2, e4])).acked_seq == 2  # seq 3 is missing
    bad = pc.event("completed", e1["case_id"], "2026-03-05", {"result": "perhaps"})  # seq 5, refused
    answer = await backend.push(rec, [bad])
    assert ([r.code for r in answer.refused], answer.acked_seq) == (["invalid_event"], 2)
    assert (await backend.push(rec, [e3])).acked_seq == 5  # 3 stored, 4 stored, 5 refused
    [agent] = [a for a in await backend.store.list_agents() if a.agent_id == rec.agent_id]
    assert agent.acked_seq == 5 and agent.last_push_at is not None


async def test_refusals_are_answered_recorded_and_own_their_seq(backend: Backend) -> None:
    rec, pc = await backend.add_agent(QIAOWA)
    accepted = pc.accepted()
    refusals = [
        pc.accepted(item_code="NO-SUCH-ITEM"),  # unknown_item
        pc.accepted(org_code=WACHANG + "000"),  # wrong_township
        pc.event("evaluated", accepted["case_id"], "2026-03-05", {"rating": 9}),  # invalid_event
        {"event_id": "not-even-an-event", "seq": 5},  # invalid_event: too malformed to fold
    ]
    answer = await backend.push(rec, [accepted, *refusals])
    assert [(r.seq, r.code) for r in answer.refused] == [
        (2, "unknown_item"), (3, "wrong_township"), (4, "invalid_event"), (5, "invalid_event")]
    assert (answer.stored, answer.acked_seq) == (1, 5)
    reads = backend.reads()
    owners = await reads.seq_owners(rec.agent_id, [1, 2, 3, 4, 5])
    assert owners == {1: accepted["event_id"], **{e["seq"]: e["event_id"] for e in refusals}}
    assert await reads.stored_events([e["event_id"] for e in refusals]) == {}  # refusals are not events
    again = await backend.push(rec, refusals[:1])
    assert [r.code for r in again.refused] == ["unknown_item"] and again.acked_seq == 5


async def test_a_reused_seq_or_event_id_is_refused_and_takes_nothing_over(backend: Backend) -> None:
    rec, pc = await backend.add_agent(QIAOWA)
    first = pc.accepted()
    await backend.push(rec, [first])
    reused_seq = {**pc.accepted(), "seq": 1}  # a PC reset without its identity sends seq 1 again
    reused_id = {**pc.accepted(), "event_id": first["event_id"]}  # another seq under a stored event_id
    answer = await backend.push(rec, [reused_seq, reused_id])
    assert [(r.seq, r.code) for r in answer.refused] == [(1, "seq_reused"), (3, "event_id_reused")]
    assert (answer.stored, answer.acked_seq) == (0, 1)  # seq 2 was never sent
    reads = backend.reads()
    assert await reads.seq_owners(rec.agent_id, [1]) == {1: first["event_id"]}  # seq_reused owns nothing
    assert await reads.stored_events([first["event_id"], reused_seq["event_id"]]) == {
        first["event_id"]: (rec.agent_id, 1)}
    assert (await _total(backend))["accepted"] == 1


async def test_another_townships_events_of_a_stored_case_are_refused(backend: Backend) -> None:
    d = await _data_set(backend)
    w_rec, w = await backend.add_agent(WACHANG, "窗口2")
    answer = await backend.push(w_rec, [w.completed(d.case_ids[3], "2026-04-02")])
    assert [r.code for r in answer.refused] == ["wrong_township"] and answer.stored == 0
    assert (await backend.reads().load_cases([d.case_ids[3]]))[d.case_ids[3]].case.state == "in_progress"


# ---- the fold and rollups of a batch ----------------------------------------------------------------------

async def test_a_batch_stores_its_folded_cases_and_their_rollups_in_every_grain(backend: Backend) -> None:
    d = await _data_set(backend)
    cases = await backend.reads().load_cases([*d.case_ids, "no-such-case"])
    assert [cases[c].case.state for c in d.case_ids] == [
        "completed", "completed", "rejected", "in_progress", "in_progress", "withdrawn"]
    assert (cases[d.case_ids[0]].category, cases[d.case_ids[0]].case.rating) == ("公共服务", 5)
    march = await _total(backend, period=("2026-03-01", "2026-03-31"))
    assert march == {"accepted": 4, "completed": 2, "completed_on_time": 1, "completed_late": 1, "trips_le1": 1,
                     "rejected": 1, "withdrawn": 1, "rated": 2, "rated_5": 1, "rated_2": 1, "bad_pending": 1,
                     "consultations": 1, "in_progress": 1, "rated_cases": 2, "rated_via_window": 2, "rated_at_case": 2}
    april = await _total(backend, period=("2026-04-01", "2026-04-30"))
    assert april == {"accepted": 1, "in_progress": 1, "online_accepted": 1}
    by_unit = await _sums(backend, QIAOWA, ("2026-03-01", "2026-03-31"), ("unit",), unit_len=12)
    assert by_unit[(Q_VILLAGE,)]["rejected"] == 1 and by_unit[(Q_CENTRE,)]["accepted"] == 2
    _, tables = await backend.store.snapshot_for_verify(lambda cases, consultations: {})
    assert set(tables) == {g.name for g in GRAINS} and all(tables.values())
    assert await verify_rollups(backend.store) == []


async def test_a_late_event_that_sorts_before_the_stored_state_refolds_the_case(backend: Backend) -> None:
    rec, pc = await backend.add_agent(QIAOWA)
    a = pc.accepted("2026-03-02", due_on="2026-03-09")
    await backend.push(rec, [a, pc.completed(a["case_id"], "2026-03-12")])  # late against the first due date
    assert (await _total(backend))["completed_late"] == 1
    other_rec, other = await backend.add_agent(QIAOWA, "窗口2")
    await backend.push(other_rec, [
        other.event("supplement_requested", a["case_id"], "2026-03-03", {"missing": ["户口簿复印件"]}),
        other.event("supplement_received", a["case_id"], "2026-03-05", {"due_on": "2026-03-13"})])
    total = await _total(backend)
    assert (total.get("completed_late", 0), total["completed_on_time"]) == (0, 1)
    events = await backend.reads().events_of_cases([a["case_id"]])
    assert sorted(e.kind for e in events) == ["accepted", "completed", "supplement_received",
                                              "supplement_requested"]
    assert await verify_rollups(backend.store) == []


async def test_a_consultation_sent_twice_counts_once(backend: Backend) -> None:
    rec, pc = await backend.add_agent(QIAOWA)
    consulted = pc.consulted("2026-03-04")
    await backend.push(rec, [consulted])
    copy = pc.event("consulted", consulted["case_id"], "2026-03-04", consulted["data"])  # same id, new event
    assert (await backend.push(rec, [copy])).stored == 1
    assert (await _total(backend))["consultations"] == 1
    assert await backend.reads().stored_consultations([consulted["case_id"], "other"]) == {consulted["case_id"]}


async def test_a_batch_whose_write_fails_keeps_nothing(backend: Backend) -> None:
    rec, pc = await backend.add_agent(QIAOWA)
    first = pc.accepted()
    await backend.push(rec, [first])
    reads = backend.reads()
    stored = (await reads.events_of_cases([first["case_id"]]))[0]
    fresh = pc.accepted()
    [checked] = check_push(rec, decode_push(rec, msgspec.json.encode({"agent_id": rec.agent_id, "events": [fresh]})),
                           backend.reference).candidates
    new_event = checked.stored
    # The fold takes stored events out; a batch that still holds one is a bug upstream, refused whole.
    batch = BatchWrite(agent_id=rec.agent_id, received_at=now_iso(), events=[new_event, stored], refusals=[],
                       consultations=[], cases=[], deltas={("513422100000", "2026-03-02", "公共服务", "window"):
                                                           {"accepted": 1}})
    with pytest.raises(Exception):  # noqa: B017 - the backend's own integrity error
        await backend.write_batch(batch, QIAOWA)
    assert await reads.stored_events([fresh["event_id"]]) == {}
    assert (await _total(backend))["accepted"] == 1
    [agent] = [a for a in await backend.store.list_agents() if a.agent_id == rec.agent_id]
    assert agent.acked_seq == 1


async def test_a_queued_write_asks_its_turn_before_and_tells_it_after(backend: Backend) -> None:
    if isinstance(backend.store.ingest_writes, TransactionalIngest):
        pytest.skip("a TransactionalIngest backend folds inside its transaction: no queued writes, no turns")
    rec, pc = await backend.add_agent(QIAOWA)
    [checked] = check_push(rec, decode_push(rec, msgspec.json.encode({"agent_id": rec.agent_id,
                                                                      "events": [pc.accepted()]})),
                           backend.reference).candidates
    batch = BatchWrite(agent_id=rec.agent_id, received_at=now_iso(), events=[checked.stored], refusals=[],
                       consultations=[], cases=[], deltas={})
    refused = AnyTurn(refuse=BatchNotWritten("folded on a failed batch"))
    with pytest.raises(BatchNotWritten):
        await backend.write_batch(batch, QIAOWA, refused)
    assert refused.ended == []  # never begun: nothing to end
    assert await backend.reads().stored_events([checked.stored.event_id]) == {}
    allowed = AnyTurn()
    assert await backend.write_batch(batch, QIAOWA, allowed) == 1
    assert allowed.ended == [True]
    failing = AnyTurn()
    with pytest.raises(Exception):  # noqa: B017 - the backend's own integrity error: the event is stored
        await backend.write_batch(batch, QIAOWA, failing)
    assert failing.ended == [False]


# ---- reads for the dashboard ------------------------------------------------------------------------------

async def test_figure_sums_are_the_same_read_from_months_or_from_days(backend: Backend) -> None:
    await _data_set(backend)
    by = ("unit", "category", "channel")
    whole = await _sums(backend, COUNTY, ("2026-03-01", "2026-04-30"), by, unit_len=9)  # two whole months
    day, days = date(2026, 3, 1), {}
    while day <= date(2026, 4, 30):
        for key, counters in (await _sums(backend, COUNTY, (day.isoformat(),) * 2, by, unit_len=9)).items():
            total = days.setdefault(key, {})
            for metric, n in counters.items():
                total[metric] = total.get(metric, 0) + n
        day += timedelta(days=1)
    assert whole == days and whole[(QIAOWA, "公共服务", "window")]["accepted"] == 3
    edges = await _sums(backend, COUNTY, ("2026-03-02", "2026-04-01"), by, unit_len=9)  # days at both ends
    assert edges == whole


async def test_the_cases_behind_each_figure_are_as_many_as_the_figure(backend: Backend) -> None:
    await _data_set(backend)
    total = await _total(backend)
    counters = {"online": total.get("online_accepted", 0), "evaluations": total["rated"],
                "good_ratings": total.get("rated_5", 0) + total.get("rated_4", 0) + total.get("rated_3", 0),
                "bad_ratings": total.get("rated_2", 0) + total.get("rated_1", 0),
                "completed_no_due_date": total["completed"] - total["completed_on_time"] - total["completed_late"]}
    overdue = await backend.dashboard.open_overdue_counts(9, COUNTY, "2026-04-12")
    assert overdue == {QIAOWA: 1}  # c4, due 04-10; c5 is due 04-15
    counters["overdue_open"] = sum(overdue.values())
    counters["due_soon"] = 1  # c5, due within [04-12, 04-15]
    for figure in CASE_FIGURES:
        where = CaseFilter(COUNTY, figure, *YEAR, as_of="2026-04-12", due_until="2026-04-15")
        n, rows = await backend.dashboard.list_cases(where, "case_no", False, 100, 0)
        expected = counters.get(figure, total.get(figure, 0))
        assert (figure, n, len(rows)) == (figure, expected, expected)
    n, page = await backend.dashboard.list_cases(CaseFilter(COUNTY, "accepted", *YEAR), "accepted_on", True, 2, 1)
    assert n == 5 and [r.accepted_on for r in page] == ["2026-03-31", "2026-03-03"]  # 04-01, [03-31, 03-03], ...
    assert page[0].cert_no and page[0].applicant_name == "扎西"


async def test_agent_statuses_show_each_agents_acknowledgement_and_last_clock_offset(backend: Backend) -> None:
    d = await _data_set(backend)
    statuses = {s.agent.agent_id: s for s in await backend.dashboard.agent_statuses()}
    q = statuses[d.q_rec.agent_id]
    assert (q.agent.acked_seq, q.agent.software_version, q.agent.pending, q.last_offset_ms) == (11, "1.2.3", 4, 0)
    assert statuses[d.w_rec.agent_id].agent.acked_seq == 2


async def test_accounts_and_sessions(backend: Backend) -> None:
    dash = backend.dashboard
    await dash.add_account(AccountRecord("admin", "hash-1", now_iso()))
    with pytest.raises(ValueError):
        await dash.add_account(AccountRecord("admin", "hash-2", now_iso()))
    await dash.add_session(SessionRecord("t1", "admin", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z"))
    await dash.add_session(SessionRecord("t2", "admin", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z"))
    await dash.touch_session("t2", "2026-03-02T00:00:00Z")
    assert (await dash.session("t2")) == SessionRecord("t2", "admin", "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z")
    assert await dash.end_sessions(idle_before="2026-03-01T12:00:00Z") == 1
    assert await dash.session("t1") is None
    assert await dash.set_password("admin", "hash-3") is True
    assert await dash.session("t2") is None  # a new password ends every session
    account = await dash.account("admin")
    assert account is not None and (account.name, account.password_hash, account.is_disabled) == (
        "admin", "hash-3", False)
    assert await dash.set_password("nobody", "hash") is False
    assert [a.name for a in await dash.list_accounts()] == ["admin"]


# ---- agents and reference ---------------------------------------------------------------------------------

async def test_agents_are_registered_once_found_by_token_and_given_new_tokens(store: Store) -> None:
    record = AgentRecord("513422100-0000aa", QIAOWA, "窗口1", now_iso())
    await store.add_agent(record, hash_token("token-1"))
    with pytest.raises(ValueError):
        await store.add_agent(record, hash_token("token-2"))
    with pytest.raises(ValueError):
        await store.add_agent(AgentRecord("513422100-0000bb", QIAOWA, "窗口2", now_iso()), hash_token("token-1"))
    assert (await store.agent_by_token_sha256(hash_token("token-1"))) == record
    assert await store.replace_agent_token(record.agent_id, hash_token("token-3")) is True
    assert await store.agent_by_token_sha256(hash_token("token-1")) is None
    assert (await store.agent_by_token_sha256(hash_token("token-3"))) == record
    assert await store.replace_agent_token("513422100-ffffff", hash_token("token-4")) is False
    assert [a.agent_id for a in await store.list_agents()] == [record.agent_id]


async def test_a_revoked_agent_is_still_found_with_its_revocation_until_a_new_token(store: Store) -> None:
    record = AgentRecord("513422100-0000cc", QIAOWA, "窗口1", now_iso())
    await store.add_agent(record, hash_token("token-1"))
    assert await store.revoke_agent(record.agent_id, "2026-03-01T00:00:00Z") is True
    assert await store.revoke_agent(record.agent_id, "2026-03-02T00:00:00Z") is True  # the first time is kept
    found = await store.agent_by_token_sha256(hash_token("token-1"))
    assert found is not None and found.revoked_at == "2026-03-01T00:00:00Z"
    assert await store.replace_agent_token(record.agent_id, hash_token("token-2")) is True
    found = await store.agent_by_token_sha256(hash_token("token-2"))
    assert found is not None and found.revoked_at is None
    assert await store.revoke_agent("513422100-ffffff", now_iso()) is False


async def test_usage_counts_what_an_agent_sent_today_and_its_events_waiting_for_their_case(backend: Backend) -> None:
    rec, pc = await backend.add_agent(QIAOWA)
    accepted = pc.accepted()
    early = pc.completed(accepted["case_id"])  # sorts after its `accepted`, but arrives first
    await backend.push(rec, [early, pc.accepted(item_code="NO-SUCH-ITEM")])
    [agent] = [a for a in await backend.store.list_agents() if a.agent_id == rec.agent_id]
    assert agent.last_push_at is not None
    today = datetime.fromisoformat(agent.last_push_at).astimezone(CHINA_TZ).date().isoformat()  # the push's day
    usage = await backend.store.agent_usage(rec.agent_id, today)
    assert (usage.events, usage.orphans) == (2, 1) and usage.bytes > 0
    assert await backend.store.orphan_event_count() == 1
    await backend.push(rec, [accepted])  # the case is saved: its waiting event is adopted
    usage = await backend.store.agent_usage(rec.agent_id, today)
    assert (usage.events, usage.orphans) == (3, 0)
    assert await backend.store.orphan_event_count() == 0
    assert (await backend.reads().load_cases([accepted["case_id"]]))[accepted["case_id"]].case.state == "completed"
    assert await backend.store.agent_usage(rec.agent_id, "2000-01-01") == AgentUsage(0, 0, 0)


async def test_reference_data_upserts_are_idempotent(backend: Backend) -> None:
    ref = backend.reference
    for _ in range(2):
        await backend.store.upsert_reference(ref.org_units.values(), ref.items.values())
    rec, pc = await backend.add_agent(QIAOWA)
    assert (await backend.push(rec, [pc.accepted()])).stored == 1


# ---- rollups verify and rebuild -------------------------------------------------------------------------

async def test_verify_names_damaged_rows_and_rebuild_makes_them_true(backend: Backend) -> None:
    await _data_set(backend)
    true_sums = await _sums(backend, by=("unit", "month", "category", "channel"), unit_len=12)
    changed = await backend.kind.set_metric(backend.where, backend.database, "rollups_month", "accepted", 7)
    assert changed > 0
    differences = await verify_rollups(backend.store)
    assert {d.table for d in differences} == {"rollups_month"} and {d.stored for d in differences} == {7}
    assert await rebuild_rollups(backend.store) > 0
    assert await verify_rollups(backend.store) == []
    assert await _sums(backend, by=("unit", "month", "category", "channel"), unit_len=12) == true_sums
    assert await rebuild_rollups(backend.store) > 0  # again, on true rollups: nothing changes
    assert await _sums(backend, by=("unit", "month", "category", "channel"), unit_len=12) == true_sums


# ---- migrations ---------------------------------------------------------------------------------------------

async def test_opening_again_applies_no_migration_twice_and_keeps_the_data(backend: Backend) -> None:
    d = await _data_set(backend)
    applied = await backend.store.applied_migrations()
    assert 1 in applied and len(applied) >= 3
    await backend.store.ping(5.0)
    async with backend.kind.opened(backend.where, backend.database) as again:
        assert await again.store.applied_migrations() == applied
        assert (await again.push(d.q_rec, d.q_batch)).duplicates == 11


# The tables of the first schema and their columns then (0002 added two counters and the other grains).
FIRST_SCHEMA = {
    "org_units": ("code", "name", "level", "parent", "kind"),
    "service_items": ("code", "name", "category", "promised_days", "legal_days", "is_online", "is_one_trip"),
    "agents": ("agent_id", "township_code", "name", "token_sha256", "created_at", "acked_seq", "last_push_at",
               "software_version", "pending"),
    "events": ("event_id", "agent_id", "seq", "case_id", "kind", "at", "offset_ms", "order_key", "data",
               "received_at"),
    "refused_events": ("event_id", "agent_id", "seq", "code", "detail", "body", "received_at"),
    "cases": ("case_id", "case_no", "township_code", "org_code", "village_code", "item_code", "category", "channel",
              "state", "accepted_on", "due_on", "completed_on", "closed_on", "rating", "rated_on", "followed_up_on",
              "is_on_time", "last_key", "body", "updated_at"),
    "consultations": ("consultation_id", "event_id", "org_code", "channel", "consulted_on", "body"),
}
# The first schema's counters: those before in_progress and bad_pending (0002) and the ratings' (0030).
FIRST_METRICS = METRICS[:METRICS.index("in_progress")]


async def test_a_database_from_the_first_migration_with_data_migrates_to_the_fresh_schema_and_true_figures(
        backend: Backend) -> None:
    d = await _data_set(backend)
    kind, where = backend.kind, backend.where
    await kind.create_at(where, "first", 1)
    for table, columns in FIRST_SCHEMA.items():
        await kind.copy_rows(where, backend.database, "first", table, columns)
    # The first schema's daily rollups: its counters only, on rows where one of them is not zero.
    await kind.copy_rows(where, backend.database, "first", "rollups", (*GRAINS[0].key_columns, *FIRST_METRICS),
                         " OR ".join(f"{m} <> 0" for m in FIRST_METRICS))
    async with kind.opened(where, "first") as migrated:
        assert await migrated.store.applied_migrations() == await backend.store.applied_migrations()
        assert await verify_rollups(migrated.store) == []
        for by in ((), ("unit", "month", "category", "channel")):
            assert await _sums(migrated, by=by, unit_len=12) == await _sums(backend, by=by, unit_len=12)
        assert (await _total(migrated))["in_progress"] == 2 and (await _total(migrated))["bad_pending"] == 1
        assert (await migrated.push(d.q_rec, d.q_batch)).duplicates == 11  # acks and events carried over
    assert await kind.schema(where, "first") == await kind.schema(where, backend.database)
