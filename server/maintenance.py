"""Operator checks over stored data: recompute the rollups from the cases (invariant 3, "figures are true")."""

from __future__ import annotations

from typing import NamedTuple

from server.rollups import Contribution, consultation_contribution, contributions, total_of
from server.storage.base import CaseRecord, Consultation, Store


class Difference(NamedTuple):
    key: tuple[str, str, str, str]
    metric: str
    stored: int
    expected: int


def recompute_rollups(cases: list[CaseRecord], consultations: list[Consultation]) -> Contribution:
    """Every rollup row as the pure functions define it, from the cases and consultations alone."""
    return total_of(
        [contributions(r.case, r.category) for r in cases]
        + [consultation_contribution(c.org_code, c.consulted_on, c.channel) for c in consultations])


async def verify_rollups(store: Store) -> list[Difference]:
    """Differences between the stored rollups and a recomputation, read from one snapshot; empty when true."""
    cases, consultations, stored = await store.snapshot_for_verify()
    expected = recompute_rollups(cases, consultations)
    out = []
    for key in sorted(stored.keys() | expected.keys()):
        s, e = stored.get(key, {}), expected.get(key, {})
        for metric in sorted(s.keys() | e.keys()):
            if s.get(metric, 0) != e.get(metric, 0):
                out.append(Difference(key, metric, s.get(metric, 0), e.get(metric, 0)))
    return out


async def rebuild_rollups(store: Store) -> int:
    """Replace the rollups by a recomputation, in one write transaction; returns the number of rows."""
    return await store.rebuild_rollups(recompute_rollups)
