"""The 数源 (data sources) the platform can ask, in the catalog's own codes (``data_source`` of a
field or material): what each one is called, which department keeps it, whose data it holds
(自然人 by 身份证号, 法人 by 统一社会信用代码, or either) and on what ground a lookup may be made.

A source with a ``legal_basis`` is consulted for an application without asking (the department
needs it to perform a statutory duty, 《个人信息保护法》第十三条第一款第三项); a source without
one may only be consulted with the applicant's recorded consent for that application. Which
sources need consent is a deployment's policy: the split below is sample policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from tongban.core.errors import FieldError, ValidationFailed

PERSON: Final = "person"
ENTERPRISE: Final = "enterprise"

_DUTY = "《个人信息保护法》第十三条第一款第三项（履行法定职责所必需）"
_PUBLIC = "《企业信息公示暂行条例》第六条（企业登记信息依法公示）"


@dataclass(frozen=True)
class DataSource:
    code: str
    name: str  # e.g. 户籍信息
    keeper: str  # the department that keeps it, e.g. 公安
    subjects: tuple[str, ...]  # PERSON, ENTERPRISE or both (preferred first when both apply)
    legal_basis: str = ""  # empty: a lookup needs the applicant's consent

    @property
    def needs_consent(self) -> bool:
        return not self.legal_basis

    @property
    def label(self) -> str:
        return f"{self.name}（{self.keeper}）"


def _s(code: str, name: str, keeper: str, subjects: str, basis: str = "") -> DataSource:
    kinds = tuple({"p": PERSON, "e": ENTERPRISE}[c] for c in subjects)  # "p", "e", "ep", "pe"
    return DataSource(code, name, keeper, kinds, basis)


SOURCES: Final[dict[str, DataSource]] = {
    s.code: s
    for s in (
        _s("hukou", "户籍信息", "公安", "p", f"{_DUTY}；《户口登记条例》"),
        _s("marriage", "婚姻登记信息", "民政", "p"),
        _s("birth_records", "出生医学证明信息", "卫生健康", "p", f"{_DUTY}；《母婴保健法》"),
        _s("death_registry", "死亡登记信息", "公安、卫生健康、民政", "p", _DUTY),
        _s("social_insurance", "社会保险参保缴费信息", "人力社保", "pe"),
        _s("medical_insurance", "医疗保障参保信息", "医疗保障", "p"),
        _s("education", "学籍学历信息", "教育", "p"),
        _s("disability", "残疾人证信息", "残联", "p"),
        _s("employment", "就业登记信息", "人力社保", "p"),
        _s("personnel_archive", "人事档案信息", "人力社保", "p"),
        _s("labour_assessment", "劳动能力鉴定信息", "人力社保", "p"),
        _s("rental_registry", "房屋租赁登记备案信息", "住房城乡建设", "p"),
        _s("social_assistance", "社会救助信息", "民政", "p"),
        _s("vaccination", "预防接种信息", "卫生健康", "p"),
        _s("village_certificates", "村（社区）电子证明", "民政", "p", _DUTY),
        _s("traffic_police", "道路交通事故认定信息", "公安交警", "p", _DUTY),
        _s("driver_registry", "驾驶人及道路运输从业资格信息", "公安交警、交通运输", "ep", _DUTY),
        _s("construction_personnel", "建筑施工从业人员信息", "住房城乡建设", "ep", _DUTY),
        _s("professional_qualification", "职业资格信息", "人力社保", "p", _DUTY),
        _s("foreigner_work_permit", "外国人工作许可信息", "科技", "ep", _DUTY),
        _s("real_estate", "不动产登记信息", "自然资源和规划", "pe"),
        _s("housing_trade", "商品房网签备案信息", "住房城乡建设", "pe"),
        _s("enterprise_registry", "企业登记信息", "市场监管", "e", _PUBLIC),
        _s("credit", "公共信用信息", "发展改革（信用中心）", "ep", _DUTY),
        _s("tax", "纳税信息", "税务", "ep"),
        _s("health_workforce", "卫生技术人员执业信息", "卫生健康", "e", _DUTY),
        _s("drawing_review", "施工图审查信息", "住房城乡建设", "e", _DUTY),
        _s("public_bidding", "招标投标信息", "公共资源交易", "e", _DUTY),
        _s("place_names", "地名门牌信息", "民政", "ep", _DUTY),
    )
}

# A licence type whose content a data source also holds: the registry record stands in for the
# licence until the e-licence library answers for it (营业执照 is the 企业登记 record).
LICENCE_SOURCES: Final[dict[str, str]] = {
    "LT-BUSINESS-LICENCE": "enterprise_registry",
    "LT-REAL-ESTATE-CERT": "real_estate",
    "LT-MARRIAGE-CERT": "marriage",
    "LT-DIVORCE-CERT": "marriage",
    "LT-BIRTH-MEDICAL-CERT": "birth_records",
    "LT-DISABILITY-CARD": "disability",
    "LT-MINIMUM-LIVING": "social_assistance",
}


def source(code: str) -> DataSource:
    """The data source ``code``; an unknown code is a 422 naming the field ``source``."""
    found = SOURCES.get(code)
    if found is None:
        raise ValidationFailed(
            f"没有名为“{code}”的数源",
            code="unknown_source",
            errors=[FieldError("source", f"没有名为“{code}”的数源")],
        )
    return found


def label_of(code: str) -> str:
    found = SOURCES.get(code)
    return found.label if found else code
