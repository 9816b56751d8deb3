"""The correction rule both sides fold by: which fields a closed or rated case may change without a county grant."""

from __future__ import annotations

import msgspec
import pytest

from protocol.corrections import CORRECTABLE, FIGURE_FIELDS, changes_of, is_settled, needs_grant
from protocol.lifecycle import Case, IllegalTransition, apply_event
from protocol.messages import CorrectedData, UpdatedData
from protocol.vocabulary import EventKind

AT = "2026-11-23T09:00:00+08:00"


def case(**fields) -> Case:
    base = Case(case_id="c1", case_no="N1", org_code="513422100000", item_code="GG-001", channel="window",
                applicant_name="扎西", cert_type="resident_id", cert_no="11010519491231002X", promised_days=3,
                accepted_at=AT, accepted_on=AT[:10], last_at=AT, phone="13800000000")
    return msgspec.structs.replace(base, **fields)


def test_the_figure_fields_are_the_rollup_key_and_the_on_time_inputs():
    assert FIGURE_FIELDS == {"item_code", "org_code", "channel", "village_code", "promised_days", "due_on"}
    # Contact, identity, staff and the note change no figure (the village places the case by residence).
    assert set(CORRECTABLE) - FIGURE_FIELDS == {"applicant_name", "cert_type", "cert_no", "phone", "staff", "note"}


@pytest.mark.parametrize(("fields", "settled"), [
    ({}, False), ({"state": "suspended"}, False), ({"state": "completed"}, True), ({"state": "rejected"}, True),
    ({"state": "withdrawn"}, True), ({"rating": 5}, True)])
def test_closed_or_rated_cases_are_settled(fields, settled):
    assert is_settled(case(**fields)) is settled


def test_an_open_case_corrects_any_field_a_closed_one_only_figure_free_ones():
    assert needs_grant(case(), ["item_code", "phone"]) == []
    assert needs_grant(case(state="completed"), ["phone", "item_code", "channel"]) == ["channel", "item_code"]
    assert needs_grant(case(state="completed"), ["phone", "applicant_name"]) == []


def test_the_fold_applies_a_correction_and_refuses_a_figure_change_of_a_rated_case_without_grant():
    done = case(state="completed", completed_on=AT[:10], rating=2)
    fixed = apply_event(done, "c1", EventKind.CORRECTED, CorrectedData(reason="电话记错", phone="13900000000"), AT)
    assert fixed.phone == "13900000000" and fixed.state == "completed" and fixed.rating == 2
    with pytest.raises(IllegalTransition) as refused:
        apply_event(done, "c1", EventKind.CORRECTED, CorrectedData(reason="选错事项", item_code="XK-001"), AT)
    assert refused.value.code == "correction_needs_grant" and "事项" in refused.value.message
    granted = CorrectedData(reason="选错事项", item_code="XK-001", promised_days=10, due_on="2026-12-07",
                            grant="0190a0b0-0000-7000-8000-000000000001")
    moved = apply_event(done, "c1", EventKind.CORRECTED, granted, AT)
    assert (moved.item_code, moved.promised_days, moved.due_on) == ("XK-001", 10, "2026-12-07")
    with pytest.raises(IllegalTransition) as empty:
        apply_event(done, "c1", EventKind.CORRECTED, CorrectedData(reason="无"), AT)
    assert empty.value.code == "empty_correction"


def test_an_unguarded_update_of_a_completed_case_is_a_refusal_an_open_one_applies():
    assert apply_event(case(), "c1", EventKind.UPDATED, UpdatedData(phone="13900000000"), AT).phone == "13900000000"
    with pytest.raises(IllegalTransition) as refused:
        apply_event(case(state="completed", rating=5), "c1", EventKind.UPDATED, UpdatedData(phone="1"), AT)
    assert refused.value.code == "correction_required" and "更正" in refused.value.message


def test_a_correction_needs_a_reason_and_carries_its_changes_only():
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"phone": "13900000000"}, CorrectedData)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"reason": "", "phone": "13900000000"}, CorrectedData)
    data = msgspec.convert({"reason": "r", "channel": "online", "before": {"channel": "window"}}, CorrectedData)
    assert changes_of(data) == {"channel": "online"}
