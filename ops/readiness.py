"""`/readyz` for both programs: the database answers a writer and every shipped migration is applied."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

READY_TIMEOUT_S = 2.0  # a probe slower than this means staff actions or ingest would stall too


class ProbedStore(Protocol):
    async def ping(self, timeout_s: float) -> None: ...

    async def applied_migrations(self) -> set[int]: ...


async def check_ready(store: ProbedStore, shipped: Iterable[int]) -> tuple[str | None, int]:
    """(what is wrong, or None when ready; the newest applied migration)."""
    try:
        await store.ping(READY_TIMEOUT_S)
        applied = await store.applied_migrations()
    except Exception as e:  # whatever it is, the program cannot write now
        return f"the database does not answer: {type(e).__name__} {e}".strip(), 0
    missing = sorted(set(shipped) - applied)
    if missing:
        return f"migrations not applied: {missing}", max(applied, default=0)
    return None, max(applied, default=0)
