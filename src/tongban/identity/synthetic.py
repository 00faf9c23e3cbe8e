"""Synthetic registries: deterministic, clearly fictitious persons (自然人) and enterprises (法人).

The demo and the tests need registry records that look real enough to exercise every check —
身份证号 with a valid GB 11643 check digit, 统一社会信用代码 with valid GB 32100 and GB 11714
check characters, GB/T 4754 industry codes, addresses inside the sample divisions — but belong
to nobody. Everything here is generated from a seeded ``random.Random``: the same seed gives the
same records, byte for byte, on every machine. Addresses are on "示例路" (sample road), so a
synthetic record is recognisable at a glance; sequence numbers 900–999 of every area and birth
date are left to hand-written demo persons (``build_id_number``), so they never collide with
generated ones.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from tongban.core.identifiers import (
    USCC_ALPHABET,
    id_number_check_char,
    org_code_check_char,
    uscc_check_char,
)

DEFAULT_SEED: Final = 2026
RESERVED_SEQUENCE_START: Final = 900  # sequences 900–999 are for hand-written demo persons


@dataclass(frozen=True)
class SampleArea:
    """A sample district: where synthetic people live and enterprises are registered."""

    code: str
    province: str
    city: str
    district: str
    streets: tuple[str, ...]
    weight: int

    @property
    def short_city(self) -> str:
        return self.city.removesuffix("市")


SAMPLE_AREAS: Final = (
    SampleArea(
        "330106", "浙江省", "杭州市", "西湖区", ("北山街道", "西溪街道", "翠苑街道", "古荡街道"), 8
    ),
    SampleArea("330212", "浙江省", "宁波市", "鄞州区", (), 2),
)
AREAS_BY_CODE: Final = {a.code: a for a in SAMPLE_AREAS}

# Birthplace codes seen in 身份证号 of people living in the sample districts (real GB/T 2260
# district codes; a person's birthplace code need not be where they live now).
_BIRTHPLACE_CODES: Final = (
    "330106", "330106", "330106", "330102", "330105", "330108", "330212", "330302", "330602",
    "330782", "340102", "360102", "410105", "430102", "510104",
)  # fmt: skip

_SURNAMES: Final = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁沈"
_GIVEN_MALE: Final = (
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "浩", "鹏", "飞", "凯", "建国", "志刚",
    "海波", "晨阳", "子轩", "浩然", "博文", "俊峰", "明辉", "宇航", "文杰", "建华", "立新",
    "永明", "国平", "德胜", "家豪", "一鸣",
)  # fmt: skip
_GIVEN_FEMALE: Final = (
    "芳", "娜", "敏", "静", "丽", "娟", "艳", "婷", "雪", "琳", "颖", "欣怡", "梦瑶", "雨萱",
    "佳琪", "思彤", "晓梅", "桂英", "秀兰", "丽华", "玉珍", "淑芬", "雅琴", "诗涵", "雨桐",
    "晓燕", "海燕", "美玲", "若溪", "可欣",
)  # fmt: skip
_MOBILE_PREFIXES: Final = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
    "155", "157", "158", "159", "166", "173", "176", "177", "180", "181", "183", "186",
    "187", "188", "189", "191", "198", "199",
)  # fmt: skip


@dataclass(frozen=True)
class Industry:
    """A GB/T 4754-2017 class with the name suffixes used for companies and 个体工商户."""

    code: str
    name: str
    company_suffix: str
    shop_suffix: str


INDUSTRIES: Final = (
    Industry("H6210", "正餐服务", "餐饮管理有限公司", "饭店"),
    Industry("H6220", "快餐服务", "餐饮有限公司", "小吃店"),
    Industry("H6231", "茶馆服务", "茶业有限公司", "茶馆"),
    Industry("H6232", "咖啡馆服务", "咖啡有限公司", "咖啡馆"),
    Industry("H6239", "其他饮料及冷饮服务", "饮品有限公司", "奶茶店"),
    Industry("H6130", "民宿服务", "酒店管理有限公司", "民宿"),
    Industry("F5212", "超级市场零售", "商贸有限公司", "超市"),
    Industry("O8040", "理发及美容服务", "美容美发有限公司", "理发店"),
    Industry("I6513", "应用软件开发", "科技有限公司", "软件工作室"),
    Industry("G5431", "普通货物道路运输", "物流有限公司", "货运部"),
    Industry("E4710", "住宅房屋建筑", "建设工程有限公司", "装修队"),
    Industry("R8810", "文艺创作与表演", "文化传媒有限公司", "文化工作室"),
)
INDUSTRIES_BY_CODE: Final = {i.code: i for i in INDUSTRIES}

_TRADE_NAMES: Final = (
    "知味", "青禾", "云栖", "拾光", "南屏", "溪岸", "禾丰", "初见", "半山", "望湖", "竹语",
    "锦程", "恒远", "启明", "栖霞", "木棉", "星河", "晴川", "苏堤", "柳浪", "清泉", "德润",
    "嘉禾", "和煦", "悦来", "乐活", "慢时", "橙光", "麦田", "松间",
)  # fmt: skip


@dataclass(frozen=True)
class SyntheticPerson:
    id_number: str
    name: str
    gender: str  # "male" | "female", as encoded in the 17th digit
    birth_date: dt.date
    mobile: str
    address: str
    household_division: str  # GB/T 2260 code of a sample district


@dataclass(frozen=True)
class SyntheticEnterprise:
    uscc: str
    name: str
    kind: str  # tongban.identity.models.EnterpriseKind value
    division: str
    industry_code: str
    registered_on: dt.date
    address: str
    legal_representative: str | None  # 身份证号 of a synthetic person


# --- identifiers ------------------------------------------------------------------------------
def build_id_number(area: str, birth_date: dt.date, sequence: int) -> str:
    """A 身份证号 for ``area`` and ``birth_date``; odd ``sequence`` is male, even is female."""
    if not (len(area) == 6 and area.isdigit()) or not 0 <= sequence <= 999:
        raise ValueError("area must be six digits and sequence within 0–999")
    first17 = f"{area}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + id_number_check_char(first17)


def build_uscc(division: str, body: str, *, authority: str = "9", category: str = "1") -> str:
    """A 统一社会信用代码: authority 9 (市场监管) + category (1 企业, 2 个体工商户) + division +
    the 8-character organisation body with its GB 11714 check character + the GB 32100 one."""
    if len(body) != 8 or any(c not in USCC_ALPHABET for c in body):
        raise ValueError("body must be 8 characters of the USCC alphabet")
    organisation = body + org_code_check_char(body)
    first17 = f"{authority}{category}{division}{organisation}"
    return first17 + uscc_check_char(first17)


# --- generators -------------------------------------------------------------------------------
def _rng(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 - reproducible sample data, not security


def _date_between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


def _address(rng: random.Random, area: SampleArea) -> str:
    street = rng.choice(area.streets) if area.streets else ""
    return (
        f"{area.province}{area.city}{area.district}{street}示例路{rng.randint(1, 399)}号"
        f"{rng.randint(1, 30)}幢{rng.randint(1, 4)}单元{rng.randint(1, 28)}{rng.randint(1, 4):02d}室"
    )


def _attempts(count: int) -> range:
    """Enough draws to find ``count`` distinct records; more means the pools are too small."""
    return range(count * 20 + 100)


def _check_count(made: int, count: int, what: str) -> None:
    if made < count:
        raise ValueError(f"cannot generate {count} distinct {what}; the name pools are too small")


def _area(rng: random.Random, codes: Sequence[str] | None) -> SampleArea:
    areas = [AREAS_BY_CODE[c] for c in codes] if codes else list(SAMPLE_AREAS)
    return rng.choices(areas, weights=[a.weight for a in areas])[0]


def generate_persons(
    count: int,
    *,
    seed: int = DEFAULT_SEED,
    divisions: Sequence[str] | None = None,
    born_between: tuple[dt.date, dt.date] = (dt.date(1938, 1, 1), dt.date(2006, 12, 31)),
) -> list[SyntheticPerson]:
    """``count`` distinct synthetic persons living in the sample ``divisions`` (all by default)."""
    rng = _rng(seed)
    seen_ids: set[str] = set()
    seen_mobiles: set[str] = set()
    people: list[SyntheticPerson] = []
    for _ in _attempts(count):
        if len(people) == count:
            break
        male = rng.random() < 0.5
        born = _date_between(rng, *born_between)
        sequence = rng.randrange(RESERVED_SEQUENCE_START // 10) * 10 + rng.choice(
            (1, 3, 5, 7, 9) if male else (0, 2, 4, 6, 8)
        )
        id_number = build_id_number(rng.choice(_BIRTHPLACE_CODES), born, sequence)
        mobile = rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        given = rng.choice(_GIVEN_MALE if male else _GIVEN_FEMALE)
        area = _area(rng, divisions)
        if id_number in seen_ids or mobile in seen_mobiles:
            continue
        seen_ids.add(id_number)
        seen_mobiles.add(mobile)
        people.append(
            SyntheticPerson(
                id_number=id_number,
                name=rng.choice(_SURNAMES) + given,
                gender="male" if male else "female",
                birth_date=born,
                mobile=mobile,
                address=_address(rng, area),
                household_division=area.code,
            )
        )
    _check_count(len(people), count, "persons")
    return people


def generate_enterprises(
    count: int,
    *,
    seed: int = DEFAULT_SEED,
    representatives: Sequence[SyntheticPerson] = (),
    divisions: Sequence[str] | None = None,
    registered_between: tuple[dt.date, dt.date] = (dt.date(2012, 1, 1), dt.date(2025, 6, 30)),
) -> list[SyntheticEnterprise]:
    """``count`` distinct synthetic companies and 个体工商户 (about one in three).

    Legal representatives (or operators) are drawn from ``representatives`` among those who
    were at least 18 on the registration date; without candidates the field stays empty."""
    rng = _rng(seed + 1)
    seen_codes: set[str] = set()
    seen_names: set[str] = set()
    result: list[SyntheticEnterprise] = []
    for _ in _attempts(count):
        if len(result) == count:
            break
        individual = rng.random() < 0.35
        industry = rng.choice(INDUSTRIES)
        area = _area(rng, divisions)
        registered = _date_between(rng, *registered_between)
        trade_name = rng.choice(_TRADE_NAMES)
        body = "MA2" + "".join(rng.choice(USCC_ALPHABET) for _ in range(5))
        if individual:
            name = f"{area.city}{area.district}{trade_name}{industry.shop_suffix}"
            uscc = build_uscc(area.code, body, category="2")
        else:
            name = f"{area.short_city}{trade_name}{industry.company_suffix}"
            uscc = build_uscc(area.code, body)
        adults = [
            p
            for p in representatives
            if p.birth_date <= registered.replace(year=registered.year - 18, day=1)
        ]
        representative = rng.choice(adults).id_number if adults else None
        address = _address(rng, area)
        if uscc in seen_codes or name in seen_names:
            continue
        seen_codes.add(uscc)
        seen_names.add(name)
        result.append(
            SyntheticEnterprise(
                uscc=uscc,
                name=name,
                kind="individual_business" if individual else "company",
                division=area.code,
                industry_code=industry.code,
                registered_on=registered,
                address=address,
                legal_representative=representative,
            )
        )
    _check_count(len(result), count, "enterprises")
    return result
