"""What a dashboard search for a case looks for: one box takes a case number, a name, a certificate number (whole or
its last 4 characters) or a phone number, as staff type them. Pure; the store matches the keys (`search_cases`).

Typed text is folded as on the township page (NFKC: full-width digits of a Chinese input method become ASCII;
letters upper-cased, spaces and dashes inside numbers dropped), so １２３４ finds what 1234 finds.
"""

from __future__ import annotations

import re
import unicodedata

import msgspec

from protocol.certificates import normalise_phone

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


def sealed(search: CaseSearch, cert_hashes: tuple[str, ...], tail_hashes: tuple[str, ...],
           phone_hashes: tuple[str, ...]) -> CaseSearch:
    """`search` matching the stored hashes instead of the clear certificate number, its last 4 and the phone."""
    return msgspec.structs.replace(search, cert_no=None, cert_tail=None, phone=None, cert_hashes=cert_hashes,
                                   tail_hashes=tail_hashes, phone_hashes=phone_hashes)


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
