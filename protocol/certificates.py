"""Applicant certificate numbers (证件号码) and phone numbers: normalise, check, mask.

Each `check_*` function returns None for a valid value, or a message in plain Simplified Chinese that the window
clerk can act on. The messages live in `MESSAGES`, keyed by a stable English key, so other code and tests can refer
to them without repeating the text.

Checks run on the normalised form (`normalise_certificate`): NFKC folds full-width characters typed through a
Chinese input method (１２３Ｘ) to ASCII, whitespace is removed and letters are upper-cased. Store the normalised form.
Patterns use explicit ASCII classes because Python's `\\d` and `str.isdigit` also accept other scripts' digits.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

RESIDENT_ID = "resident_id"  # 居民身份证
CREDIT_CODE = "credit_code"  # 统一社会信用代码
PASSPORT = "passport"  # 护照
HK_MACAO_PERMIT = "hk_macao_permit"  # 港澳居民来往内地通行证 (回乡证): what HK/Macao residents apply with
OTHER = "other"  # 其他证件

CERT_TYPES: dict[str, str] = {
    RESIDENT_ID: "居民身份证",
    CREDIT_CODE: "统一社会信用代码",
    PASSPORT: "护照",
    HK_MACAO_PERMIT: "港澳居民来往内地通行证",
    OTHER: "其他证件",
}

MESSAGES: dict[str, str] = {
    "resident_id.length": "身份证号码应为18位",
    "resident_id.characters": "身份证号码前17位应为数字,最后一位为数字或X",
    "resident_id.birth_date": "身份证号码中的出生日期(第7至14位)不是有效日期",
    "resident_id.birth_future": "身份证号码中的出生日期晚于今天,请核对",
    "resident_id.check_digit": "身份证号码校验位错误,请核对最后一位",
    "credit_code.length": "统一社会信用代码应为18位",
    "credit_code.characters": "统一社会信用代码只能包含数字和大写字母(不含I、O、Z、S、V)",
    "credit_code.check_digit": "统一社会信用代码校验位错误,请核对最后一位",
    "phone.format": "电话号码格式不正确:手机号为11位,固定电话需带区号(如0834-1234567)",
    "passport.format": "护照号码应为5至17位字母或数字",
    "hk_macao_permit.format": "港澳居民来往内地通行证号码应为H或M加8位或10位数字",
    "other.empty": "请填写证件号码",
    "other.length": "证件号码不能超过40个字符",
    "cert_type.unknown": "未知的证件类型",
}

# GB 11643-1999 §5.2: ISO 7064 MOD 11-2 over the first 17 digits.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"  # indexed by the weighted sum mod 11
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
# A birth year before this is a typo, not a person; wide enough for a deceased applicant's estate case.
_ID_EARLIEST_BIRTH = date(1850, 1, 1)

# GB 32100-2015 §4: 31 characters, I O Z S V left out because they read like 1 0 2 5 U.
_CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_MOBILE = re.compile(r"(?:\+?86)?1[3-9][0-9]{9}")
_LANDLINE = re.compile(r"0[0-9]{2,3}-?[0-9]{7,8}(?:(?:-|转|#)[0-9]{1,6})?")
_PASSPORT = re.compile(r"[A-Z0-9]{5,17}")
# New cards: H/M + 8 digits; cards issued before 2013 carry 10 digits.
_HK_MACAO_PERMIT = re.compile(r"[HM](?:[0-9]{8}|[0-9]{10})")
_OTHER_MAX_CHARS = 40  # the wire field cert_no is capped at 40 (protocol/messages.py)
_WHITESPACE = re.compile(r"\s+")


def _fold(s: str) -> str:
    return unicodedata.normalize("NFKC", s)


def normalise_certificate(cert_type: str, number: str) -> str:
    """The stored form: NFKC, upper-case; whitespace removed, except inside an "other" number (only stripped)."""
    folded = _fold(number).strip().upper()
    return folded if cert_type == OTHER else _WHITESPACE.sub("", folded)


def resident_id_check_char(first17: str) -> str:
    """The GB 11643 check character for 17 digits."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 check character for 17 characters of the code's charset."""
    total = sum(_CREDIT_CHARSET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_CHARSET[(31 - total % 31) % 31]  # 31 - 0 = 31 wraps to '0'


def check_resident_id(s: str, today: date | None = None) -> str | None:
    """GB 11643 18-digit resident ID: shape, birth date (real, not after `today`), check character.

    Lower-case x is accepted. The 6-digit region code is not checked: codes of abolished counties stay valid on
    the IDs issued under them, and the check character already catches a mistyped digit.
    """
    s = normalise_certificate(RESIDENT_ID, s)
    if len(s) != 18:
        return MESSAGES["resident_id.length"]
    if not _ID_SHAPE.fullmatch(s):
        return MESSAGES["resident_id.characters"]
    try:
        born = date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return MESSAGES["resident_id.birth_date"]
    if born < _ID_EARLIEST_BIRTH:
        return MESSAGES["resident_id.birth_date"]
    if born > (today or date.today()):
        return MESSAGES["resident_id.birth_future"]
    if resident_id_check_char(s[:17]) != s[17]:
        return MESSAGES["resident_id.check_digit"]
    return None


def check_credit_code(s: str) -> str | None:
    """GB 32100 unified social credit code: 18 characters of the charset, check character.

    The first character (登记管理部门, registration authority) is deliberately not limited to digits: 1-9, A
    (中央军委改革和编制办公室), N (农业, e.g. 农村集体经济组织) and Y (其他) all issue valid codes; one popular
    library rejects the letters.
    """
    s = normalise_certificate(CREDIT_CODE, s)
    if len(s) != 18:
        return MESSAGES["credit_code.length"]
    if any(c not in _CREDIT_CHARSET for c in s):
        return MESSAGES["credit_code.characters"]
    if credit_code_check_char(s[:17]) != s[17]:
        return MESSAGES["credit_code.check_digit"]
    return None


def normalise_phone(s: str) -> str:
    """The stored form: NFKC (full-width digits of an input method as ASCII), whitespace removed."""
    return _WHITESPACE.sub("", _fold(s))


def check_phone(s: str) -> str | None:
    """Mainland mobile 1[3-9] + 9 digits (optional +86), or landline with area code and optional extension."""
    s = normalise_phone(s)
    if _MOBILE.fullmatch(s) or _LANDLINE.fullmatch(s):
        return None
    return MESSAGES["phone.format"]


def check_certificate(cert_type: str, number: str, today: date | None = None) -> str | None:
    """Check `number` as a certificate of `cert_type` (one of CERT_TYPES), after normalising it."""
    n = normalise_certificate(cert_type, number)
    if cert_type == RESIDENT_ID:
        return check_resident_id(n, today)
    if cert_type == CREDIT_CODE:
        return check_credit_code(n)
    if cert_type == PASSPORT:
        return None if _PASSPORT.fullmatch(n) else MESSAGES["passport.format"]
    if cert_type == HK_MACAO_PERMIT:
        return None if _HK_MACAO_PERMIT.fullmatch(n) else MESSAGES["hk_macao_permit.format"]
    if cert_type == OTHER:
        if not n:
            return MESSAGES["other.empty"]
        return None if len(n) <= _OTHER_MAX_CHARS else MESSAGES["other.length"]
    return MESSAGES["cert_type.unknown"]


def mask_certificate(number: str) -> str:
    """For display: keep the first 6 and last 4 characters, mask the rest with *.

    A number of 10 characters or fewer keeps only its first 2 and last 2 (6 + 4 would show it all); one of 4 or
    fewer is masked entirely.
    """
    n = len(number)
    if n > 10:
        head, tail = 6, 4
    elif n > 4:
        head, tail = 2, 2
    else:
        head, tail = 0, 0
    return number[:head] + "*" * (n - head - tail) + number[n - tail :]
