"""Ratings as residents give them, through the fold both sides run: several per case (一次一评), each with its step,
channel and who entered it; a rating that cannot apply is a conflict, never dropped; follow-ups of bad ratings by
rating id or, from an older agent, the earliest waiting; the rollup counters of each rating."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.causal import FoldEvent, fold, order_key
from protocol.ids import new_uuid7
from protocol.lifecycle import Case, ratings_of
from protocol.messages import DATA_TYPES, EvaluatedData
from protocol.vocabulary import EventKind
from server.model.figures import Definitions, figures_from
from server.model.rollups import add_case, contributions, without_zeros

AGENT = "513422100-aaaaaa"
CASE_ID = "01900000-0000-7000-8000-000000000002"
ACCEPTED = {"case_no": "N2", "item_code": "GG-0004", "org_code": "513422100000", "channel": "window",
            "applicant_name": "卓玛", "cert_type": "居民身份证", "cert_no": "51342219900101123X", "promised_days": 5,
            "due_on": "2026-03-09"}


def _event(seq: int, kind: str, at: str, data: dict[str, Any], parents: tuple[str, ...] | None = None,
           event_id: str | None = None) -> FoldEvent:
    event_id = event_id or new_uuid7()
    key, corrected = order_key(at, 0, event_id)
    k = EventKind(kind)
    return FoldEvent(event_id, AGENT, seq, CASE_ID, k, msgspec.convert(data, DATA_TYPES[k]), key, corrected,
                     parents)


def _day(n: int, hour: int = 10) -> str:
    return f"2026-03-{n:02d}T{hour:02d}:00:00+08:00"


ACCEPT = _event(1, "accepted", _day(2, 9), ACCEPTED)
INTAKE = _event(2, "evaluated", _day(2, 9), {"rating": 4, "step": "intake", "channel": "window",
                                             "entered_by": "resident"})
ACCEPTANCE_PHONE = _event(3, "evaluated", _day(2, 11), {"rating": 1, "step": "acceptance", "channel": "phone",
                                                       "entered_by": "resident", "follow_up_due": "2026-03-04",
                                                       "comment": "排队太久"})
DONE = _event(4, "completed", _day(5), {"result": "approved"})
COMPLETION = _event(5, "evaluated", _day(5, 11), {"rating": 5, "step": "completion", "channel": "window",
                                                 "entered_by": "resident"})
CALLBACK = _event(6, "evaluated", _day(6), {"rating": 2, "step": "case", "channel": "callback",
                                           "follow_up_due": "2026-03-09"})
FOLLOW_UP_PHONE = _event(7, "followed_up", _day(6, 15), {"note": "已致电说明", "rating_id": ACCEPTANCE_PHONE.event_id})
HISTORY = [ACCEPT, INTAKE, ACCEPTANCE_PHONE, DONE, COMPLETION, CALLBACK, FOLLOW_UP_PHONE]


def _case(events: list[FoldEvent]) -> tuple[Case, list[str]]:
    result = fold(events)
    assert result.case is not None
    return result.case, [c.code for c in result.conflicts]


def test_a_case_keeps_every_rating_with_its_step_channel_and_who_entered_it() -> None:
    case, conflicts = _case(HISTORY)
    assert conflicts == []
    assert [(r.id, r.rating, r.step, r.channel, r.entered_by, r.on) for r in case.ratings] == [
        (INTAKE.event_id, 4, "intake", "window", "resident", "2026-03-02"),
        (ACCEPTANCE_PHONE.event_id, 1, "acceptance", "phone", "resident", "2026-03-02"),
        (COMPLETION.event_id, 5, "completion", "window", "resident", "2026-03-05"),
        (CALLBACK.event_id, 2, "case", "callback", "staff", "2026-03-06")]
    phone = case.ratings[1]
    assert (phone.follow_up_due, phone.followed_up_on, phone.comment) == ("2026-03-04", "2026-03-06", "排队太久")
    # the summary fields: the lowest level, the first rating day; a bad rating still waits (the callback's)
    assert (case.rating, case.rated_on, case.followed_up_on, case.comment) == (1, "2026-03-02", None, "排队太久")


def test_rules_that_a_rating_breaks_are_conflicts_kept_with_their_reason() -> None:
    early = _event(8, "evaluated", _day(3), {"rating": 5, "step": "completion"}, parents=(ACCEPTANCE_PHONE.event_id,))
    twice = _event(9, "evaluated", _day(5, 12), {"rating": 3, "step": "completion", "channel": "window"})
    good_follow_up = _event(10, "followed_up", _day(6, 16), {"note": "回访", "rating_id": COMPLETION.event_id})
    unknown = _event(11, "followed_up", _day(6, 17), {"note": "回访", "rating_id": new_uuid7()})
    case, conflicts = _case([*HISTORY, early, twice, good_follow_up, unknown])
    assert sorted(conflicts) == sorted(["not_completed", "already_rated", "not_bad_rating", "unknown_rating"])
    assert len(case.ratings) == 4  # the four that could apply, none lost


def test_an_older_agents_rating_is_of_the_whole_case_by_staff_at_the_window_and_its_follow_up_the_earliest() -> None:
    old = [ACCEPT, DONE, _event(5, "evaluated", _day(5, 12), {"rating": 2}),
           _event(6, "followed_up", _day(6), {"note": "已回访"})]
    case, conflicts = _case(old)
    assert conflicts == []
    (r,) = case.ratings
    assert (r.step, r.channel, r.entered_by, r.follow_up_due, r.followed_up_on) == (
        "case", "window", "staff", None, "2026-03-06")
    assert (case.rating, case.followed_up_on) == (2, "2026-03-06")
    # a second whole-case rating at the window, as an older agent would send it, is still one too many
    _, conflicts = _case([*old, _event(7, "evaluated", _day(7), {"rating": 5})])
    assert conflicts == ["already_rated"]
    # the older agent's data decodes with the defaults and encodes back to what it sent
    assert msgspec.json.encode(msgspec.convert({"rating": 2}, EvaluatedData)) == b'{"rating":2}'


def test_a_case_stored_before_ratings_per_step_still_counts_its_one_rating() -> None:
    case, _ = _case([ACCEPT, DONE, _event(5, "evaluated", _day(5, 12), {"rating": 2})])
    stored = msgspec.structs.replace(case, ratings=[])  # a body written by the previous version
    (r,) = ratings_of(stored)
    assert (r.rating, r.on, r.step, r.channel, r.entered_by) == (2, "2026-03-05", "case", "window", "staff")
    assert contributions(stored, "公共服务") == contributions(case, "公共服务")


def test_each_rating_counts_on_its_day_and_the_case_once() -> None:
    case, _ = _case(HISTORY)
    got = contributions(case, "公共服务")
    home = "513422000000"  # no applicant's village: by residence, the handling unit's county
    key = ("513422100000", "2026-03-{:02d}", "公共服务", "window", home)
    day = lambda n: (key[0], key[1].format(n), key[2], key[3], key[4])  # noqa: E731
    assert got[day(2)] == {"accepted": 1, "rated_cases": 1, "rated": 2, "rated_4": 1, "rated_1": 1,
                           "rated_by_resident": 2, "rated_via_window": 1, "rated_via_phone": 1,
                           "rated_at_intake": 1, "rated_at_acceptance": 1}
    assert got[day(5)] == {"completed": 1, "completed_on_time": 1, "trips_le1": 1, "rated": 1, "rated_5": 1,
                           "rated_by_resident": 1, "rated_via_window": 1, "rated_at_completion": 1}
    # the callback's bad rating still waits; the phone's was followed up on 03-06, two days after its last day
    assert got[day(6)] == {"rated": 1, "rated_2": 1, "rated_via_callback": 1, "rated_at_case": 1,
                           "bad_pending": 1, "bad_followed_up": 1}
    total: dict[str, int] = {}
    for metrics in got.values():
        for m, n in metrics.items():
            total[m] = total.get(m, 0) + n
    f = figures_from(total, Definitions())
    assert (f.evaluations, f.rated_cases, f.completed, f.resident_ratings) == (4, 1, 1, 3)
    assert f.evaluations > f.completed  # as 阿坝州 2021: 5,135,202 ratings for 3,537,028 completed cases
    assert (f.active_evaluation_rate, f.good_rating_rate, f.bad_ratings, f.bad_pending) == (1.0, 0.5, 2, 1)
    assert f.ratings_by_channel == {"window": 2, "phone": 1, "online": 0, "callback": 1}
    assert f.ratings_by_step == {"intake": 1, "acceptance": 1, "completion": 1, "case": 1}
    assert (f.bad_followed_up_on_time, f.bad_follow_up_on_time_rate) == (0, 0.0)
    resident = figures_from(total, Definitions(active_evaluation_rate="active_over_ratings"))
    assert resident.active_evaluation_rate == 0.75


def test_a_follow_up_by_its_last_day_is_on_time() -> None:
    in_time = _event(8, "followed_up", _day(9), {"note": "已整改", "rating_id": CALLBACK.event_id})
    case, _ = _case([*HISTORY, in_time])
    assert case.followed_up_on == "2026-03-09"  # no bad rating waits any more
    got = contributions(case, "公共服务")
    assert got[("513422100000", "2026-03-09", "公共服务", "window", "513422000000")] == {
        "bad_followed_up": 1, "bad_followed_up_on_time": 1}


@settings(max_examples=60, deadline=None)
@given(st.permutations(range(len(HISTORY))), st.sets(st.sampled_from(range(1, len(HISTORY)))))
def test_the_ratings_are_a_function_of_the_set_and_deltas_chain(order: list[int], dropped: set[int]) -> None:
    case, _ = _case(HISTORY)
    again, _ = _case([HISTORY[i] for i in order])
    assert msgspec.json.encode(again) == msgspec.json.encode(case)
    before = fold([e for i, e in enumerate(HISTORY) if i not in dropped]).case
    running = contributions(before, "公共服务")
    add_case(running, case, "公共服务", 1)
    add_case(running, before, "公共服务", -1)
    assert without_zeros(running) == contributions(case, "公共服务")
