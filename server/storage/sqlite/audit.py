"""The audit log's SQL (`Store.append_audit`, `audit_entries`, `purge_audit`): appended and read, never updated; the
triggers of migration 0022 refuse an UPDATE and an early DELETE even from outside this code."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from server.storage.base import MIN_AUDIT_RETENTION_DAYS, AuditEntry, AuditQuery

COLUMNS = "at, actor, address, action, outcome, target, detail, role, event_id, entry_id"
INSERT = ("INSERT OR IGNORE INTO audit_log (at, actor, address, action, outcome, target, detail, role, event_id) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")


def append(conn: sqlite3.Connection, entries: Sequence[AuditEntry]) -> int:
    before = conn.total_changes
    conn.executemany(INSERT, [(e.at, e.actor, e.address, e.action, e.outcome, e.target, e.detail, e.role, e.event_id)
                              for e in entries])
    return conn.total_changes - before


def where(query: AuditQuery) -> tuple[str, list[Any]]:
    terms, params = ["1"], []
    for column, op, value in (("at", ">=", query.since), ("at", "<", query.until), ("actor", "=", query.actor),
                              ("action", "=", query.action), ("outcome", "=", query.outcome)):
        if value is not None:
            terms.append(f"{column} {op} ?")
            params.append(value)
    return " AND ".join(terms), params


def entry(row: Sequence[Any]) -> AuditEntry:
    return AuditEntry(*row)


def check_purge(before: str, now: str) -> None:
    """Raises ValueError when `before` would delete entries younger than the minimal retention."""
    if datetime.fromisoformat(before) > datetime.fromisoformat(now) - timedelta(days=MIN_AUDIT_RETENTION_DAYS):
        raise ValueError(f"audit entries are kept at least {MIN_AUDIT_RETENTION_DAYS} days: cannot purge those "
                         f"after {before}")


def purge(conn: sqlite3.Connection, before: str) -> int:
    return conn.execute("DELETE FROM audit_log WHERE at < ?", (before,)).rowcount
