"""What a dashboard search for a case looks for: one box takes a case number, a name, a certificate number (whole or
its last 4 characters) or a phone number, as staff type them. Pure; the store matches the keys (`search_cases`).

Typed text is folded as on the township page (NFKC: full-width digits of a Chinese input method become ASCII;
letters upper-cased, spaces and dashes inside numbers dropped), so １２３４ finds what 1234 finds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import msgspec

from protocol.certificates import normalise_phone
from server.model.sealing import Keyring

MAX_QUERY = 100
_TAIL = re.compile(r"[0-9]{3}[0-9X]")  # the last 4 characters of a resident ID (the check character may be X)
_NUMBER = re.compile(r"[0-9A-Z]+")
_PHONE = re.compile(r"\+?[0-9][0-9-]{6,19}")


class CaseSearch(msgspec.Struct, frozen=True):
    """The keys one query is matched against; any key that is set may match (OR)."""

    text: str  # the query as folded, for the message
    case_no: str | None = None  # a case number or its beginning (at least 6 characters)
    cert_no: str | None = None  # a whole certificate number
    cert_tail: str | None = None  # the last 4 characters of one
    phone: str | None = None
    name: str | None = None  # an applicant's name or its beginning
    # The same keys as the county stores them when ID numbers and phones are sealed (`server.model.sealing`): keyed
    # hashes, one per key of the keyring (so a rotation keeps finding older rows); `sealed` drops the clear ones.
    cert_hashes: tuple[str, ...] = ()
    tail_hashes: tuple[str, ...] = ()
    phone_hashes: tuple[str, ...] = ()


def sealed(search: CaseSearch, keys: Keyring, townships: Iterable[str]) -> CaseSearch:
    """`search` as the county matches it where ID numbers and phones are sealed: the keyed hashes of the certificate
    number, of its last 4 in each of `townships` (9-digit codes: the tail hash is per township) and of the phone,
    under every key of the ring, instead of the clear values."""
    return msgspec.structs.replace(
        search, cert_no=None, cert_tail=None, phone=None,
        cert_hashes=tuple(keys.hashes("cert_no", search.cert_no)) if search.cert_no else (),
        tail_hashes=tuple(h for t in sorted(set(townships)) for h in keys.tail_hashes(t, search.cert_tail))
        if search.cert_tail else (),
        phone_hashes=tuple(keys.hashes("phone", search.phone)) if search.phone else ())


def parse_search(query: str) -> CaseSearch | None:
    """The keys of `query`; None when it is empty after folding. Raises ValueError (Chinese) when too long."""
    text = unicodedata.normalize("NFKC", query).strip()
    if len(text) > MAX_QUERY:
        raise ValueError(f"搜索内容不能超过{MAX_QUERY}个字")
    if not text:
        return None
    number = re.sub(r"[\s-]", "", text).upper()
    if not _NUMBER.fullmatch(number) and not _PHONE.fullmatch(normalise_phone(text)):  # a name
        return CaseSearch(text=text, name=text)
    if len(number) == 4:
        return CaseSearch(text=text, cert_tail=number if _TAIL.fullmatch(number) else None, name=text)
    phone = normalise_phone(text)  # as stored: mobile digits, a landline with its dash
    return CaseSearch(text=text, case_no=number if len(number) >= 6 else None, cert_no=number,
                      phone=phone if _PHONE.fullmatch(phone) else None, name=text)
