"""Deterministic synthetic records for the local registry (sample data, belonging to nobody).

Each record is derived from a registered person or enterprise and a random generator seeded by
the source code and the subject's identifier, so the same person always gets the same records
on every machine and in every run. Records are keyed by data-element codes (``household_address``,
``area_sqm`` …), which is how a 系统填 field finds its value; ``summary`` and ``reference`` say
what a 免提交 material was satisfied by. Whether a subject has a record at all is drawn too (not
everyone owns a flat or has a newborn); ``ensure`` makes a record exist (the demo accounts).
Every person and enterprise has a 公共信用信息 record that says they are on no 严重失信 list
(``dishonest: false``, which ``fact.credit_dishonest`` reads), except the subjects a caller names
as 失信被执行人 (``dishonest=True``): their record lists them, with a sample enforcement case.
Every record carries ``"sample": true``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from tongban.identity.synthetic import build_uscc
from tongban.sharing.sources import ENTERPRISE, PERSON, SOURCES

# Records describe events relative to a fixed sample day, never to "today", so they do not change.
SAMPLE_DAY: Final = dt.date(2026, 11, 1)
_SCHOOLS: Final = ("浙江示例大学", "杭州示例职业技术学院", "西湖示例中学", "宁波示例理工学院")
_COMPANY_WORDS: Final = ("云栖", "望湖", "拾光", "启明", "禾丰", "星河", "晴川", "德润")
_COMPANY_SUFFIXES: Final = ("科技有限公司", "商贸有限公司", "餐饮管理有限公司", "物流有限公司")
_ROADS: Final = ("示例路", "示例街", "示例大道")
_CATEGORIES: Final = ("视力残疾", "听力残疾", "言语残疾", "肢体残疾", "智力残疾", "精神残疾")
_LEVELS: Final = ("一级", "二级", "三级", "四级")
_BODY_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@dataclass(frozen=True)
class PersonFacts:
    id_number: str
    name: str
    gender: str  # "male" | "female"
    birth_date: dt.date
    address: str


@dataclass(frozen=True)
class EnterpriseFacts:
    uscc: str
    name: str
    address: str
    industry_code: str
    registered_on: dt.date | None
    legal_representative: str  # name, may be empty


def _rng(source: str, subject: str) -> random.Random:
    digest = hashlib.sha256(f"{source}:{subject}".encode()).hexdigest()
    return random.Random(int(digest[:16], 16))  # noqa: S311 - reproducible sample data


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _age(person: PersonFacts) -> int:
    born = person.birth_date
    return (
        SAMPLE_DAY.year - born.year - ((SAMPLE_DAY.month, SAMPLE_DAY.day) < (born.month, born.day))
    )


def _company(rng: random.Random) -> tuple[str, str]:
    name = "杭州" + rng.choice(_COMPANY_WORDS) + rng.choice(_COMPANY_SUFFIXES) + "（示例）"
    body = "MA2" + "".join(rng.choice(_BODY_ALPHABET) for _ in range(5))
    return name, build_uscc("330106", body)


def _place(rng: random.Random) -> str:
    return (
        f"浙江省杭州市西湖区{rng.choice(_ROADS)}{rng.randint(1, 399)}号"
        f"{rng.randint(1, 30)}幢{rng.randint(1, 4)}单元{rng.randint(1, 28)}{rng.randint(1, 4):02d}室"
    )


def _area(rng: random.Random) -> str:
    return f"{rng.randint(45, 160)}.{rng.randint(0, 99):02d}"


def _day(rng: random.Random, days_back: int) -> str:
    return (SAMPLE_DAY - dt.timedelta(days=rng.randint(1, days_back))).isoformat()


# --- persons and enterprises: 公共信用信息 -----------------------------------------------------


def _credit(subject: Any, rng: random.Random) -> dict[str, Any]:
    level = rng.choice(("A", "A", "A", "B"))
    return {
        "credit_level": level,
        "dishonest": False,  # 列入严重失信主体名单 (``fact.credit_dishonest``)
        "summary": f"公共信用信息：无严重失信记录，信用等级 {level}（示例）",
        "reference": "XY" + _digits(rng, 10),
    }


def _listed_dishonest(subject: Any, rng: random.Random) -> dict[str, Any]:
    year = SAMPLE_DAY.year - rng.randint(1, 3)
    case_no = f"（{year}）浙0106执{rng.randint(100, 9999)}号"
    return {
        "credit_level": "D",
        "dishonest": True,
        "dishonest_list": "失信被执行人名单",
        "enforcement_case": case_no,
        "summary": f"公共信用信息：列入失信被执行人名单（执行案号 {case_no}，示例）",
        "reference": "XY" + _digits(rng, 10),
    }


# --- persons ------------------------------------------------------------------------------------


def _hukou(p: PersonFacts, rng: random.Random) -> dict[str, Any]:
    address = p.address or _place(rng)
    return {
        "household_address": address,
        "address": address,
        "person_name": p.name,
        "id_number": p.id_number,
        "summary": "常住人口登记信息（户籍、居民身份证）",
        "reference": "HJ" + _digits(rng, 10),
    }


def _marriage(p: PersonFacts, rng: random.Random) -> dict[str, Any]:
    married_on = _day(rng, 3650)
    return {
        "marital_status": "已婚",
        "married_on": married_on,
        "summary": f"结婚登记信息（{married_on[:4]}年登记）",
        "reference": f"J330106-{married_on[:4]}-{_digits(rng, 6)}",
    }


def _birth(p: PersonFacts, rng: random.Random) -> dict[str, Any]:
    cert = rng.choice("MNOPQ") + _digits(rng, 9)
    return {
        "gender": rng.choice(("男", "女")),
        "birth_date": _day(rng, 25),
        "birth_medical_cert_no": cert,
        "summary": f"出生医学证明（编号 {cert}，签发：西湖示例妇产医院）",
        "reference": cert,
    }


def _death(p: PersonFacts, rng: random.Random) -> dict[str, Any]:
    return {
        "death_date": _day(rng, 40),
        "summary": "亲属死亡医学证明及火化信息（示例）",
        "reference": "SW" + _digits(rng, 10),
    }


def _insured(p: PersonFacts, rng: random.Random) -> dict[str, Any]:
    employer, uscc = _company(rng)
    months = rng.randint(6, 240)
    return {
        "employer_name": employer,
        "enterprise_name": employer,
        "uscc": uscc,
        "social_security_card_no": "A" + _digits(rng, 8),
        "contribution_months": months,
        "summary": f"社会保险参保缴费记录（累计缴费 {months} 个月）",
        "reference": "SB" + _digits(rng, 10),
    }


def _medical(p: PersonFacts, rng: random.Random) -> dict[str, Any]:
    years = rng.randint(1, 30)
    return {
        "count": years,
        "summary": f"医疗保障参保记录（累计缴费 {years} 年）",
        "reference": "YB" + _digits(rng, 10),
    }


def _education(p: PersonFacts, rng: random.Random) -> dict[str, Any]:
    school = rng.choice(_SCHOOLS)
    return {
        "school_name": school,
        "summary": f"学籍学历信息（{school}）",
        "reference": "XL" + _digits(rng, 12),
    }


def _disability(p: PersonFacts, rng: random.Random) -> dict[str, Any]:
    category, level = rng.choice(_CATEGORIES), rng.choice(_LEVELS)
    return {
        "disability_category": category,
        "disability_level": level,
        "summary": f"残疾人证信息（{category}{level}）",
        "reference": p.id_number[:4] + _digits(rng, 8),
    }


def _real_estate(p: PersonFacts | EnterpriseFacts, rng: random.Random) -> dict[str, Any]:
    year = rng.randint(2005, 2025)
    cert = f"浙（{year}）杭州市不动产权第{_digits(rng, 7)}号"
    return {
        "real_estate_cert_no": cert,
        "address": _place(rng),
        "area_sqm": _area(rng),
        "housing_count": rng.randint(1, 2),
        "summary": f"不动产登记信息（{cert}）",
        "reference": cert,
    }


def _trade(p: PersonFacts | EnterpriseFacts, rng: random.Random) -> dict[str, Any]:
    contract = "WQ" + str(SAMPLE_DAY.year) + _digits(rng, 8)
    return {
        "licence_no": contract,
        "amount_wan": f"{rng.randint(80, 900)}.{rng.randint(0, 9)}",
        "address": _place(rng),
        "area_sqm": _area(rng),
        "summary": f"商品房买卖合同网签备案（合同编号 {contract}）",
        "reference": contract,
    }


def _archive(p: PersonFacts, rng: random.Random) -> dict[str, Any]:
    return {
        "short_text": "人事档案审核通过（示例）",
        "summary": "人事档案审核信息",
        "reference": "DA" + _digits(rng, 8),
    }


def _generic(code: str) -> Callable[[Any, random.Random], dict[str, Any]]:
    def make(subject: Any, rng: random.Random) -> dict[str, Any]:
        return {
            "summary": f"{SOURCES[code].name}（示例记录）",
            "reference": code[:2].upper() + _digits(rng, 10),
        }

    return make


# (generator, chance of a record) per person source
_PERSON_SOURCES: Final[dict[str, tuple[Callable[[Any, random.Random], dict[str, Any]], float]]] = {
    "hukou": (_hukou, 1.0),
    "marriage": (_marriage, 0.6),
    "birth_records": (_birth, 0.3),
    "death_registry": (_death, 0.1),
    "social_insurance": (_insured, 0.8),
    "medical_insurance": (_medical, 0.9),
    "education": (_education, 0.85),
    "disability": (_disability, 0.06),
    "personnel_archive": (_archive, 0.3),
    "real_estate": (_real_estate, 0.65),
    "housing_trade": (_trade, 0.25),
    "credit": (_credit, 1.0),
}


# --- enterprises --------------------------------------------------------------------------------


def _registry(e: EnterpriseFacts, rng: random.Random) -> dict[str, Any]:
    capital = f"{rng.choice((10, 30, 50, 100, 200, 500))}.00"
    registered = e.registered_on.isoformat() if e.registered_on else _day(rng, 3650)
    return {
        "enterprise_name": e.name,
        "uscc": e.uscc,
        "person_name": e.legal_representative,
        "registered_capital": capital,
        "address": e.address,
        "industry_code": e.industry_code,
        "registered_on": registered,
        "summary": f"营业执照（企业登记）信息，成立于 {registered}",
        "reference": e.uscc,
    }


def _tax(subject: Any, rng: random.Random) -> dict[str, Any]:
    return {
        "summary": f"完税信息（{SAMPLE_DAY.year - 1} 年度，无欠税）",
        "reference": "SW" + _digits(rng, 12),
    }


def _employer(e: EnterpriseFacts, rng: random.Random) -> dict[str, Any]:
    hires = rng.randint(1, 30)
    return {
        "enterprise_name": e.name,
        "uscc": e.uscc,
        "headcount": hires,
        "summary": f"单位参保缴费记录（在保 {hires} 人）",
        "reference": "SB" + _digits(rng, 10),
    }


_ENTERPRISE_SOURCES: Final[
    dict[str, tuple[Callable[[Any, random.Random], dict[str, Any]], float]]
] = {
    "enterprise_registry": (_registry, 1.0),
    "credit": (_credit, 1.0),
    "tax": (_tax, 0.9),
    "social_insurance": (_employer, 0.9),
    "real_estate": (_real_estate, 0.5),
    "housing_trade": (_trade, 0.1),
}


def _records(
    subject: Any,
    key: str,
    kind: str,
    known: dict[str, tuple[Callable[[Any, random.Random], dict[str, Any]], float]],
    ensure: Iterable[str],
    dishonest: bool,
) -> dict[str, dict[str, Any]]:
    wanted = set(ensure)
    records: dict[str, dict[str, Any]] = {}
    for code, data_source in sorted(SOURCES.items()):
        if kind not in data_source.subjects:
            continue
        make, chance = known.get(code, (_generic(code), 0.15))
        if code == "credit" and dishonest:
            make = _listed_dishonest
        rng = _rng(code, key)
        if rng.random() < chance or code in wanted:
            records[code] = {**make(subject, rng), "sample": True}
    return records


def person_records(
    person: PersonFacts, ensure: Iterable[str] = (), *, dishonest: bool = False
) -> dict[str, dict[str, Any]]:
    """The records every person source holds about ``person`` (source code → record);
    ``dishonest``: the person is listed as 失信被执行人."""
    records = _records(person, person.id_number, PERSON, _PERSON_SOURCES, ensure, dishonest)
    if _age(person) < 20:  # no marriage or child of their own in the sample
        records.pop("marriage", None)
        records.pop("birth_records", None)
    return records


def enterprise_records(
    enterprise: EnterpriseFacts, ensure: Iterable[str] = (), *, dishonest: bool = False
) -> dict[str, dict[str, Any]]:
    """The records every enterprise source holds about ``enterprise``; ``dishonest``: the
    enterprise is listed as 失信被执行人."""
    return _records(enterprise, enterprise.uscc, ENTERPRISE, _ENTERPRISE_SOURCES, ensure, dishonest)
