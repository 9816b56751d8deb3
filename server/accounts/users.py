"""Dashboard accounts and sessions: passwords hashed with scrypt, sessions that end after an idle time.

scrypt (`hashlib.scrypt`, RFC 7914) is memory-hard like argon2 and needs no dependency: n=2**14, r=8, p=1 takes
16 MiB and tens of milliseconds per check, which costs a guesser the same. Unlike agent tokens (256 random bits,
plain sha256 in `server.accounts.agents`), passwords are chosen by people and need the slow hash.

A session token is 256 random bits sent as an HttpOnly cookie; only its sha256 is stored. A session not used for
`[dashboard] session_idle_minutes` ends, and any session `[dashboard] session_max_hours` after its login; its last
use is written at most once a minute.

A new password has at least `MIN_PASSWORD_CHARS` characters and must not be guessable: zxcvbn (the password
strength estimator Dropbox wrote, maintained as a Python package) scores it against its lists of the 30,000 most
common passwords, English words and names, keyboard runs, dates and repeats, with l33t and reversed forms, plus the
account's own name; a score below `MIN_PASSWORD_SCORE` is refused with zxcvbn's reason. A fixed deny-list would
take `password` and `12345678` but let `Password2026!` through.

Failed logins are throttled per name and per address (`server.accounts.throttle`); a disabled account cannot log
in and has no session.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from datetime import UTC, datetime, timedelta

from ops.passwords import hash_password, verify_password
from server.accounts.audit import AuditTrail, details
from server.accounts.roles import COUNTY_ADMIN, Reader, role_problem
from server.accounts.throttle import LoginThrottle
from server.clock import now_iso
from server.errors import ApiError
from server.storage.dashboard import AccountRecord, DashboardStore, SessionRecord

log = logging.getLogger(__name__)

MIN_PASSWORD_CHARS = 12  # OWASP ASVS 4.0 2.1.1
MAX_PASSWORD_CHARS = 128  # ASVS 2.1.2 asks for at least 64; the login body allows longer so that nothing is cut
MIN_PASSWORD_SCORE = 3  # zxcvbn: 3 = "safely unguessable", about 10^8 guesses or more
_ZXCVBN_CHARS = 72  # zxcvbn refuses longer input (its matching is quadratic); the rest only adds strength
TOUCH_EVERY_S = 60  # a session's last use is written at most this often: one write per minute, not per request
NAME_CHARS = 64


def session_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_new_account(name: str, password: str) -> str | None:
    """What is wrong with this name and password for a new account, or None."""
    if not name.strip() or len(name) > NAME_CHARS or name != name.strip():
        return f"the name must be 1 to {NAME_CHARS} characters without leading or trailing spaces"
    return password_problem(name, password)


def password_problem(name: str, password: str) -> str | None:
    """Why `password` may not be the password of account `name`, or None (see the module docstring)."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"the password must have at least {MIN_PASSWORD_CHARS} characters"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"the password must have at most {MAX_PASSWORD_CHARS} characters"
    from zxcvbn import zxcvbn  # its word lists take a while to load: only where passwords are set

    verdict = zxcvbn(password[:_ZXCVBN_CHARS], user_inputs=[name])
    if verdict["score"] < MIN_PASSWORD_SCORE:
        reason = verdict["feedback"]["warning"] or "it is built from common words or patterns"
        return (f"the password is too easy to guess: {reason[0].lower()}{reason[1:].rstrip('.')}. Use a longer "
                "phrase of unrelated words")
    return None


# Checked when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


