"""Certificate and phone checks. Check characters are computed here by an independent route (the ISO 7064 and
GB 32100 definitions as powers of 2 mod 11 and 3 mod 31), not with the module's weight tables."""

from datetime import date

import pytest

from protocol.certificates import (
    CERT_TYPES,
    CREDIT_CODE,
    HK_MACAO_PERMIT,
    MESSAGES,
    OTHER,
    PASSPORT,
    RESIDENT_ID,
    check_certificate,
    check_credit_code,
    check_phone,
    check_resident_id,
    mask_certificate,
    normalise_certificate,
)

CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
TODAY = date(2026, 3, 2)


def id_check(first17: str) -> str:
    # ISO 7064 MOD 11-2: sum(a_i * 2^(i-1)) over all 18 positions, counted from the right, is 1 mod 11.
    total = sum(int(c) * pow(2, 17 - k, 11) for k, c in enumerate(first17))
    value = (1 - total) % 11
    return "X" if value == 10 else str(value)


def credit_check(first17: str) -> str:
    # GB 32100: weights are 3^i mod 31; the check makes the weighted sum 0 mod 31.
    total = sum(CREDIT_CHARSET.index(c) * pow(3, k, 31) for k, c in enumerate(first17))
    return CREDIT_CHARSET[-total % 31]


def with_id_check(first17: str) -> str:
    return first17 + id_check(first17)


def with_credit_check(first17: str) -> str:
    return first17 + credit_check(first17)


VALID_IDS = [
    "11010519491231002X",  # the GB 11643-1999 example
    with_id_check("51342219850615123"),  # 木里 513422
    with_id_check("51342220000229004"),  # a leap day
    with_id_check("51342220260302001"),  # born today
    with_id_check("51342218500101001"),  # the earliest birth date accepted
]

VALID_CREDIT_CODES = [
    "91350100M000100Y43",  # the example published with GB 32100
    with_credit_check("91513422MA62A0001"),  # 9: market regulation, a Muli company
    with_credit_check("Y1513422MJ0000001"),  # Y: other registration authorities
    with_credit_check("N2513422MF0000001"),  # N: agriculture (农村集体经济组织)
    with_credit_check("A1100000MB0000001"),  # A: 中央军委改革和编制办公室
    with_credit_check("12513422452000001"),  # 1: public institution (事业单位)
]


def other_chars(alphabet: str, c: str) -> list[str]:
    return [x for x in alphabet if x != c]


# --- resident ID -----------------------------------------------------------------------------------------------


def test_the_independent_check_agrees_with_the_standard_example():
    assert id_check("11010519491231002") == "X"


@pytest.mark.parametrize("number", VALID_IDS)
def test_valid_resident_ids(number):
    assert check_resident_id(number, TODAY) is None


@pytest.mark.parametrize("number", VALID_IDS)
def test_every_other_check_character_is_refused(number):
    for c in other_chars("0123456789X", number[-1]):
        assert check_resident_id(number[:17] + c, TODAY) == MESSAGES["resident_id.check_digit"]


