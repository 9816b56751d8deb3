"""fold_case and the rollup functions, pure: the outcome is a function of the set of events."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.lifecycle import Case
from protocol.messages import DATA_TYPES
from protocol.vocabulary import EventKind
from server.model.fold import FoldEvent, fold_case, order_key
from server.model.rollups import add_case, contributions, without_zeros

AGENT = "513422100-aaaaaa"
OTHER_TOWNSHIP_AGENT = "513422101-bbbbbb"
CASE_ID = "01900000-0000-7000-8000-000000000001"

ACCEPTED = {"case_no": "N1", "item_code": "GG-0004", "org_code": "513422100201", "channel": "window",
            "applicant_name": "扎西", "cert_type": "居民身份证", "cert_no": "51342219900101123X", "promised_days": 10,
            "due_on": "2026-03-04"}


def _event(seq: int, kind: str, at: str, data: dict, agent: str = AGENT, offset_ms: int = 0) -> FoldEvent:
    key, corrected = order_key(at, offset_ms, agent, seq)
    k = EventKind(kind)
    return FoldEvent(key, agent, CASE_ID, k, msgspec.convert(data, DATA_TYPES[k]), corrected)


HISTORY = [
    _event(1, "accepted", "2026-03-02T09:00:00+08:00", ACCEPTED),
    _event(2, "supplement_requested", "2026-03-02T09:30:00+08:00", {"missing": ["户口簿复印件"]}),
    _event(3, "supplement_received", "2026-03-03T10:00:00+08:00", {"due_on": "2026-03-05", "trips": 1}),
    _event(4, "updated", "2026-03-03T11:00:00+08:00", {"channel": "proxy"}),
    _event(5, "completed", "2026-03-06T16:00:00+08:00", {"result": "approved"}),
    _event(6, "evaluated", "2026-03-06T16:10:00+08:00", {"rating": 2}),
    _event(7, "evaluated", "2026-03-06T16:11:00+08:00", {"rating": 5}),  # a second rating: skipped
    _event(8, "followed_up", "2026-03-09T10:00:00+08:00", {"note": "已回访"}),
    _event(9, "withdrawn", "2026-03-10T10:00:00+08:00", {}),  # after completion: skipped
    _event(1, "completed", "2026-03-05T10:00:00+08:00", {"result": "approved"}, agent=OTHER_TOWNSHIP_AGENT),
]


def _full(events: list[FoldEvent]) -> tuple[Case | None, int]:
    return fold_case(None, sorted(events))


def test_the_reference_history_folds_to_the_expected_case() -> None:
    case, skipped = _full(HISTORY)
    assert case is not None
    assert (case.state, case.channel, case.rating, case.followed_up_on, case.completed_on) == (
        "completed", "proxy", 2, "2026-03-09", "2026-03-06")
    assert (case.due_on, case.is_on_time, case.trips) == ("2026-03-05", False, 2)
    assert skipped == 3  # second rating, withdrawal after completion, the other township's event


@settings(max_examples=200, deadline=None)
@given(st.permutations(HISTORY), st.integers(min_value=0, max_value=len(HISTORY)))
def test_any_arrival_order_and_any_split_into_batches_folds_to_the_same_case(order: list[FoldEvent],
                                                                             split: int) -> None:
    expected, _ = _full(HISTORY)
    # Batch one arrives, then batch two: the second is applied incrementally when it sorts after the first, and
    # refolded from everything otherwise, exactly as ingest does.
    first, second = order[:split], order[split:]
    stored, _ = _full(first)
    last_key = max((e.order_key for e in first), default="")
    if stored is not None and second and min(e.order_key for e in second) > last_key:
        result, _ = fold_case(stored, sorted(second))
    else:
        result, _ = _full(first + second)
    assert result == expected


def test_without_its_accepted_event_a_case_has_no_state_yet() -> None:
    assert _full(HISTORY[1:]) == (None, 0)


def test_a_case_starts_at_accepted_even_when_a_skewed_clock_puts_another_event_first() -> None:
    # Completed on a PC whose offset was measured meanwhile: its corrected time falls before the acceptance.
    accepted = _event(1, "accepted", "2026-03-02T09:00:00+08:00", ACCEPTED)
    completed = _event(2, "completed", "2026-03-02T09:01:00+08:00", {"result": "approved"}, offset_ms=120_000)
    assert completed.order_key < accepted.order_key
    case, skipped = _full([accepted, completed])
    assert case is not None and case.state == "completed" and skipped == 0


@settings(max_examples=100, deadline=None)
@given(st.sets(st.sampled_from(range(len(HISTORY)))), st.sets(st.sampled_from(range(len(HISTORY)))))
def test_rollup_deltas_chain_to_the_contribution_of_the_final_state(before: set[int], after: set[int]) -> None:
    old, _ = _full([HISTORY[i] for i in before])
    new, _ = _full([HISTORY[i] for i in before | after])
    # As ingest does: the old state's counters are in the rollups; the new state is added, the old taken away.
    running = contributions(old, "公共服务")
    add_case(running, new, "公共服务", 1)
    add_case(running, old, "公共服务", -1)
    assert without_zeros(running) == contributions(new, "公共服务")


def test_contributions_follow_the_published_definitions() -> None:
    case, _ = _full(HISTORY)
    assert case is not None
    got = contributions(case, "公共服务")
    village, cat, channel = "513422100201", "公共服务", "proxy"
    assert got == {
        (village, "2026-03-02", cat, channel): {"accepted": 1},
        (village, "2026-03-06", cat, channel): {"completed": 1, "completed_late": 1, "rated": 1, "rated_2": 1},
        (village, "2026-03-09", cat, channel): {"bad_followed_up": 1},
    }
    rejected, _ = _full([HISTORY[0], _event(2, "rejected", "2026-03-03T09:00:00+08:00", {"reason": "不符合条件"})])
    assert contributions(rejected, cat) == {(village, "2026-03-03", cat, "window"): {"rejected": 1}}
