"""Dashboard accounts and sessions: passwords hashed with scrypt, sessions that end after an idle time.

scrypt (`hashlib.scrypt`, RFC 7914) is memory-hard like argon2 and needs no dependency: n=2**14, r=8, p=1 takes
16 MiB and tens of milliseconds per check, which costs a guesser the same. Unlike agent tokens (256 random bits,
plain sha256 in `server.accounts.agents`), passwords are chosen by people and need the slow hash.

A session token is 256 random bits sent as an HttpOnly cookie; only its sha256 is stored. A session not used for
`[dashboard] session_idle_minutes` ends; its last use is written at most once a minute.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
from datetime import UTC, datetime, timedelta

from server.clock import now_iso
from server.storage.dashboard import AccountRecord, DashboardStore, SessionRecord

log = logging.getLogger(__name__)

SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_BYTES = 2**14, 8, 1, 32
SCRYPT_MAXMEM = 64 * 1024 * 1024
MIN_PASSWORD_CHARS = 8
TOUCH_EVERY_S = 60  # a session's last use is written at most this often: one write per minute, not per request
_NAME_CHARS = 64


def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_BYTES,
                            maxmem=SCRYPT_MAXMEM)
    return "$".join(["scrypt", str(n), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected), maxmem=SCRYPT_MAXMEM)
    except ValueError:
        return False
    return hmac.compare_digest(got, expected)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def session_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_new_account(name: str, password: str) -> str | None:
    """What is wrong with this name and password for a new account, or None."""
    if not name.strip() or len(name) > _NAME_CHARS or name != name.strip():
        return f"the name must be 1 to {_NAME_CHARS} characters without leading or trailing spaces"
    if len(password) < MIN_PASSWORD_CHARS:
        return f"the password must have at least {MIN_PASSWORD_CHARS} characters"
    return None


# Checked when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16), n=SCRYPT_N)


class Accounts:
    def __init__(self, store: DashboardStore, idle_minutes: int) -> None:
        self._store = store
        self.idle = timedelta(minutes=idle_minutes)

    async def add(self, name: str, password: str) -> AccountRecord:
        """Create an account. Raises ValueError saying what is wrong (bad name or password, name taken)."""
        problem = check_new_account(name, password)
        if problem is not None:
            raise ValueError(problem)
        record = AccountRecord(name=name, password_hash=await asyncio.to_thread(hash_password, password),
                               created_at=now_iso())
        await self._store.add_account(record)
        log.info("account added name=%s", name)
        return record

    async def list(self) -> list[AccountRecord]:
        return await self._store.list_accounts()

    async def set_password(self, name: str, password: str) -> None:
        problem = check_new_account(name, password)
        if problem is not None:
            raise ValueError(problem)
        if not await self._store.set_password(name, await asyncio.to_thread(hash_password, password)):
            raise ValueError(f"no account named {name!r}")

    async def login(self, name: str, password: str) -> str | None:
        """A new session token for a right name and password, else None (after the same work either way)."""
        account = await self._store.account(name)
        stored = account.password_hash if account is not None else _DUMMY_HASH
        is_right = await asyncio.to_thread(verify_password, password, stored)
        if account is None or account.is_disabled or not is_right:
            log.warning("login refused name_known=%s", account is not None)
            return None
        token = secrets.token_urlsafe(32)
        now = now_iso()
        await self._store.add_session(SessionRecord(session_digest(token), name, now, now))
        log.info("login name=%s", name)
        return token

    async def account_of(self, token: str | None, now: datetime | None = None) -> str | None:
        """The account of a live session, or None; a use extends the session."""
        if not token:
            return None
        digest = session_digest(token)
        session = await self._store.session(digest)
        if session is None:
            return None
        now = now or datetime.now(UTC)
        idle_for = now - datetime.fromisoformat(session.last_seen_at)
        if idle_for > self.idle:
            await self._store.end_sessions(token_sha256=digest)
            return None
        if idle_for.total_seconds() > TOUCH_EVERY_S:
            await self._store.touch_session(digest, now.isoformat(timespec="milliseconds"))
        return session.account

    async def logout(self, token: str | None) -> None:
        if token:
            await self._store.end_sessions(token_sha256=session_digest(token))

    async def end_idle_sessions(self, now: datetime | None = None) -> int:
        before = (now or datetime.now(UTC)) - self.idle
        return await self._store.end_sessions(idle_before=before.isoformat(timespec="milliseconds"))