def test_lower_case_x_spaces_and_full_width_digits_are_accepted_and_normalised():
    assert check_resident_id("11010519491231002x") is None
    assert check_resident_id(" 110105 19491231 002X ") is None
    assert check_resident_id("１１０１０５１９４９１２３１００２Ｘ") is None
    assert normalise_certificate(RESIDENT_ID, "１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"


OLD_15_DIGIT_ID = "110105491231002"


@pytest.mark.parametrize(
    "number", ["", "1101051949123100", "11010519491231002", "11010519491231002X1", OLD_15_DIGIT_ID]
)
def test_wrong_lengths(number):
    assert check_resident_id(number, TODAY) == MESSAGES["resident_id.length"]


ARABIC_INDIC_ONE = "\u0661"  # str.isdigit() and re's \d both accept it


@pytest.mark.parametrize(
    "number", ["1101051949123100XX", "A1010519491231002X", "11010519491231002Y", ARABIC_INDIC_ONE + "1010519491231002X"]
)
def test_wrong_characters(number):
    assert check_resident_id(number, TODAY) == MESSAGES["resident_id.characters"]


@pytest.mark.parametrize("birth", ["19490231", "19000229", "19491331", "19490000", "18491231"])
def test_impossible_birth_dates(birth):
    number = with_id_check("110105" + birth + "002")
    assert check_resident_id(number, TODAY) == MESSAGES["resident_id.birth_date"]


def test_a_birth_date_after_today_is_refused():
    number = with_id_check("51342220260303001")
    assert check_resident_id(number, TODAY) == MESSAGES["resident_id.birth_future"]
    assert check_resident_id(number, date(2026, 3, 3)) is None


# --- unified social credit code ----------------------------------------------------------------------------------


def test_the_independent_check_agrees_with_the_published_example():
    assert credit_check("91350100M000100Y4") == "3"


@pytest.mark.parametrize("code", VALID_CREDIT_CODES)
def test_valid_credit_codes_including_ones_starting_with_a_letter(code):
    assert check_credit_code(code) is None


@pytest.mark.parametrize("code", VALID_CREDIT_CODES)
def test_every_other_credit_check_character_is_refused(code):
    for c in other_chars(CREDIT_CHARSET, code[-1]):
        assert check_credit_code(code[:17] + c) == MESSAGES["credit_code.check_digit"]


def test_lower_case_credit_codes_are_accepted():
    assert check_credit_code("91350100m000100y43") is None
    assert normalise_certificate(CREDIT_CODE, " 91350100m000100y43 ") == "91350100M000100Y43"


@pytest.mark.parametrize("code", ["", "91350100M000100Y4", "91350100M000100Y433"])
def test_credit_code_lengths(code):
    assert check_credit_code(code) == MESSAGES["credit_code.length"]


@pytest.mark.parametrize("letter", "IOZSV-_")
def test_letters_the_standard_leaves_out_are_refused(letter):
    assert check_credit_code("91350100M" + letter + "00100Y43") == MESSAGES["credit_code.characters"]


# --- phone -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        "13800138000",
        "19912345678",
        "+8613800138000",
        "138 0013 8000",
        "０８３４-６５２３４５６",
        "0834-6523456",
        "08346523456",
        "010-12345678",
        "0834-6523456-123",
        "0834-6523456转8",
    ],
)
def test_valid_phones(phone):
    assert check_phone(phone) is None


@pytest.mark.parametrize(
    "phone", ["", "12800138000", "1380013800", "138001380000", "834-6523456", "0834-652345", "phone", "1380013800a"]
)
def test_invalid_phones(phone):
    assert check_phone(phone) == MESSAGES["phone.format"]


# --- dispatch, normalising, masking ------------------------------------------------------------------------------


def test_every_cert_type_has_a_chinese_label():
    assert set(CERT_TYPES) == {RESIDENT_ID, CREDIT_CODE, PASSPORT, HK_MACAO_PERMIT, OTHER}


@pytest.mark.parametrize(
    ("cert_type", "number", "problem"),
    [
        (RESIDENT_ID, "11010519491231002x", None),
        (RESIDENT_ID, "110105194912310021", "resident_id.check_digit"),
        (CREDIT_CODE, "Y1513422MJ0000001" + credit_check("Y1513422MJ0000001"), None),
        (CREDIT_CODE, "91350100M000100Y44", "credit_code.check_digit"),
        (PASSPORT, "e12345678", None),
        (PASSPORT, "1234", "passport.format"),
        (PASSPORT, "E1234567890123456X", "passport.format"),
        (PASSPORT, "E1234-678", "passport.format"),
        (HK_MACAO_PERMIT, "H12345678", None),
        (HK_MACAO_PERMIT, "m1234567890", None),
        (HK_MACAO_PERMIT, "C12345678", "hk_macao_permit.format"),
        (HK_MACAO_PERMIT, "H123456789", "hk_macao_permit.format"),
        (OTHER, " 军官证 12345 ", None),
        (OTHER, "   ", "other.empty"),
        (OTHER, "x" * 41, "other.length"),
        ("driving_licence", "123", "cert_type.unknown"),
    ],
)
def test_check_certificate_dispatches_by_type(cert_type, number, problem):
    expected = None if problem is None else MESSAGES[problem]
    assert check_certificate(cert_type, number, TODAY) == expected


def test_normalising_keeps_inner_spaces_only_for_other():
    assert normalise_certificate(OTHER, " 军官证 12345 ") == "军官证 12345"
    assert normalise_certificate(PASSPORT, " e 1234 5678 ") == "E12345678"


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("11010519491231002X", "110105********002X"),
        ("91350100M000100Y43", "913501********0Y43"),
        ("E12345678", "E1*****78"),
        ("12345", "12*45"),
        ("1234", "****"),
        ("", ""),
    ],
)
def test_masking_never_shows_the_whole_number(number, masked):
    assert mask_certificate(number) == masked
