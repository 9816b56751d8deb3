"""Agent tokens and their township scope; the admin token.

An agent token is `<agent_id>.<secrets.token_urlsafe(32)>` with agent_id `<9-digit township>-<6 hex>`. Only
sha256(token) is stored: the token carries 256 random bits, so its hash cannot be reversed or brute-forced, and a
slow password hash (argon2, bcrypt), which exists to protect low-entropy human passwords, would only add latency to
every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from server.clock import now_iso
from server.errors import UnknownTownship
from server.model.reference import Reference
from server.storage.base import AgentRecord, Store

# A token is 80 characters or less; a longer bearer value is not hashed, just refused.
MAX_TOKEN_CHARS = 200


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def township_code9(code: str) -> str:
    """Accepts a township as 9 digits or as its 12-digit code (trailing 000)."""
    if len(code) == 12 and code.endswith("000"):
        return code[:9]
    return code


def known_township(reference: Reference, township: str) -> str:
    """The 9-digit code of a township of the org units (given as 9 or 12 digits). Raises UnknownTownship: for a
    county's (prefecture's) own code too, whose hall's PCs are added by `register_unit_agent`."""
    code9 = township_code9(township)
    if not (len(code9) == 9 and code9.isdigit()) or reference.township(code9) is None:
        hall = reference.hall(code9) if code9.isdigit() else None
        if hall is not None:
            raise UnknownTownship(f"{township} is the code of {hall.name} itself, not of a township: add a PC of "
                                  f"its service hall with --unit {hall.code}")
        raise UnknownTownship(f"township {township!r} is not in the county's org units; known: {_known(reference)}")
    return code9


async def register_agent(store: Store, reference: Reference, township: str, name: str) -> tuple[AgentRecord, str]:
    """Create an agent bound to `township`; returns (record, token). The token is not stored and cannot be shown
    again. Raises UnknownTownship for a code that is not a township of the org units."""
    return await _register(store, known_township(reference, township), name)


async def register_unit_agent(store: Store, reference: Reference, unit: str, name: str) -> tuple[AgentRecord, str]:
    """Create an agent of the org unit `unit` (12 digits): a service hall (县/州/省政务服务大厅; its cases are
    handled at that code) or a township's centre. Raises UnknownTownship for any other code."""
    if not (len(unit) == 12 and unit.isdigit()) or reference.desk(unit[:9]) is None or unit[9:] != "000":
        halls = ", ".join(f"{u.code} {u.name}" for u in reference.org_units.values() if reference.hall(u.code))
        raise UnknownTownship(f"unit {unit!r} has no PCs of its own: give a service hall's 12-digit code "
                              f"({halls or 'none in the org units: set its kind to hall'}) or a township's "
                              f"centre (…000); townships: {_known(reference)}")
    return await _register(store, unit[:9], name)


def _known(reference: Reference) -> str:
    return ", ".join(f"{u.code[:9]} {u.name}" for u in sorted(reference.townships(), key=lambda u: u.code))


async def _register(store: Store, code9: str, name: str) -> tuple[AgentRecord, str]:
    agent_id = f"{code9}-{secrets.token_hex(3)}"
    token = f"{agent_id}.{secrets.token_urlsafe(32)}"
    record = AgentRecord(agent_id=agent_id, township_code=code9, name=name, created_at=now_iso())
    await store.add_agent(record, hash_token(token))
    return record, token


async def rotate_token(store: Store, agent_id: str) -> str | None:
    """A new token for `agent_id` (same identity, same seqs); the old one stops working at once. It also re-admits
    a revoked agent. Returns None when there is no such agent."""
    token = f"{agent_id}.{secrets.token_urlsafe(32)}"
    return token if await store.replace_agent_token(agent_id, hash_token(token)) else None


async def revoke_agent(store: Store, agent_id: str) -> bool:
    """Revoke `agent_id`: its token is refused from the next request on (`agent_revoked`), its events stay. False
    when there is no such agent."""
    return await store.revoke_agent(agent_id, now_iso())


class Authenticator:
    """Maps bearer tokens to agents. Every request looks its token up (one indexed read): agents are added, rotated
    and revoked by the CLI, another process, and a revoked token must stop working at once."""

    def __init__(self, store: Store, admin_token: str) -> None:
        self._store = store
        self._admin_token = admin_token

    async def agent(self, token: str | None) -> AgentRecord | None:
        """The agent of `token`, revoked ones included (the caller refuses those with `agent_revoked`)."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        return await self._store.agent_by_token_sha256(hash_token(token))

    def is_admin(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self._admin_token.encode())
