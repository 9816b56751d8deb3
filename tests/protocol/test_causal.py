"""protocol.causal: the causal order of a case's events and their fold, pure; the result is a function of the set."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.causal import FoldEvent, FoldResult, append, case_digest, china_millis, fold, order_key
from protocol.ids import new_uuid7
from protocol.lifecycle import CHINA_TZ, IllegalTransition, apply_event, china_seconds, corrected_at
from protocol.messages import DATA_TYPES
from protocol.vocabulary import EventKind

PC1, PC2, PC3 = "513422100-aaaaaa", "513422100-bbbbbb", "513422100-cccccc"
OTHER_TOWNSHIP = "513422101-dddddd"
CASE = "01900000-0000-7000-8000-000000000001"
ACCEPTED = {"case_no": "N1", "item_code": "GG-0004", "org_code": "513422100201", "channel": "window",
            "applicant_name": "扎西", "cert_type": "居民身份证", "cert_no": "51342219900101123X", "promised_days": 10,
            "due_on": "2026-03-16"}
DATA = {"accepted": ACCEPTED, "completed": {"result": "approved"}, "withdrawn": {"reason": "申请人撤回"},
        "rejected": {"reason": "不符合条件"}, "evaluated": {"rating": 5}, "followed_up": {"note": "已回访"},
        "supplement_requested": {"missing": ["户口簿"]}, "supplement_received": {"due_on": "2026-03-20"},
        "updated": {"phone": "13800000000"}}


class Author:
    """Makes events as a PC does: seq per agent, ms times, offsets as measured, parents = its heads (protocol 2)."""

    def __init__(self, agent_id: str, *, protocol: int = 2) -> None:
        self.agent_id = agent_id
        self.protocol = protocol
        self.seq = 0

    def make(self, kind: str, at: str, *, parents: list[FoldEvent] | None = None, offset_ms: int = 0,
             data: dict | None = None, replaces: str | None = None, event_id: str | None = None) -> FoldEvent:
        self.seq += 1
        event_id = event_id or new_uuid7()
        key, corrected = order_key(at, offset_ms, event_id)
        k = EventKind(kind)
        names = None if self.protocol == 1 else tuple(sorted(p.event_id for p in parents or ()))
        return FoldEvent(event_id, self.agent_id, self.seq, CASE, k, msgspec.convert(data or DATA[kind], DATA_TYPES[k]),
                         key, corrected, names, replaces)


def settle(author: Author, at: str, losing: str, outcome: str = "accepted", parents=()) -> FoldEvent:
    return author.make("settled", at, parents=list(parents), data={"event_id": losing, "outcome": outcome})


def test_two_actions_of_one_pc_in_one_second_are_never_swapped_by_a_new_clock_offset() -> None:
    # The bug of issue 9: the offset measured between the two actions moved the second one 800 ms "before" the first.
    pc = Author(PC1, protocol=1)
    accepted = pc.make("accepted", "2026-03-02T09:00:00.100+08:00")
    completed = pc.make("completed", "2026-03-02T09:00:01.200+08:00")
    evaluated = pc.make("evaluated", "2026-03-02T09:00:01.400+08:00", offset_ms=900)
    assert evaluated.key < completed.key
    result = fold([evaluated, completed, accepted])
    assert result.conflicts == []
    assert result.case is not None and (result.case.state, result.case.rating) == ("completed", 5)
    assert result.applied == [accepted.event_id, completed.event_id, evaluated.event_id]


def test_an_event_made_after_pulling_two_pcs_follows_both_whatever_the_clocks_say() -> None:
    pc1, pc2, pc3 = Author(PC1), Author(PC2), Author(PC3)
    accepted = pc1.make("accepted", "2026-03-02T09:00:00.000+08:00")
    updated = pc2.make("updated", "2026-03-02T10:00:00.000+08:00", parents=[accepted], data={"phone": "13900000000"})
    supplement = pc3.make("supplement_requested", "2026-03-02T10:05:00.000+08:00", parents=[accepted])
    # PC1 pulled both, but its clock is an hour slow: by time alone it would come first.
    received = pc1.make("supplement_received", "2026-03-02T09:30:00.000+08:00", parents=[updated, supplement])
    result = fold([received, supplement, updated, accepted])
    assert result.conflicts == []
    assert result.applied[-1] == received.event_id
    assert result.case is not None and (result.case.state, result.case.phone) == ("in_progress", "13900000000")
    assert result.meta.heads == [received.event_id]


def test_two_pcs_closing_one_case_offline_make_one_conflict_with_both_sides() -> None:
    pc1, pc2 = Author(PC1), Author(PC2)
    accepted = pc1.make("accepted", "2026-03-02T09:00:00.000+08:00")
    completed = pc1.make("completed", "2026-03-03T10:00:00.000+08:00", parents=[accepted])
    withdrawn = pc2.make("withdrawn", "2026-03-03T10:00:05.000+08:00", parents=[accepted])
    for events in itertools.permutations([accepted, completed, withdrawn]):
        result = fold(events)
        assert result.case is not None and result.case.state == "completed"  # the earlier of the two, by time
        (conflict,) = result.conflicts
        assert (conflict.event_id, conflict.code, conflict.lost_to, conflict.lost_to_kind) == (
            withdrawn.event_id, "closed", completed.event_id, "completed")
        assert conflict.agent_id == PC2 and conflict.is_open and "撤回" in conflict.message
        assert sorted(result.meta.heads) == sorted([completed.event_id, withdrawn.event_id])


def test_a_settled_event_settles_the_conflict_it_names_and_leaves_the_case_as_it_was() -> None:
    pc1, pc2 = Author(PC1), Author(PC2)
    accepted = pc1.make("accepted", "2026-03-02T09:00:00.000+08:00")
    completed = pc1.make("completed", "2026-03-03T10:00:00.000+08:00", parents=[accepted])
    withdrawn = pc2.make("withdrawn", "2026-03-03T10:00:05.000+08:00", parents=[accepted])
    before = fold([accepted, completed, withdrawn])
    settled = settle(pc2, "2026-03-04T08:00:00.000+08:00", withdrawn.event_id, parents=[completed, withdrawn])
    after = fold([accepted, completed, withdrawn, settled])
    assert after.case == before.case
    (conflict,) = after.conflicts
    assert (conflict.settled_by, conflict.outcome, conflict.is_open) == (settled.event_id, "accepted", False)
    assert (after.meta.open_conflicts, after.meta.conflicts) == (0, 1)
    assert case_digest(after.case, after.conflicts) != case_digest(before.case, before.conflicts)
    assert append(before, settled) == after


def test_parents_the_folder_does_not_know_are_ignored() -> None:
    pc1 = Author(PC1)
    accepted = pc1.make("accepted", "2026-03-02T09:00:00.000+08:00")
    completed = pc1.make("completed", "2026-03-03T10:00:00.000+08:00", parents=[accepted])
    completed = completed._replace(parents=(accepted.event_id, new_uuid7()))
    result = fold([completed, accepted])
    assert result.case is not None and result.case.state == "completed" and result.conflicts == []
    assert result.meta.awaiting == [p for p in completed.parents if p != accepted.event_id]


def test_a_correction_takes_the_place_of_the_refused_event_it_replaces() -> None:
    # Completed (refused by the county), then rated on the PC; staff correct the completion: the rating still follows.
    pc1 = Author(PC1)
    accepted = pc1.make("accepted", "2026-03-02T09:00:00.000+08:00")
    refused = pc1.make("completed", "2026-03-03T10:00:00.000+08:00", parents=[accepted])
    rated = pc1.make("evaluated", "2026-03-03T10:05:00.000+08:00", parents=[refused])
    corrected = pc1.make("completed", "2026-03-03T10:00:00.000+08:00", parents=[accepted],
                         data={"result": "not_approved"}, replaces=refused.event_id)
    result = fold([accepted, rated, corrected])  # the county never stored `refused`
    assert result.conflicts == []
    assert result.case is not None and (result.case.result, result.case.rating) == ("not_approved", 5)
    assert result.applied == [accepted.event_id, corrected.event_id, rated.event_id]


def test_events_before_the_acceptance_wait_for_it_and_then_apply_after_it() -> None:
    pc1 = Author(PC1, protocol=1)
    accepted = pc1.make("accepted", "2026-03-02T09:00:00.000+08:00")
    completed = pc1.make("completed", "2026-03-02T09:10:00.000+08:00")
    waiting = fold([completed])
    assert waiting.case is None and waiting.conflicts == [] and waiting.meta.count == 1
    assert fold([completed, accepted]).case.state == "completed"  # type: ignore[union-attr]


def test_an_event_of_another_township_is_a_conflict_not_a_change() -> None:
    pc1, stranger = Author(PC1), Author(OTHER_TOWNSHIP)
    accepted = pc1.make("accepted", "2026-03-02T09:00:00.000+08:00")
    rejected = stranger.make("rejected", "2026-03-02T09:30:00.000+08:00", parents=[accepted])
    result = fold([accepted, rejected])
    assert result.case is not None and result.case.state == "in_progress"
    assert [(c.event_id, c.code) for c in result.conflicts] == [(rejected.event_id, "wrong_township")]


def test_a_forged_cycle_is_broken_the_same_way_whatever_the_order() -> None:
    pc1, pc2 = Author(PC1), Author(PC2)
    accepted = pc1.make("accepted", "2026-03-02T09:00:00.000+08:00")
    a_id, b_id = new_uuid7(), new_uuid7()
    a = pc1.make("updated", "2026-03-02T10:00:00.000+08:00", event_id=a_id, data={"phone": "13900000001"})
    b = pc2.make("updated", "2026-03-02T10:01:00.000+08:00", event_id=b_id, data={"phone": "13900000002"})
    a, b = a._replace(parents=(accepted.event_id, b_id)), b._replace(parents=(a_id,))
    results = {msgspec.json.encode(fold(p)) for p in itertools.permutations([accepted, a, b])}
    assert len(results) == 1
    result = fold([a, b, accepted])
    assert result.meta.is_regular is False and result.case is not None and result.case.phone == "13900000002"


def test_duplicates_fold_once() -> None:
    pc1 = Author(PC1)
    accepted = pc1.make("accepted", "2026-03-02T09:00:00.000+08:00")
    completed = pc1.make("completed", "2026-03-03T10:00:00.000+08:00", parents=[accepted])
    evaluated = pc1.make("evaluated", "2026-03-03T10:05:00.000+08:00", parents=[completed])
    assert fold([accepted, completed, completed, evaluated, accepted]) == fold([accepted, completed, evaluated])


# ---- properties over simulated township PCs -------------------------------------------------------------------

KINDS = ["updated", "supplement_requested", "supplement_received", "completed", "rejected", "withdrawn",
         "evaluated", "followed_up"]


def simulate(seed: int, pcs: int, steps: int) -> list[FoldEvent]:
    """PCs of one township acting on one case, each on its own copy of the case's events, syncing now and then (a
    sync gives a PC everything some other PC had). Each action is legal on the PC's own state when made (the agent
    refuses it otherwise), with its own clock skew and offsets that change at syncs. Some PCs run protocol 1."""
    rng = random.Random(seed)
    authors = [Author(f"513422100-{i:06x}", protocol=rng.choice([1, 2, 2])) for i in range(pcs)]
    skew = [rng.randint(-600_000, 600_000) for _ in range(pcs)]
    offsets = [0] * pcs
    known: list[dict[str, FoldEvent]] = [{} for _ in range(pcs)]
    start = datetime(2026, 3, 2, 9, 0, tzinfo=CHINA_TZ)
    clock = 0
    e = authors[0].make("accepted", _at(start, clock, skew[0]), offset_ms=offsets[0])
    known[0][e.event_id] = e
    everything = [e]
    for _ in range(steps):
        clock += rng.choice([0, 1, 50, 400, 1000, 60_000])  # ms between actions: often within one second
        i = rng.randrange(pcs)
        if rng.random() < 0.3:  # sync: take what another PC knows (a protocol-1 PC only pushes, never pulls)
            j = rng.randrange(pcs)
            if authors[i].protocol == 2:
                known[i].update(known[j])
            offsets[i] = skew[i] + rng.randint(-2000, 2000)  # the offset measured at this sync
            continue
        state = fold(known[i].values())
        if state.case is None:
            continue
        kind = rng.choice(KINDS)
        probe = msgspec.convert(DATA[kind], DATA_TYPES[EventKind(kind)])
        try:
            apply_event(state.case, CASE, EventKind(kind), probe, state.case.last_at)
        except IllegalTransition:
            continue
        heads = [known[i][h] for h in state.meta.heads]
        e = authors[i].make(kind, _at(start, clock, skew[i]), parents=heads, offset_ms=offsets[i])
        known[i][e.event_id] = e
        everything.append(e)
    return everything


def _at(start: datetime, clock_ms: int, skew_ms: int) -> str:
    return (start + timedelta(milliseconds=clock_ms + skew_ms)).isoformat(timespec="milliseconds")


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 4), st.integers(1, 25), st.randoms(use_true_random=False))
def test_any_delivery_order_with_duplicates_folds_to_the_same_state_and_every_event_applies_or_conflicts(
        seed: int, pcs: int, steps: int, rnd: random.Random) -> None:
    events = simulate(seed, pcs, steps)
    expected = fold(events)
    shuffled = events + rnd.sample(events, k=len(events) // 3)
    rnd.shuffle(shuffled)
    got = fold(shuffled)
    assert got == expected
    assert sorted(got.applied + [c.event_id for c in got.conflicts]) == sorted(e.event_id for e in events)
    assert got.meta.count == len(events)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 4), st.integers(1, 25), st.randoms(use_true_random=False))
def test_appending_one_event_at_a_time_gives_the_full_fold_whenever_append_agrees_to(
        seed: int, pcs: int, steps: int, rnd: random.Random) -> None:
    # As ingest does: events arrive one by one in any order; each is appended when `append` can, else the case is
    # refolded from everything so far.
    events = simulate(seed, pcs, steps)
    rnd.shuffle(events)
    state: FoldResult = fold([])
    seen: list[FoldEvent] = []
    appended = 0
    for e in events:
        seen.append(e)
        quick = append(state, e)
        state = quick if quick is not None else fold(seen)
        appended += quick is not None
        full = fold(seen)
        assert (state.case, state.conflicts, state.meta) == (full.case, full.conflicts, full.meta)


def test_events_in_the_order_they_were_made_are_mostly_appended() -> None:
    appended = total = 0
    for seed in range(40):
        events = simulate(seed, 3, 20)
        state = fold(events[:1])
        for n, e in enumerate(events[1:], start=2):
            quick = append(state, e)
            state = quick if quick is not None else fold(events[:n])
            appended += quick is not None
            total += 1
    assert appended / total > 0.8, (appended, total)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(2004, 1, 1), max_value=datetime(2030, 12, 31)),
       st.sampled_from(["+08:00", "+00:00", "-05:30", "+09:00"]), st.integers(-10**9, 10**9),
       st.sampled_from(["seconds", "milliseconds", "microseconds"]))
def test_the_fast_corrected_time_equals_the_protocols_corrected_at(local: datetime, tz: str, offset_ms: int,
                                                                   timespec: str) -> None:
    at = local.isoformat(timespec=timespec) + tz
    reference = corrected_at(at, offset_ms)
    assert china_millis(at, offset_ms) == reference.isoformat(timespec="milliseconds")
    key, corrected = order_key(at, offset_ms, CASE)
    assert key == reference.isoformat(timespec="milliseconds") + "|" + CASE
    assert corrected == china_seconds(reference)  # what the fold applies
