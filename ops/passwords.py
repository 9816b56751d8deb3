"""Secrets people choose (dashboard passwords, staff PINs), hashed with scrypt from the standard library.

scrypt (`hashlib.scrypt`, RFC 7914) is memory-hard like argon2 and needs no dependency: n=2**14, r=8, p=1 takes
16 MiB and tens of milliseconds per check, which costs a guesser the same. Each hash has its own 16-byte random
salt, and the parameters travel with it (`scrypt$n$r$p$salt$digest`), so they can grow without breaking old hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_BYTES = 2**14, 8, 1, 32
SCRYPT_MAXMEM = 64 * 1024 * 1024
MAX_N = 2**20  # a stored hash asking for more is not one of ours


def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_BYTES,
                            maxmem=SCRYPT_MAXMEM)
    return "$".join(["scrypt", str(n), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt" or int(n) > MAX_N or int(r) > 16 or int(p) > 4:
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected), maxmem=SCRYPT_MAXMEM)
    except ValueError:
        return False
    return hmac.compare_digest(got, expected)


def is_scrypt_hash(stored: str) -> bool:
    """The shape of `hash_password`'s output (what the county accepts as a staff member's hash)."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or not all(p.isdigit() for p in parts[1:4]):
        return False
    try:
        return len(base64.b64decode(parts[4], validate=True)) >= 16 and len(base64.b64decode(parts[5],
                                                                                             validate=True)) >= 16
    except ValueError:
        return False


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
