"""Chinese identifier check digits: 公民身份号码 (GB 11643) and 统一社会信用代码 (GB 32100).

Both standards end in a check character computed from the others; a mistyped digit or two
swapped neighbours are caught before any lookup. ``check_*`` functions raise
``InvalidIdentifier`` with a message a clerk understands; ``is_valid_*`` answer yes/no;
``*_check_char`` compute the check character (used by the synthetic data generator too).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

from django.utils import timezone

_ID_WEIGHTS: Final = tuple(pow(2, 17 - i, 11) for i in range(17))
_ID_CHECK: Final = "10X98765432"
_ID_RE: Final = re.compile(r"^[0-9]{17}[0-9X]$")

USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE: Final = re.compile(rf"^[{USCC_ALPHABET}]{{18}}$")
_ORG_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
_DIVISION_RE: Final = re.compile(r"^[0-9]{6}$")


class InvalidIdentifier(ValueError):
    """The text is not a well-formed identifier of the kind asked for."""


def id_number_check_char(first17: str) -> str:
    """Check character of a 身份证号 from its first 17 digits (GB 11643-1999, ISO 7064 MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def check_id_number(value: str, *, today: dt.date | None = None) -> str:
    """Return the normalised 18-character 身份证号 or raise ``InvalidIdentifier``."""
    text = value.strip().upper()
    if not _ID_RE.match(text):
        raise InvalidIdentifier("身份证号应为18位：17位数字加1位数字或X")
    if not _DIVISION_RE.match(text[:6]) or text[:2] in {"00"}:
        raise InvalidIdentifier("身份证号前6位不是有效的行政区划代码")
    try:
        born = dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError as exc:
        raise InvalidIdentifier("身份证号第7–14位不是有效的出生日期") from exc
    if born.year < 1900 or born > (today or timezone.localdate()):
        raise InvalidIdentifier("身份证号中的出生日期不在合理范围内")
    if id_number_check_char(text[:17]) != text[17]:
        raise InvalidIdentifier("身份证号校验位不正确，请核对是否输错")
    return text


def is_valid_id_number(value: str) -> bool:
    try:
        check_id_number(value)
    except InvalidIdentifier:
        return False
    return True


def birth_date_from_id_number(value: str) -> dt.date:
    text = check_id_number(value)
    return dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))


def org_code_check_char(first8: str) -> str:
    """Check character of a 组织机构代码 (GB 11714), embedded in a USCC at positions 9–17.

    Used when generating codes; validation checks only the GB 32100 check character, because
    some codes issued to 个体工商户 carry organisation parts that predate GB 11714 rules."""
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def uscc_check_char(first17: str) -> str:
    """Check character of a 统一社会信用代码 from its first 17 characters (GB 32100-2015)."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def check_uscc(value: str) -> str:
    """Return the normalised 统一社会信用代码 or raise ``InvalidIdentifier``."""
    text = value.strip().upper()
    if len(text) != 18:
        raise InvalidIdentifier("统一社会信用代码应为18位")
    if not _USCC_RE.match(text):
        raise InvalidIdentifier("统一社会信用代码含有不允许的字符（不使用 I、O、Z、S、V）")
    if not text[2:8].isdigit():
        raise InvalidIdentifier("统一社会信用代码第3–8位应为登记管理机关行政区划代码")
    if uscc_check_char(text[:17]) != text[17]:
        raise InvalidIdentifier("统一社会信用代码校验位不正确，请核对是否输错")
    return text


def is_valid_uscc(value: str) -> bool:
    try:
        check_uscc(value)
    except InvalidIdentifier:
        return False
    return True


def check_division_code(value: str) -> str:
    """Return a six-digit GB/T 2260 division code or raise ``InvalidIdentifier``."""
    text = value.strip()
    if not _DIVISION_RE.match(text) or text[:2] == "00":
        raise InvalidIdentifier("行政区划代码应为6位数字（GB/T 2260）")
    return text
