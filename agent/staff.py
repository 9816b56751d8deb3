"""Staff sign-in on the PC (工作人员登录), offline: who is at the window, so that every action names its author.

- **Who.** The township's staff list (工号, name, role, PIN or password) is reference data the township makes: its
  lead (负责人) manages it on any PC of the township, the county keeps it (hashes only) and every PC of the township
  receives it at its next sync, so a clerk signs in at any window, with or without a link. The first lead is set
  up on the PC itself: `township-agent staff add --lead`.
- **Secrets.** A PIN of at least 6 digits or a password of at least 8 characters, neither a run nor a repeat
  (123456, 111111, aaaaaaaa) nor one of the most common PINs; only its scrypt hash with its own salt is stored
  (`ops.passwords`), and checked on a thread: the loop keeps answering during the 50 ms.
- **Guessing.** `MAX_FAILURES` wrong secrets in a row lock the staff id on this PC for `LOCK_S` (the right secret
  included); the count is kept in the PC's database, so a restart does not reset it. An unknown id costs the same
  hash, so the answer's time tells nothing about which ids exist.
- **Sessions.** The page signs in once and holds a session cookie (HttpOnly, SameSite=Strict: another site's page
  can neither read it nor send it); a session ends after `SESSION_IDLE_S` without use and `SESSION_MAX_S` after
  sign-in, when its staff member is disabled, and when the agent restarts. Scripts send the staff credential with
  every request instead (`curl -u 工号:密码`); a credential that was right is taken again for `VERIFIED_S` without
  the hash (its sha256 with the stored hash is remembered, in memory), so a script's loop is not 50 ms a request.

Until the first staff member exists (a PC installed before sign-in, or before its lead was set up) the agent works
as before, without sign-in; its actions name nobody, and the page says to set up the lead.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import time
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from agent.errors import InvalidInput, StaffRefused
from agent.store import AgentStore
from ops.passwords import hash_password, verify_password
from protocol.lifecycle import CHINA_TZ
from protocol.messages import STAFF_ROLES, StaffMember

log = logging.getLogger(__name__)

MAX_FAILURES = 5
LOCK_S = 15 * 60
SESSION_IDLE_S = 60 * 60
SESSION_MAX_S = 12 * 60 * 60
VERIFIED_S = 60  # a Basic credential that was right is taken again without scrypt for this long
MIN_PIN_DIGITS = 6
MIN_PASSWORD_CHARS = 8
MAX_SECRET_CHARS = 128
STAFF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
# PINs people pick first that are neither runs nor repeats (years, pairs, "I love you" in digits).
COMMON_PINS = frozenset({"123123", "121212", "112233", "520520", "520131", "131420", "147258", "159357", "123321",
                         "000111", "111222", "123654", "789456", "741852", "258369", "101010", "202020", "666888",
                         "168168", "888666", "5201314", "1234567", "12345678", "123456789"})
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
# The staff member signed in for the request being handled (set by `agent.http.signin`); every event the request
# makes names them. None outside a request and before the first staff member exists.
SIGNED_IN: ContextVar[str | None] = ContextVar("signed_in_staff", default=None)


def secret_problem(secret: str) -> str | None:
    """Why this PIN or password may not be used (in Chinese), or None."""
    if len(secret) > MAX_SECRET_CHARS:
        return f"密码不能超过{MAX_SECRET_CHARS}个字符"
    if secret.isdigit():
        if len(secret) < MIN_PIN_DIGITS:
            return f"PIN 至少{MIN_PIN_DIGITS}位数字"
    elif len(secret) < MIN_PASSWORD_CHARS:
        return f"密码至少{MIN_PASSWORD_CHARS}个字符（或用至少{MIN_PIN_DIGITS}位数字的 PIN）"
    if len(set(secret)) == 1 or _is_run(secret) or secret.lower() in COMMON_PINS:
        return "密码太容易被猜到（连号、重复或常见密码），请换一个"
    return None


def _is_run(secret: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in zip(secret, secret[1:], strict=False)}
    return len(steps) == 1 and steps <= {1, -1}


def now_instant() -> str:
    return datetime.now(CHINA_TZ).isoformat(timespec="seconds")


@dataclass
class _Session:
    staff_id: str
    started: float
    last_used: float


class StaffDesk:
    """Sign-in, sessions and changes to the township's staff list, over the PC's store."""

    def __init__(self, store: AgentStore, clock=time.time) -> None:
        self.store = store
        self._clock = clock
        self._sessions: dict[str, _Session] = {}  # sha256 of the cookie -> session
        # sha256 of (staff id, secret, stored hash) -> until when: a new PIN changes the stored hash, so it ends.
        self._verified: dict[str, float] = {}

    async def is_required(self) -> bool:
        return await self.store.has_staff()

    async def sign_in(self, staff_id: str, secret: str) -> StaffMember:
        """The staff member whose id and secret these are. Raises StaffRefused: sign_in_failed (also for an
        unknown id), sign_in_locked (with the seconds left), staff_disabled."""
        member = await self.store.staff_member(staff_id) if STAFF_ID.match(staff_id) else None
        now = self._clock()
        if member is not None:
            failures, locked_until = await self.store.sign_in_failures(staff_id)
            if locked_until > now:
                raise StaffRefused("sign_in_locked", staff_id, retry_after_s=int(locked_until - now) + 1)
        proof = _digest(f"{staff_id}\0{secret}\0{member.secret_hash}") if member is not None else ""
        if member is not None and self._verified.get(proof, 0.0) > now:
            is_right = True  # a script's credential checked a moment ago: not 50 ms of scrypt for every request
        else:
            is_right = await asyncio.to_thread(verify_password, secret[:MAX_SECRET_CHARS],
                                               member.secret_hash if member else _DUMMY_HASH)
        if member is None:
            log.warning("staff sign-in failed staff_id=%s reason=unknown", staff_id[:40])
            raise StaffRefused("sign_in_failed")
        if not is_right:
            failures += 1
            locked = now + LOCK_S if failures >= MAX_FAILURES else 0.0
            await self.store.set_sign_in_failures(staff_id, 0 if locked else failures, locked)
            log.warning("staff sign-in failed staff_id=%s failures=%d locked=%s", staff_id, failures, bool(locked))
            if locked:
                raise StaffRefused("sign_in_locked", staff_id, retry_after_s=LOCK_S)
            raise StaffRefused("sign_in_failed")
        if member.is_disabled:
            raise StaffRefused("staff_disabled", staff_id)
        if len(self._verified) >= 1000:
            self._verified.clear()
        self._verified[proof] = now + VERIFIED_S
        if failures:
            await self.store.set_sign_in_failures(staff_id, 0, 0.0)
        return member

    # ---- sessions of the page -------------------------------------------------------------------------------

    def open_session(self, member: StaffMember) -> str:
        token = secrets.token_urlsafe(32)
        now = self._clock()
        self._drop_expired(now)
        self._sessions[_digest(token)] = _Session(member.staff_id, now, now)
        log.info("staff signed in staff_id=%s", member.staff_id)
        return token

    async def session_member(self, token: str) -> StaffMember | None:
        """The staff member of a live session; None when it ended (idle, too old, disabled, unknown)."""
        key = _digest(token)
        session = self._sessions.get(key)
        now = self._clock()
        if session is None or now - session.last_used > SESSION_IDLE_S or now - session.started > SESSION_MAX_S:
            self._sessions.pop(key, None)
            return None
        member = await self.store.staff_member(session.staff_id)
        if member is None or member.is_disabled:
            self._sessions.pop(key, None)
            return None
        session.last_used = now
        return member

    def end_session(self, token: str) -> None:
        self._sessions.pop(_digest(token), None)

    def _drop_expired(self, now: float) -> None:
        for key, s in list(self._sessions.items()):
            if now - s.last_used > SESSION_IDLE_S or now - s.started > SESSION_MAX_S:
                del self._sessions[key]

    # ---- the staff list, managed by the lead ----------------------------------------------------------------

    async def add(self, actor: StaffMember | None, staff_id: str, name: str, role: str, secret: str) -> StaffMember:
        """A new staff member. `actor`: the lead who adds them (None: the PC's command line)."""
        _require_lead(actor)
        fields = {}
        if not STAFF_ID.match(staff_id):
            fields["staff_id"] = "工号只能用字母、数字、- 和 _，最多32个字符"
        if not name.strip() or len(name) > 100:
            fields["name"] = "请填写姓名（最多100个字）"
        if role not in STAFF_ROLES:
            fields["role"] = "角色应为 clerk（办事员）或 lead（负责人）"
        problem = secret_problem(secret)
        if problem:
            fields["secret"] = problem
        if not fields and await self.store.staff_member(staff_id) is not None:
            fields["staff_id"] = "这个工号已经有人用了"
        if fields:
            raise InvalidInput("请改正标出的字段", fields)
        member = StaffMember(staff_id=staff_id, name=name.strip(), role=role,
                             secret_hash=await asyncio.to_thread(hash_password, secret), rev=1,
                             changed_at=now_instant(), changed_by=actor.staff_id if actor else None)
        await self.store.save_staff(member)
        log.info("staff added staff_id=%s role=%s by=%s", staff_id, role, actor.staff_id if actor else "cli")
        return member

    async def change(self, actor: StaffMember | None, staff_id: str, *, name: str | None = None,
                     role: str | None = None, secret: str | None = None, is_disabled: bool | None = None
                     ) -> StaffMember:
        """Change a staff member. The lead changes anyone; a clerk only their own secret."""
        member = await self.store.staff_member(staff_id)
        if member is None:
            raise StaffRefused("staff_not_found", staff_id)
        if actor is not None and not (actor.role == "lead" or (actor.staff_id == staff_id and name is None
                                                                and role is None and is_disabled is None)):
            raise StaffRefused("lead_required")
        fields = {}
        if name is not None and (not name.strip() or len(name) > 100):
            fields["name"] = "请填写姓名（最多100个字）"
        if role is not None and role not in STAFF_ROLES:
            fields["role"] = "角色应为 clerk（办事员）或 lead（负责人）"
        if secret is not None and (problem := secret_problem(secret)):
            fields["secret"] = problem
        if fields:
            raise InvalidInput("请改正标出的字段", fields)
        changed = StaffMember(
            staff_id=staff_id, name=name.strip() if name is not None else member.name, role=role or member.role,
            secret_hash=await asyncio.to_thread(hash_password, secret) if secret is not None else member.secret_hash,
            rev=member.rev + 1, changed_at=now_instant(), changed_by=actor.staff_id if actor else None,
            is_disabled=member.is_disabled if is_disabled is None else is_disabled)
        if member.role == "lead" and not member.is_disabled and (changed.role != "lead" or changed.is_disabled):
            await self._keep_a_lead(staff_id)
        await self.store.save_staff(changed)
        if secret is not None:
            await self.store.set_sign_in_failures(staff_id, 0, 0.0)
        log.info("staff changed staff_id=%s rev=%d by=%s", staff_id, changed.rev, actor.staff_id if actor else "cli")
        return changed

    async def _keep_a_lead(self, staff_id: str) -> None:
        leads = [m for m in await self.store.staff_members()
                 if m.role == "lead" and not m.is_disabled and m.staff_id != staff_id]
        if not leads:
            raise InvalidInput("本乡镇至少要有一位在用的负责人", {"role": "这是最后一位负责人"})


def _require_lead(actor: StaffMember | None) -> None:
    if actor is not None and actor.role != "lead":
        raise StaffRefused("lead_required")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def public(member: StaffMember) -> dict[str, object]:
    """A staff member as the page sees them: no hash."""
    return {"staff_id": member.staff_id, "name": member.name, "role": member.role,
            "is_disabled": member.is_disabled, "changed_at": member.changed_at, "changed_by": member.changed_by}
