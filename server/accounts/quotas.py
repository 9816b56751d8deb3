"""Per-agent quotas: events and bytes per day (China time) and events waiting for their case's acceptance.

A token can be stolen with its PC; these bound what one token can make the county store. Checked before a push is
read, against what earlier pushes committed (`Store.agent_usage`): a push is refused once a quota is reached, so the
batch that reaches it is taken whole and the overshoot is at most one batch. The refusal is a 429: the agent keeps
its events and sends them again later (after midnight, or once the orphans' cases have arrived).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from protocol.lifecycle import CHINA_TZ
from server.storage.base import Store

# The agent caps its wait at its backoff_max_s anyway; this is what the answer asks for when no day ends.
ORPHAN_RETRY_AFTER_S = 600


class Quotas(NamedTuple):
    events_per_day: int
    bytes_per_day: int
    orphan_events: int


class QuotaRefusal(NamedTuple):
    quota: str  # events, bytes or orphans: the metric's label
    code: str  # of protocol.codes
    detail: str
    retry_after_s: int


async def quota_refusal(store: Store, agent_id: str, quotas: Quotas, now: datetime) -> QuotaRefusal | None:
    """Why `agent_id` may not push now, or None."""
    china = now.astimezone(CHINA_TZ)
    usage = await store.agent_usage(agent_id, china.date().isoformat())
    midnight = datetime.combine(china.date() + timedelta(days=1), datetime.min.time(), CHINA_TZ)
    until_midnight = max(1, int((midnight - china).total_seconds()) + 1)
    if usage.events >= quotas.events_per_day:
        return QuotaRefusal("events", "quota_exceeded", f"{usage.events} events today; the quota is "
                            f"{quotas.events_per_day}", until_midnight)
    if usage.bytes >= quotas.bytes_per_day:
        return QuotaRefusal("bytes", "quota_exceeded", f"{usage.bytes} bytes today; the quota is "
                            f"{quotas.bytes_per_day}", until_midnight)
    if usage.orphans >= quotas.orphan_events:
        return QuotaRefusal("orphans", "orphan_quota", f"{usage.orphans} events wait for their case; the quota is "
                            f"{quotas.orphan_events}", ORPHAN_RETRY_AFTER_S)
    return None
