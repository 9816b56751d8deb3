"""What staff type in the search box, read as the case fields it may mean. Pure.

One box finds a case by its number, part of the applicant's name, the certificate number, its last 4 characters
(the tail of an ID number that residents quote), or the phone number. Text from a Chinese input method comes
full-width (１３８０…); it is folded to ASCII first (NFKC), as certificate numbers and phones are when stored.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_SPACES_AND_HYPHENS = re.compile(r"[\s-]")
_LAST4 = re.compile(r"\d{3}[\dX]")
_PHONE = re.compile(r"(?:\+86)?(\d{7,})")


@dataclass(frozen=True)
class CaseQuery:
    """`text`: a case number (whole) or part of a name; `cert`: a certificate number (whole); `last4`: the last 4
    characters of a certificate number; `phone`: a whole phone number without hyphens and +86 (13800000000 also finds
    +8613800000000, 08341234567 finds 0834-1234567)."""

    text: str
    cert: str
    last4: str | None = None
    phone: str | None = None


def case_query(typed: str) -> CaseQuery | None:
    """The query for what was typed; None for an empty box."""
    text = unicodedata.normalize("NFKC", typed).strip()
    if not text:
        return None
    compact = _SPACES_AND_HYPHENS.sub("", text).upper()  # 110105 19491231 002X, 138 0000 0000, 0834-1234567
    phone = _PHONE.fullmatch(compact)
    return CaseQuery(text=text, cert=compact, last4=compact if _LAST4.fullmatch(compact) else None,
                     phone=phone.group(1) if phone else None)
