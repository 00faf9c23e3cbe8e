"""Identifier check digits (GB 11643 身份证号, GB 32100 统一社会信用代码) and display masking.

Real-format examples pin the arithmetic; Hypothesis checks the property that matters to a clerk:
a correctly computed check character validates, and any single mistyped character is caught.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongban.core.identifiers import (
    USCC_ALPHABET,
    InvalidIdentifier,
    birth_date_from_id_number,
    check_division_code,
    check_id_number,
    check_uscc,
    id_number_check_char,
    is_valid_id_number,
    is_valid_uscc,
    org_code_check_char,
    uscc_check_char,
)
from tongban.core.masking import mask_id_number, mask_mobile, mask_name

# --- 公民身份号码 (GB 11643) -------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "11010519491231002X",  # the standard's own example, check character X
        "11010519491231002x",  # lower-case x is normalised
        " 11010519491231002X ",  # surrounding blanks from copy-paste are ignored
        "110105194912310029"[:17] + id_number_check_char("11010519491231002"),
    ],
)
def test_valid_id_numbers(value: str) -> None:
    assert check_id_number(value) == "11010519491231002X"
    assert is_valid_id_number(value)


def test_id_number_birth_date() -> None:
    assert birth_date_from_id_number("11010519491231002X") == dt.date(1949, 12, 31)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("110105194912310021", "校验位"),  # wrong check digit
        ("11010519491231002Y", "18位"),  # check character can only be a digit or X
        ("11010519491331002X", "出生日期"),  # month 13
        ("110105194902300023", "出生日期"),  # 30 February
        ("001105194912310020", "行政区划"),  # division code starting 00
        ("110105189912310021", "合理范围"),  # born before 1900
        ("11010519491231002", "18位"),  # 17 characters
        ("11010519491231002XX", "18位"),  # 19 characters
        pytest.param(
            "1101051949123100２X",  # full-width digit: int() reads it, so the check passes
            "18位",
        ),
        ("", "18位"),
    ],
)
def test_invalid_id_numbers(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        check_id_number(value)
    assert not is_valid_id_number(value)


def test_id_number_born_in_the_future_is_rejected() -> None:
    body = "110105" + "20300101" + "001"
    value = body + id_number_check_char(body)
    assert check_id_number(value, today=dt.date(2031, 1, 1)) == value
    with pytest.raises(InvalidIdentifier, match="合理范围"):
        check_id_number(value, today=dt.date(2029, 12, 31))


_division_codes = st.from_regex(r"\A[1-9][0-9]{5}\Z", fullmatch=True)
_birth_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31))
_sequences = st.integers(min_value=0, max_value=999)


@given(division=_division_codes, born=_birth_dates, sequence=_sequences, data=st.data())
def test_id_number_check_char_property(
    division: str, born: dt.date, sequence: int, data: st.DataObject
) -> None:
    body = f"{division}{born:%Y%m%d}{sequence:03d}"
    value = body + id_number_check_char(body)
    assert check_id_number(value) == value
    assert birth_date_from_id_number(value) == born

    position = data.draw(st.integers(min_value=0, max_value=16), label="position")
    replacement = data.draw(
        st.sampled_from([d for d in "0123456789" if d != body[position]]), label="digit"
    )
    mistyped = value[:position] + replacement + value[position + 1 :]
    assert not is_valid_id_number(mistyped)


# --- 统一社会信用代码 (GB 32100) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["91110000802100433B", "91350100M000100Y43", "91350100m000100y43", " 91110000802100433B"],
)
def test_valid_usccs(value: str) -> None:
    assert check_uscc(value) == value.strip().upper()
    assert is_valid_uscc(value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("91110000802100433C", "校验位"),  # wrong check character
        ("91350100M000100Y44", "校验位"),
        ("9111000080210043I3", "不允许的字符"),  # I is not in the alphabet
        ("9111000080210043O3", "不允许的字符"),  # O
        ("9111000080210043Z3", "不允许的字符"),  # Z
        ("9111000080210043S3", "不允许的字符"),  # S
        ("9111000080210043V3", "不允许的字符"),  # V
        ("911100008021004-3B", "不允许的字符"),
        ("91A10000802100433B", "第3–8位"),  # registering authority code must be digits
        ("91110000802100433", "18位"),  # 17 characters
        ("91110000802100433BB", "18位"),
        ("", "18位"),
    ],
)
def test_invalid_usccs(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        check_uscc(value)
    assert not is_valid_uscc(value)


_uscc_chars = st.sampled_from(USCC_ALPHABET)


@given(
    head=st.text(_uscc_chars, min_size=2, max_size=2),
    division=st.from_regex(r"\A[0-9]{6}\Z", fullmatch=True),
    organisation=st.text(_uscc_chars, min_size=9, max_size=9),
    data=st.data(),
)
def test_uscc_check_char_property(
    head: str, division: str, organisation: str, data: st.DataObject
) -> None:
    body = head + division + organisation
    value = body + uscc_check_char(body)
    assert check_uscc(value) == value

    position = data.draw(st.integers(min_value=0, max_value=16), label="position")
    replacement = data.draw(
        st.sampled_from([c for c in USCC_ALPHABET if c != body[position]]), label="char"
    )
    mistyped = value[:position] + replacement + value[position + 1 :]
    assert not is_valid_uscc(mistyped)


def test_org_code_check_char_examples() -> None:
    # GB 11714 worked example: D2143569 → X; and the organisation part of a real USCC.
    assert org_code_check_char("D2143569") == "X"
    assert org_code_check_char("80210043") == "3"


# --- Division codes ----------------------------------------------------------------------------


def test_division_codes() -> None:
    assert check_division_code(" 330106 ") == "330106"
    for bad in ["000000", "33010", "3301066", "33O106"]:
        with pytest.raises(InvalidIdentifier):
            check_division_code(bad)


def test_division_code_rejects_full_width_digits() -> None:
    with pytest.raises(InvalidIdentifier):
        check_division_code("３３0106")


# --- Masking (脱敏) ----------------------------------------------------------------------------


def test_masking() -> None:
    assert mask_id_number("330106199001011234") == "3301**********1234"
    assert mask_id_number("1234567") == "*******"
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_mobile("123456") == "******"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳小明") == "欧***"
    assert mask_name("张") == "张"


def test_a_person_born_today_by_the_local_date_is_valid() -> None:
    """Just after midnight in Beijing, someone born that day has a valid number, though the
    server clock's UTC date is still the day before."""
    from freezegun import freeze_time

    body = "110105" + "20250304" + "001"
    value = body + id_number_check_char(body)
    with freeze_time("2025-03-03 16:30:00+00:00"):  # 00:30 on 4 March in Beijing
        assert check_id_number(value) == value