class Accounts:
    def __init__(self, store: DashboardStore, idle_minutes: int, max_hours: int = 12,
                 throttle: LoginThrottle | None = None, audit: AuditTrail | None = None) -> None:
        self._store = store
        self.idle = timedelta(minutes=idle_minutes)
        self.max_age = timedelta(hours=max_hours)
        self.throttle = throttle
        self.audit = audit

    async def _audit(self, action: str, name: str, address: str, outcome: str, account: AccountRecord | None,
                     detail: str | None = None) -> None:
        if self.audit is not None:
            # A made-up name may be a password typed in the wrong field: an unknown name is not recorded.
            await self.audit.record(action, actor=name if account is not None else "[unknown]", address=address,
                                    outcome=outcome, target=name if account is not None else None,
                                    role=account.role if account is not None else None, detail=detail)

    async def add(self, name: str, password: str, role: str = COUNTY_ADMIN, township: str | None = None
                  ) -> AccountRecord:
        """Create an account with a role (`server.accounts.roles`). Raises ValueError saying what is wrong (bad
        name, password or role, name taken)."""
        problem = role_problem(role, township) or check_new_account(name, password)
        if problem is not None:
            raise ValueError(problem)
        record = AccountRecord(name=name, password_hash=await asyncio.to_thread(hash_password, password),
                               created_at=now_iso(), role=role, township_code=township)
        await self._store.add_account(record)
        log.info("account added name=%s role=%s township=%s", name, role, township or "-")
        return record

    async def list(self) -> list[AccountRecord]:
        return await self._store.list_accounts()

    async def set_password(self, name: str, password: str) -> None:
        problem = check_new_account(name, password)
        if problem is not None:
            raise ValueError(problem)
        if not await self._store.set_password(name, await asyncio.to_thread(hash_password, password)):
            raise ValueError(f"no account named {name!r}")

    async def set_disabled(self, name: str, is_disabled: bool) -> None:
        """Disable an account (its sessions end at once, it cannot log in) or enable it again. Raises ValueError
        when there is no such account."""
        if not await self._store.set_disabled(name, is_disabled):
            raise ValueError(f"no account named {name!r}")
        log.info("account %s name=%s", "disabled" if is_disabled else "enabled", name)

    async def lift_login_lock(self, kind: str, value: str) -> None:
        """End the login lock of a name or an address (`kind`) before its time, and forget its failures: for the
        clerk who mistyped, once an administrator has checked who it was. Raises ValueError when it had none."""
        if not await self._store.lift_login_lock(kind, value):
            raise ValueError(f"no failed logins or lock recorded for {kind} {value!r}")
        log.info("login lock lifted %s=%s", kind, value)

    async def login(self, name: str, password: str, address: str = "local") -> str | None:
        """A new session token for a right name and password, else None (after the same work either way). Raises
        ApiError(login_throttled) while the name or the address is locked, before any password is checked."""
        throttle = self.throttle
        if throttle is not None:
            wait_s = await throttle.retry_after_s(name, address)
            if wait_s is not None:
                await self._audit("login_throttled", name, address, "refused", await self._store.account(name),
                                  details(retry_after_s=wait_s))
                raise ApiError("login_throttled", f"try again in {wait_s} s", retry_after_s=wait_s)
        account = await self._store.account(name)
        stored = account.password_hash if account is not None else _DUMMY_HASH
        is_right = await asyncio.to_thread(verify_password, password, stored)
        if account is None or account.is_disabled or not is_right:
            known = account is not None
            log.warning("login refused name_known=%s address=%s", known, address)
            if throttle is not None:
                for what in await throttle.failed(name, address):
                    # A made-up name may be a password typed in the wrong field: only known names are logged.
                    log.warning("login locked %s=%s lock_s=%d", what,
                                address if what == "address" else (name if known else "[unknown]"),
                                throttle.limits.lock_s)
            reason = "disabled" if account is not None and account.is_disabled and is_right else "wrong_password"
            await self._audit("login_failed", name, address, "refused", account,
                              details(reason=reason if known else "unknown_name"))
            return None
        if throttle is not None:
            await throttle.succeeded(name)
        token = secrets.token_urlsafe(32)
        now = now_iso()
        await self._store.add_session(SessionRecord(session_digest(token), name, now, now))
        log.info("login name=%s address=%s", name, address)
        await self._audit("login", name, address, "ok", account)
        return token

    async def account_of(self, token: str | None, now: datetime | None = None) -> str | None:
        """The account of a live session, or None; a use extends the session."""
        reader = await self.reader_of(token, now)
        return None if reader is None else reader.name

    async def reader_of(self, token: str | None, now: datetime | None = None) -> Reader | None:
        """The account (name, role, township) of a live session, or None; a use extends the session."""
        if not token:
            return None
        digest = session_digest(token)
        session = await self._store.session(digest)
        if session is None:
            return None
        now = now or datetime.now(UTC)
        idle_for = now - datetime.fromisoformat(session.last_seen_at)
        if idle_for > self.idle or now - datetime.fromisoformat(session.created_at) > self.max_age:
            await self._store.end_sessions(token_sha256=digest)
            return None
        if idle_for.total_seconds() > TOUCH_EVERY_S:
            await self._store.touch_session(digest, now.isoformat(timespec="milliseconds"))
        return Reader(session.account, session.role, session.township_code)

    async def logout(self, token: str | None, address: str = "local") -> None:
        if not token:
            return
        reader = await self.reader_of(token)
        await self._store.end_sessions(token_sha256=session_digest(token))
        if reader is not None and self.audit is not None:
            await self.audit.record("logout", actor=reader.name, role=reader.role, address=address,
                                    target=reader.name)

    async def end_idle_sessions(self, now: datetime | None = None) -> int:
        """End the sessions idle too long or opened too long ago; returns how many."""
        now = now or datetime.now(UTC)
        return await self._store.end_sessions(
            idle_before=(now - self.idle).isoformat(timespec="milliseconds"),
            created_before=(now - self.max_age).isoformat(timespec="milliseconds"))
