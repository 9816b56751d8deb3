"""The rollup functions over folded cases, pure: a case's contribution follows the published definitions, and the
deltas of successive folds chain to the contribution of the final state. (The fold itself: tests/protocol.)"""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.causal import FoldEvent, fold, order_key
from protocol.ids import new_uuid7
from protocol.lifecycle import Case
from protocol.messages import DATA_TYPES
from protocol.vocabulary import EventKind
from server.model.rollups import add_case, contributions, without_zeros

AGENT = "513422100-aaaaaa"
OTHER_TOWNSHIP_AGENT = "513422101-bbbbbb"
CASE_ID = "01900000-0000-7000-8000-000000000001"

ACCEPTED = {"case_no": "N1", "item_code": "GG-0004", "org_code": "513422100201", "channel": "window",
            "applicant_name": "扎西", "cert_type": "居民身份证", "cert_no": "51342219900101123X", "promised_days": 10,
            "due_on": "2026-03-04"}


def _event(seq: int, kind: str, at: str, data: dict, agent: str = AGENT, offset_ms: int = 0) -> FoldEvent:
    """A protocol-1 event: it follows its agent's previous one."""
    event_id = new_uuid7()
    key, corrected = order_key(at, offset_ms, event_id)
    k = EventKind(kind)
    return FoldEvent(event_id, agent, seq, CASE_ID, k, msgspec.convert(data, DATA_TYPES[k]), key, corrected)


HISTORY = [
    _event(1, "accepted", "2026-03-02T09:00:00+08:00", ACCEPTED),
    _event(2, "supplement_requested", "2026-03-02T09:30:00+08:00", {"missing": ["户口簿复印件"]}),
    _event(3, "supplement_received", "2026-03-03T10:00:00+08:00", {"due_on": "2026-03-05", "trips": 1}),
    _event(4, "updated", "2026-03-03T11:00:00+08:00", {"channel": "proxy"}),
    _event(5, "completed", "2026-03-06T16:00:00+08:00", {"result": "approved"}),
    _event(6, "evaluated", "2026-03-06T16:10:00+08:00", {"rating": 2}),
    _event(7, "evaluated", "2026-03-06T16:11:00+08:00", {"rating": 5}),  # a second rating: a conflict
    _event(8, "followed_up", "2026-03-09T10:00:00+08:00", {"note": "已回访"}),
    _event(9, "withdrawn", "2026-03-10T10:00:00+08:00", {}),  # after completion: a conflict
    _event(1, "completed", "2026-03-05T10:00:00+08:00", {"result": "approved"}, agent=OTHER_TOWNSHIP_AGENT),
]


def _full(events: list[FoldEvent]) -> tuple[Case | None, int]:
    result = fold(events)
    return result.case, len(result.conflicts)


def test_the_reference_history_folds_to_the_expected_case() -> None:
    case, conflicts = _full(HISTORY)
    assert case is not None
    assert (case.state, case.channel, case.rating, case.followed_up_on, case.completed_on) == (
        "completed", "proxy", 2, "2026-03-09", "2026-03-06")
    assert (case.due_on, case.is_on_time, case.trips) == ("2026-03-05", False, 2)
    assert conflicts == 3  # second rating, withdrawal after completion, the other township's event


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
    home = "513422000000"  # no applicant's village in the data: by residence at the handling unit's county code
    assert got == {
        (village, "2026-03-02", cat, channel, home): {"accepted": 1},
        (village, "2026-03-06", cat, channel, home): {"completed": 1, "completed_late": 1, "rated": 1,
                                                      "rated_2": 1, "rated_cases": 1, "rated_via_window": 1,
                                                      "rated_at_case": 1},
        (village, "2026-03-09", cat, channel, home): {"bad_followed_up": 1},
    }
    rejected, _ = _full([HISTORY[0], _event(2, "rejected", "2026-03-03T09:00:00+08:00", {"reason": "不符合条件"})])
    assert contributions(rejected, cat) == {(village, "2026-03-03", cat, "window", home): {"rejected": 1}}
    assert rejected is not None
    lives_in = msgspec.structs.replace(rejected, village_code="513422100202")
    assert contributions(lives_in, cat) == {(village, "2026-03-03", cat, "window", "513422100202"): {"rejected": 1}}
