"""The audit log's retention: entries older than `[audit] retention_days` (at least 183) are purged, and the purge
is itself an entry."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from server.clock import now_iso
from server.storage.base import MIN_AUDIT_RETENTION_DAYS, AuditEntry, Store

log = logging.getLogger(__name__)


async def purge_audit(store: Store, retention_days: int, actor: str = "county-server", address: str = "local"
                      ) -> int:
    """Delete the entries older than `retention_days`; returns how many (an entry records a purge that deleted any)."""
    if retention_days < MIN_AUDIT_RETENTION_DAYS:
        raise ValueError(f"[audit] retention_days must be at least {MIN_AUDIT_RETENTION_DAYS}")
    now = now_iso()
    before = (datetime.fromisoformat(now) - timedelta(days=retention_days)).isoformat(timespec="milliseconds")
    removed = await store.purge_audit(before, now)
    if removed:
        log.info("audit purged entries=%d before=%s", removed, before)
        await store.append_audit([AuditEntry(at=now_iso(), actor=actor, address=address, action="audit_purged",
                                             outcome="ok", detail=json.dumps({"before": before, "entries": removed}))])
    return removed


