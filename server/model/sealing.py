"""Personal data at rest on the county: ID numbers (cert_no) and phones sealed with AES-GCM, searched by keyed hash.

What is sealed, above storage so that every backend stores only ciphertext: `cert_no` and `phone` in the data of
`accepted` and `updated` events, in every case row's body, and the whole body of a refused event (as sent, it may
hold them and need not even be valid JSON). Everything that reads them back opens them here first: the fold of a
push, the pull that hands events to the township's PCs, the admin's refold and check, the case lists (which then
mask the number as before).

- **Cipher.** AES-256-GCM from `cryptography` (authenticated: a changed byte fails to open, never opens to another
  number), a random 96-bit nonce per value, the field's name as associated data (a sealed phone cannot be passed off
  as an ID number). A sealed value reads `enc1:<key id>:<base64 nonce|ciphertext|tag>`; a value without the prefix
  is one stored before sealing and is read as it is, until `county-server keys seal` seals it.
- **Keys.** A keyring file outside the database (`[privacy] key_file`, mode 0600), one entry per key id: a 256-bit
  cipher key and a 256-bit MAC key. New values are sealed with the current key; `keys rotate` adds a key, makes it
  current and seals every stored value again with it; the old keys stay in the file (marked retired) so that
  backups made before the rotation can still be read with it.
- **Search.** HMAC-SHA256 under the current MAC key of the normalised full ID number and of
  the phone; for the last four characters of an ID number, an HMAC of the township code with them (`tail_hash`),
  so a search needs the township and the column tells nothing without the key: 10,000 tails per township are no
  secret to whoever holds the key, but the database alone, or a backup, gives nothing to count.
"""

from __future__ import annotations

import base64
import hmac
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from protocol.lifecycle import Case

PREFIX = "enc1:"
# A correction (更正) carries the fields it changes and, under "before", what they were: both sealed.
SEALED_KINDS = frozenset({"accepted", "updated", "corrected"})
FIELDS = ("cert_no", "phone")
_NONCE = 12


class SealError(Exception):
    """A sealed value that does not open: unknown key id, or changed bytes."""


@dataclass(frozen=True)
class Key:
    key_id: str
    cipher: bytes  # 32 bytes, AES-256-GCM
    mac: bytes  # 32 bytes, HMAC-SHA256
    retired: bool = False


class KeyFile(msgspec.Struct):
    """The key file's shape (JSON): the current key id and every key, base64."""

    current: str
    keys: dict[str, dict[str, str]]  # key id -> {"cipher", "mac", "retired"?}


MEMO_ENTRIES = 50_000  # values remembered per table below; a full table starts over


