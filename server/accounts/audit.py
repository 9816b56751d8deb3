"""The audit trail: what is recorded, by whom, in one place. Entries go to the store's append-only audit log
(`Store.append_audit`); the auditor reads and exports them (`server.reports.audit`).

Recorded: logins (ok, failed, throttled, a disabled account), logouts; account changes (`users add`, `password`,
`disable`, `enable`) and PC changes (`agents add`, `revoke`, `rotate-token`) from the CLI; every export and every
refused read outside a township viewer's township; reads and exports of the audit log itself; the retention purge;
and the case corrections (`updated`) and conflict settlements (`settled`) the PCs send, once per event. Passwords,
tokens and personal data never enter an entry: a correction names the fields it changed, not their values.
"""

from __future__ import annotations

import getpass
import json
from typing import Any

from server.clock import now_iso
from server.storage.base import AuditEntry, Store

ACTIONS = {
    "login": "登录", "login_failed": "登录失败", "login_throttled": "登录被锁定", "logout": "退出登录",
    "user_added": "添加账号", "user_password": "修改密码", "user_disabled": "停用账号", "user_enabled": "启用账号",
    "login_unlocked": "解除登录锁定",
    "agent_added": "登记终端", "agent_revoked": "停用终端", "agent_token_rotated": "更换终端令牌",
    "agent_cert_bound": "绑定终端证书",
    "export": "导出报表", "access_refused": "越权访问被拒绝", "audit_viewed": "查看审计日志",
    "audit_exported": "导出审计日志", "audit_purged": "清理过期审计记录",
    "case_corrected": "更正办件", "conflict_settled": "处理冲突", "correction_granted": "授权更正",
    "staff_changed": "变更工作人员",
    "key_created": "生成加密密钥", "key_rotated": "轮换加密密钥", "data_sealed": "加密存量个人信息",
}
OUTCOMES = {"ok": "成功", "refused": "拒绝", "failed": "失败"}
LOCAL = "local"  # the address of what the CLI does, on the server's own console


def cli_actor() -> str:
    """Who runs a CLI command: the operating-system account (the server's console is where admins manage)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def details(**fields: Any) -> str | None:
    """An entry's detail as compact JSON, without empty fields."""
    kept = {k: v for k, v in fields.items() if v not in (None, "", [], {})}
    return json.dumps(kept, ensure_ascii=False, sort_keys=True, separators=(",", ":")) if kept else None


class AuditTrail:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def record(self, action: str, *, actor: str, address: str, outcome: str = "ok", target: str | None = None,
                     detail: str | None = None, role: str | None = None) -> None:
        assert action in ACTIONS and outcome in OUTCOMES, (action, outcome)
        await self._store.append_audit([AuditEntry(at=now_iso(), actor=actor, address=address, action=action,
                                                   outcome=outcome, target=target, detail=detail, role=role)])

    async def record_events(self, entries: list[AuditEntry]) -> int:
        """PCs' corrections and settlements (each with its event_id: recorded once however often it is sent)."""
        return await self._store.append_audit(entries)
