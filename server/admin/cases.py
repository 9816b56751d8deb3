"""Cases folded again from their stored events (`protocol.causal`), for two operator jobs:

- `rollups verify` compares each stored case (its state and conflicts) with a refold of its events, so a case folded
  wrongly shows up as a difference, not only rollups that disagree with the cases;
- the upgrade to causal order (migration 0010) refolds every case once and rebuilds the rollups, with a report of how
  many cases changed (`county-server cases refold`, run by the server itself at the first start after the upgrade).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import NamedTuple

import msgspec

from protocol.causal import fold
from protocol.messages import Conflict, ServiceItem
from server.admin.rollups import rebuild_rollups
from server.ingest.privacy import open_history, seal_record
from server.model.reference import category_of
from server.model.sealing import Keyring
from server.storage.base import CaseHistory, CaseRecord, Store, fold_event


class CaseDifference(NamedTuple):
    case_id: str
    case_no: str | None
    field: str  # a field of the case, "case" (a row that should or should not be there), or "conflicts"
    stored: object
    expected: object


class RefoldReport(NamedTuple):
    cases_changed: int
    rollup_rows: int
    differences: list[CaseDifference]  # before the refold; what changed, by case and field
    fields: Counter[str]  # how many cases changed in each field


def refolded(history: CaseHistory, items: Mapping[str, ServiceItem], keys: Keyring | None = None
             ) -> tuple[CaseRecord | None, list[Conflict]]:
    """The case's row and conflicts as its stored events fold now; with `keys`, the row as stored (sealed): the
    stored row itself when it is the same in clear (sealing again would change every row's bytes)."""
    opened = open_history(keys, history)
    folded = fold(fold_event(e) for e in opened.events)
    case = folded.case
    if case is None:
        return None, []
    former = opened.record.category if opened.record is not None else None
    category = category_of(case.item_code, items, former, case.item_version, case.accepted_on)
    record = CaseRecord(case, category, folded.meta.last_key, folded.meta)
    if keys is None:
        return record, folded.conflicts
    old = opened.record
    if history.record is not None and old is not None and (old.case, old.category, old.meta) == (
            record.case, record.category, record.meta):
        return history.record, folded.conflicts
    return seal_record(keys, record, folded.conflicts), folded.conflicts


def differences(history: CaseHistory, items: Mapping[str, ServiceItem], keys: Keyring | None = None
                ) -> list[CaseDifference]:
    """How the stored case differs from a refold of its events (none: it is true), compared in clear."""
    if all(e.kind == "consulted" for e in history.events):
        return []  # a consultation: never a case
    history = open_history(keys, history)
    record, conflicts = refolded(history, items)
    stored = history.record
    either = record or stored
    no = either.case.case_no if either is not None else None
    if record is None or stored is None:
        return [] if record is stored else [CaseDifference(history.case_id, no, "case", stored is not None,
                                                           record is not None)]
    out = []
    old, new = msgspec.structs.asdict(stored.case), msgspec.structs.asdict(record.case)
    for field in old:
        if old[field] != new[field]:
            out.append(CaseDifference(history.case_id, no, field, old[field], new[field]))
    if stored.category != record.category:
        out.append(CaseDifference(history.case_id, no, "category", stored.category, record.category))
    have = sorted((c.event_id, c.code, c.settled_by or "") for c in history.conflicts)
    want = sorted((c.event_id, c.code, c.settled_by or "") for c in conflicts)
    if have != want:
        out.append(CaseDifference(history.case_id, no, "conflicts", have, want))
    return out


async def verify_cases(store: Store, items: Mapping[str, ServiceItem], keys: Keyring | None = None
                       ) -> list[CaseDifference]:
    """Every stored case compared with a refold of its stored events, from one snapshot; empty when all are true."""
    found = await store.check_cases(lambda h: differences(h, items, keys) or None)
    return [d for ds in found for d in ds]


async def refold_all(store: Store, items: Mapping[str, ServiceItem], keys: Keyring | None = None) -> RefoldReport:
    """Refold every case from its events (one write transaction), then rebuild the rollups from the cases."""
    before = await verify_cases(store, items, keys)
    changed = await store.refold_cases(lambda h: refolded(h, items, keys))
    rows = await rebuild_rollups(store)
    by_case: dict[str, set[str]] = {}
    for d in before:
        by_case.setdefault(d.case_id, set()).add(d.field)
    return RefoldReport(changed, rows, before, Counter(f for fs in by_case.values() for f in fs))