@dataclass(frozen=True)
class Keyring:
    """The keys, and what this process sealed, opened and hashed lately: a case's ID number is opened and sealed
    again at every event of the case, and the same value keeps the same ciphertext (what the hash columns reveal
    about equal values anyway), so ingest does not pay AES and HMAC again for it."""

    current: Key
    keys: dict[str, Key]
    _sealed: dict[tuple[str, str], str] = dataclass_field(default_factory=dict, compare=False, repr=False)
    _opened: dict[tuple[str, str], str] = dataclass_field(default_factory=dict, compare=False, repr=False)
    _hashes: dict[tuple[str, str], str] = dataclass_field(default_factory=dict, compare=False, repr=False)
    _ciphers: dict[str, AESGCM] = dataclass_field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def new(cls, key_id: str = "k1") -> Keyring:
        key = Key(key_id, os.urandom(32), os.urandom(32))
        return cls(key, {key_id: key})

    def rotated(self) -> Keyring:
        """A keyring with a new current key; the others stay, retired, to read what was sealed with them."""
        n = 1 + max(int(k[1:]) for k in self.keys if k[1:].isdigit()) if self.keys else 1
        key = Key(f"k{n}", os.urandom(32), os.urandom(32))
        old = {i: Key(k.key_id, k.cipher, k.mac, True) for i, k in self.keys.items()}
        return Keyring(key, {**old, key.key_id: key})

    # ---- file form -----------------------------------------------------------------------------------------

    def to_json(self) -> bytes:
        keys = {k.key_id: {"cipher": _b64(k.cipher), "mac": _b64(k.mac), **({"retired": "1"} if k.retired else {})}
                for k in self.keys.values()}
        return msgspec.json.format(msgspec.json.encode(KeyFile(self.current.key_id, keys)), indent=2)

    @classmethod
    def from_json(cls, raw: bytes) -> Keyring:
        doc = msgspec.json.decode(raw, type=KeyFile)
        keys = {i: Key(i, base64.b64decode(k["cipher"]), base64.b64decode(k["mac"]), bool(k.get("retired")))
                for i, k in doc.keys.items()}
        if doc.current not in keys or any(len(k.cipher) != 32 or len(k.mac) != 32 for k in keys.values()):
            raise ValueError("key file: the current key is missing, or a key is not 256 bits")
        return cls(keys[doc.current], keys)

    # ---- values --------------------------------------------------------------------------------------------

    def seal(self, text: str, field: str) -> str:
        found = self._sealed.get((field, text))
        if found is not None:
            return found
        nonce = os.urandom(_NONCE)
        packed = nonce + self._aes(self.current).encrypt(nonce, text.encode(), field.encode())
        sealed = f"{PREFIX}{self.current.key_id}:{_b64(packed)}"
        self._remember(field, text, sealed)
        return sealed

    def _remember(self, field: str, text: str, sealed: str) -> None:
        if len(self._opened) >= MEMO_ENTRIES:
            self._opened.clear()
            self._sealed.clear()
        self._opened[(field, sealed)] = text
        self._sealed[(field, text)] = sealed

    def open(self, value: str, field: str) -> str:
        if not value.startswith(PREFIX):
            return value  # stored before sealing
        found = self._opened.get((field, value))
        if found is not None:
            return found
        clear = self._open(value, field)
        if self.is_current(value):
            self._remember(field, clear, value)
        return clear

    def _aes(self, key: Key) -> AESGCM:
        found = self._ciphers.get(key.key_id)
        if found is None:
            found = self._ciphers[key.key_id] = AESGCM(key.cipher)
        return found

    def _open(self, value: str, field: str) -> str:
        key_id, _, packed = value[len(PREFIX):].partition(":")
        key = self.keys.get(key_id)
        if key is None:
            raise SealError(f"{field} sealed with key {key_id!r}, which the key file does not have")
        raw = base64.b64decode(packed)
        try:
            return self._aes(key).decrypt(raw[:_NONCE], raw[_NONCE:], field.encode()).decode()
        except InvalidTag:
            raise SealError(f"{field} sealed with key {key_id!r} does not open: changed or another field") from None

    def is_current(self, value: str) -> bool:
        return value.startswith(f"{PREFIX}{self.current.key_id}:")

    # ---- search --------------------------------------------------------------------------------------------

    def hashes(self, field: str, text: str) -> list[str]:
        """The search hashes of `text` under every key (the current one first): rows sealed before a rotation
        finished are found too."""
        keys = [self.current, *(k for k in self.keys.values() if k is not self.current)]
        return [_mac(k.mac, field, normalise(field, text)) for k in keys]

    def hash(self, field: str, text: str) -> str:
        found = self._hashes.get((field, text))
        if found is None:
            if len(self._hashes) >= MEMO_ENTRIES:
                self._hashes.clear()
            found = self._hashes[(field, text)] = _mac(self.current.mac, field, normalise(field, text))
        return found

    def tail_hashes(self, township_code: str, last4: str) -> list[str]:
        return self.hashes("cert_tail", f"{township_code}|{last4.upper()}")

    def tail_hash(self, township_code: str, cert_no: str) -> str:
        return self.hash("cert_tail", f"{township_code}|{cert_no[-4:].upper()}")


def normalise(field: str, text: str) -> str:
    """What a search compares: an ID number in upper case, a phone without spaces, hyphens and +86."""
    text = text.strip()
    if field == "phone":
        text = text.replace(" ", "").replace("-", "")
        return text[3:] if text.startswith("+86") else text
    return text.upper()


