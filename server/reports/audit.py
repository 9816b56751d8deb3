"""The audit log as the auditor reads it: filters from the query (China-time days), rows with China time and Chinese
labels, and the export table. Nothing here writes; reading and exporting are themselves recorded by the route."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

import msgspec

from protocol.lifecycle import CHINA_TZ
from server.errors import invalid_filter
from server.reports.exports import Column, Table
from server.reports.worklists import int_param
from server.storage.base import AuditEntry, AuditQuery

MAX_PAGE = 500
EXPORT_ROWS = 50_000  # an export holds at most this many entries (newest first); narrow the days for older ones


class AuditItem(msgspec.Struct, omit_defaults=False):
    entry_id: int
    at: str  # UTC, as stored
    at_china: str  # YYYY-MM-DD HH:MM:SS, China time
    actor: str
    role: str | None
    address: str
    action: str
    action_label: str
    target: str | None
    outcome: str
    outcome_label: str
    detail: str | None


class AuditResponse(msgspec.Struct, omit_defaults=False):
    """`GET /api/v1/audit`: audit entries, newest first, one page at a time."""

    total: int
    offset: int
    limit: int
    retention_days: int
    rows: list[AuditItem]


def china_time(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


def parse_audit_query(params: Mapping[str, str], labels: Mapping[str, str], outcomes: Mapping[str, str],
                      max_page: int = MAX_PAGE) -> AuditQuery:
    """`from`/`to` (China-time days, both included), `actor`, `action`, `outcome`, `limit`, `offset`."""
    since = _utc_day(params["from"], "from") if params.get("from") else None
    until = _utc_day(params["to"], "to", next_day=True) if params.get("to") else None
    action, outcome = params.get("action") or None, params.get("outcome") or None
    if action is not None and action not in labels:
        raise invalid_filter("action", f"没有「{action[:40]}」这种操作")
    if outcome is not None and outcome not in outcomes:
        raise invalid_filter("outcome", f"结果「{outcome[:40]}」无效：应为 {'、'.join(outcomes)} 之一")
    return AuditQuery(since=since, until=until, actor=(params.get("actor") or None), action=action,
                      outcome=outcome, limit=int_param(params, "limit", 100, 1, max_page),
                      offset=int_param(params, "offset", 0, 0, 10**9))


def _utc_day(raw: str, name: str, *, next_day: bool = False) -> str:
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise invalid_filter(name, f"日期「{raw[:40]}」无效：应为 YYYY-MM-DD") from None
    if next_day:
        day += timedelta(days=1)
    return datetime.combine(day, time(), CHINA_TZ).astimezone(UTC).isoformat(timespec="milliseconds")


def audit_items(entries: list[AuditEntry], labels: Mapping[str, str], outcomes: Mapping[str, str]
                ) -> list[AuditItem]:
    return [AuditItem(entry_id=e.entry_id, at=e.at, at_china=china_time(e.at), actor=e.actor, role=e.role,
                      address=e.address, action=e.action, action_label=labels.get(e.action, e.action),
                      target=e.target, outcome=e.outcome, outcome_label=outcomes.get(e.outcome, e.outcome),
                      detail=e.detail) for e in entries]


def audit_table(items: list[AuditItem], total: int, retention_days: int) -> Table:
    cols = [Column("编号", "int"), Column("时间(北京时间)", "date"), Column("操作人"), Column("角色"),
            Column("来源地址", "code"), Column("操作"), Column("对象"), Column("结果"), Column("详情")]
    body = [[i.entry_id, i.at_china, i.actor, i.role or "", i.address, i.action_label, i.target or "",
             i.outcome_label, i.detail or ""] for i in items]
    notes = [("条数", f"共 {total} 条，本表 {len(items)} 条（最新在前）"),
             ("保存期限", f"{retention_days} 天（不少于 183 天）")]
    return Table("审计日志", cols, body, notes)
