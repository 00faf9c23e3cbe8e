"""The profile schema: which attributes a 一企一档 (enterprise) or 一人一档 (person) profile has, of
which type and range, and which tags exist.

The rule type checker (``policies.rules``), both evaluators, the bulk importer and the benchmark
read this one table, so a rule can only name an attribute the profiles really store, with the
type they store it in. Ranges (``minimum``/``maximum``) feed the amount-formula interval analysis
that refuses a formula which could go negative or divide by zero.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Target(enum.StrEnum):
    ENTERPRISE = "enterprise"
    PERSON = "person"


class AttrType(enum.StrEnum):
    INT = "int"
    NUMBER = "number"
    BOOL = "bool"
    DATE = "date"
    ENUM = "enum"
    TEXT = "text"
    DIVISION = "division"
    TAGS = "tags"


NUMERIC = frozenset({AttrType.INT, AttrType.NUMBER})
ORDERED = frozenset({AttrType.INT, AttrType.NUMBER, AttrType.DATE})


@dataclass(frozen=True)
class Attribute:
    """One profile attribute: ``name`` as rules write it, ``column`` on the profile model."""

    name: str
    type: AttrType
    label: str
    column: str = ""
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    required: bool = False  # an import row must give it (the key and the name)

    @property
    def model_column(self) -> str:
        return self.column or self.name


@dataclass(frozen=True)
class ProfileSchema:
    target: Target
    key: str
    attributes: tuple[Attribute, ...]
    tags: tuple[str, ...] = field(default=())

    def get(self, name: str) -> Attribute | None:
        return self._by_name().get(name)

    def _by_name(self) -> dict[str, Attribute]:
        return {a.name: a for a in self.attributes}

    def names(self) -> list[str]:
        return [a.name for a in self.attributes]


ENTERPRISE_TAGS = (
    "高新技术企业",
    "专精特新",
    "规上企业",
    "新增规上",
    "新增入统",
    "科技型中小企业",
    "小微企业",
    "外贸企业",
    "养老机构",
    "吸纳重点群体就业",
)
PERSON_TAGS = (
    "高校毕业生",
    "失业人员",
    "就业困难人员",
    "残疾人",
    "低保对象",
    "退役军人",
    "脱贫人口",
    "高层次人才",
)

ENTERPRISE = ProfileSchema(
    target=Target.ENTERPRISE,
    key="uscc",
    attributes=(
        Attribute("uscc", AttrType.TEXT, "统一社会信用代码", required=True),
        Attribute("name", AttrType.TEXT, "名称", required=True),
        Attribute("industry", AttrType.TEXT, "行业代码（GB/T 4754）", column="industry_code"),
        Attribute(
            "size_class", AttrType.ENUM, "企业规模", choices=("large", "medium", "small", "micro")
        ),
        Attribute("registered_on", AttrType.DATE, "成立日期"),
        Attribute("division", AttrType.DIVISION, "登记地", column="division_code"),
        Attribute("employees", AttrType.INT, "从业人数", minimum=0),
        Attribute("new_hires", AttrType.INT, "新增吸纳就业人数", minimum=0),
        Attribute("revenue", AttrType.NUMBER, "营业收入（万元）", minimum=0),
        Attribute("revenue_growth", AttrType.NUMBER, "营业收入增长率（%）"),
        Attribute("tax_paid", AttrType.NUMBER, "纳税额（万元）", minimum=0),
        Attribute(
            "tax_credit_grade", AttrType.ENUM, "纳税信用等级", choices=("A", "B", "M", "C", "D")
        ),
        Attribute("care_beds_new", AttrType.INT, "新增养老床位", minimum=0),
        Attribute("care_property", AttrType.ENUM, "养老机构产权", choices=("own", "leased")),
        Attribute("tags", AttrType.TAGS, "企业标签"),
    ),
    tags=ENTERPRISE_TAGS,
)

PERSON = ProfileSchema(
    target=Target.PERSON,
    key="id_number",
    attributes=(
        Attribute("id_number", AttrType.TEXT, "身份证号", required=True),
        Attribute("name", AttrType.TEXT, "姓名", required=True),
        Attribute("birth_date", AttrType.DATE, "出生日期"),
        Attribute(
            "household_division", AttrType.DIVISION, "户籍地", column="household_division_code"
        ),
        Attribute("alive", AttrType.BOOL, "在世"),
        Attribute(
            "pension_status", AttrType.ENUM, "养老金领取", choices=("receiving", "not_receiving")
        ),
        Attribute("bank_account_on_file", AttrType.BOOL, "已登记银行账户"),
        Attribute("disability_grade", AttrType.INT, "残疾等级", minimum=1, maximum=4),
        Attribute(
            "education",
            AttrType.ENUM,
            "学历",
            choices=("secondary", "junior_college", "bachelor", "master", "doctor"),
        ),
        Attribute("graduated_on", AttrType.DATE, "毕业日期"),
        Attribute("graduate_school", AttrType.TEXT, "毕业学校"),
        Attribute("social_insurance_months", AttrType.INT, "本地连续缴纳社保月数", minimum=0),
        Attribute(
            "employment_status",
            AttrType.ENUM,
            "就业状态",
            choices=("employed", "unemployed", "self_employed", "retired"),
        ),
        Attribute("tags", AttrType.TAGS, "个人标签"),
    ),
    tags=PERSON_TAGS,
)

SCHEMAS: dict[str, ProfileSchema] = {Target.ENTERPRISE: ENTERPRISE, Target.PERSON: PERSON}

CHOICE_LABELS: dict[str, str] = {
    "large": "大型",
    "medium": "中型",
    "small": "小型",
    "micro": "微型",
    "own": "自有产权",
    "leased": "租赁产权",
    "receiving": "领取中",
    "not_receiving": "未领取",
    "secondary": "中专及以下",
    "junior_college": "大专",
    "bachelor": "本科",
    "master": "硕士",
    "doctor": "博士",
    "employed": "在职",
    "unemployed": "失业",
    "self_employed": "自主创业",
    "retired": "退休",
}


def schema_for(target: str) -> ProfileSchema:
    try:
        return SCHEMAS[target]
    except KeyError:
        raise KeyError(f"unknown target {target!r}") from None


def division_prefix(code: str) -> str:
    """The code prefix every division under ``code`` shares: 320300 → 3203, 320000 → 32,
    330106001 (a street) → itself. GB/T 2260 pads a higher level with zero pairs."""
    if len(code) != 6:
        return code
    prefix = code
    while len(prefix) > 2 and prefix.endswith("00"):
        prefix = prefix[:-2]
    return prefix
