"""Operator checks over stored data: recompute the rollups from the cases (invariant 3, "figures are true")."""

from __future__ import annotations

from typing import NamedTuple

from server.model.rollups import (
    Contribution,
    add_into,
    consultation_contribution,
    contributions,
    grain_rows,
    total_of,
)
from server.storage.base import CaseRecord, Consultation, Store


class Difference(NamedTuple):
    table: str
    key: tuple[str, ...]  # the grain's key columns
    metric: str
    stored: int
    expected: int


def recompute_rollups(cases: list[CaseRecord], consultations: list[Consultation]) -> Contribution:
    """Every daily rollup row as the pure functions define it, from the cases and consultations alone (the coarser
    grains follow from it: `rollups.grain_rows`)."""
    # Accumulated one case at a time: a list of every case's contribution first would hold millions of dicts at
    # prefecture scale.
    total: Contribution = {}
    for r in cases:
        add_into(total, contributions(r.case, r.category))
    for c in consultations:
        add_into(total, consultation_contribution(c.org_code, c.consulted_on, c.channel))
    return total_of([total])


async def verify_rollups(store: Store) -> list[Difference]:
    """Differences between every stored rollup table and a recomputation, read from one snapshot; empty when
    true."""
    daily, stored_tables = await store.snapshot_for_verify(recompute_rollups)
    out = []
    for table, expected in grain_rows(daily).items():
        stored = stored_tables[table]
        for key in sorted(stored.keys() | expected.keys()):
            s, e = stored.get(key, {}), expected.get(key, {})
            for metric in sorted(s.keys() | e.keys()):
                if s.get(metric, 0) != e.get(metric, 0):
                    out.append(Difference(table, key, metric, s.get(metric, 0), e.get(metric, 0)))
    return out


async def rebuild_rollups(store: Store) -> int:
    """Replace every rollup table by a recomputation, in one write transaction; returns the number of rows."""
    return await store.rebuild_rollups(recompute_rollups)