def _mac(key: bytes, field: str, text: str) -> str:
    return hmac.digest(key, f"{field}|{text}".encode(), "sha256").hex()  # one-shot: OpenSSL's, in C


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# ---- what is sealed: event data, case bodies, refused events -------------------------------------------------

_dict = msgspec.json.Decoder(dict)
_encode = msgspec.json.encode


def seal_event_data(keys: Keyring, kind: str, data: bytes) -> bytes:
    """An event's data JSON with cert_no and phone sealed (other kinds carry neither: as they are)."""
    return _each_field(kind, data, lambda v, f: None if keys.is_current(v) else keys.seal(keys.open(v, f), f))


def open_event_data(keys: Keyring, kind: str, data: bytes) -> bytes:
    return _each_field(kind, data, lambda v, f: keys.open(v, f) if v.startswith(PREFIX) else None)


def _each_field(kind: str, data: bytes, change: Callable[[str, str], str | None]) -> bytes:
    """`data` with each personal field's value replaced by `change(value, field)` (None: kept); the same bytes when
    nothing changed."""
    if kind not in SEALED_KINDS:
        return data
    doc = _dict.decode(data)
    changed = False
    for part in (doc, doc.get("before")):
        if not isinstance(part, dict):
            continue
        for field in FIELDS:
            value = part.get(field)
            if isinstance(value, str) and value and (new := change(value, field)) is not None:
                part[field] = new
                changed = True
    return _encode(doc) if changed else data


def seal_case(keys: Keyring, case: Case) -> Case:
    cert = case.cert_no if keys.is_current(case.cert_no) else keys.seal(keys.open(case.cert_no, "cert_no"),
                                                                          "cert_no")
    phone = case.phone
    if phone and not keys.is_current(phone):
        phone = keys.seal(keys.open(phone, "phone"), "phone")
    return msgspec.structs.replace(case, cert_no=cert, phone=phone)


def open_case(keys: Keyring, case: Case) -> Case:
    if not case.cert_no.startswith(PREFIX) and not (case.phone or "").startswith(PREFIX):
        return case
    return msgspec.structs.replace(case, cert_no=keys.open(case.cert_no, "cert_no"),
                                   phone=keys.open(case.phone, "phone") if case.phone else case.phone)


class SearchKeys(msgspec.Struct, frozen=True):
    """A case's search hashes, stored beside it (the columns cert_hash, phone_hash, tail_hash)."""

    cert: str
    tail: str
    phone: str | None = None


def search_keys(keys: Keyring, case: Case) -> SearchKeys:
    """Of a case in clear."""
    return SearchKeys(cert=keys.hash("cert_no", case.cert_no), tail=keys.tail_hash(case.org_code[:9], case.cert_no),
                      phone=keys.hash("phone", case.phone) if case.phone else None)


REFUSAL_FIELD = "refused_event"


def seal_blob(keys: Keyring, raw: bytes) -> bytes:
    """A refused event as sent (any bytes) as a JSON string that holds it sealed."""
    if raw.startswith(b'"' + PREFIX.encode()):
        text = msgspec.json.decode(raw, type=str)
        if keys.is_current(text):
            return raw
        raw = keys.open(text, REFUSAL_FIELD).encode()
    return _encode(keys.seal(raw.decode("utf-8", "replace"), REFUSAL_FIELD))


def open_blob(keys: Keyring, raw: bytes) -> bytes:
    if not raw.startswith(b'"' + PREFIX.encode()):
        return raw
    return keys.open(msgspec.json.decode(raw, type=str), REFUSAL_FIELD).encode()


def all_fields(values: Iterable[str | None]) -> bool:
    """Whether every one of these stored values is sealed (for checks and tests)."""
    return all(v is None or v.startswith(PREFIX) for v in values)


def opened_certificate(keys: Keyring | None, cert_no: str) -> str:
    """A stored certificate number in clear, to be masked for a list: sealed ones opened; one that does not open
    (a key file that is not this database's) reads as such, never as ciphertext."""
    if keys is None or not cert_no.startswith(PREFIX):
        return cert_no
    try:
        return keys.open(cert_no, "cert_no")
    except SealError:
        return "（无法解密）"

