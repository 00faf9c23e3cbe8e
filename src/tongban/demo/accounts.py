"""The demo accounts: who can log in to a ``make demo`` instance, with what, and what to try.

One list serves both ``tongban demo_data`` (which creates the accounts, their registry records
and the demo enterprise with its 法定代表人 and 经办人) and ``tongban demo_accounts`` (which
prints the table for the ``make demo`` banner). The people are fictitious: their 身份证号 use
sequence numbers 900–999, which the synthetic generator never produces. Every account shares one
public password — fine on a laptop, never anywhere else.

智能秒办 over 公共信用信息 shows both ways on the 排水许可 (告知承诺): the 经办人 of 杭州小满餐饮,
with no 失信 record, is approved at submission; ``debtor`` and his company, the sample's named
失信被执行人 (``dishonest``), go to a person, the explanation naming the credit condition.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Final

from tongban.identity.models import RealNameLevel
from tongban.identity.synthetic import build_id_number, build_uscc

DEMO_PASSWORD: Final = "demo-pass-2026"  # noqa: S105 - public demo password, printed with a warning
DEMO_WARNING: Final = (
    "警告：演示账户使用公开的固定密码，仅供本机演示，切勿在生产环境或任何联网环境中使用。"
)


@dataclass(frozen=True)
class DemoPerson:
    """A fictitious person behind an applicant account."""

    name: str
    birth_date: dt.date
    sequence: int  # 900–999; odd for men, even for women (GB 11643)
    mobile: str
    household_division: str
    address: str
    dishonest: bool = False  # listed as 失信被执行人 in the sample 公共信用信息

    @property
    def id_number(self) -> str:
        return build_id_number(self.household_division, self.birth_date, self.sequence)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str  # shown in the banner
    try_this: str  # what to try with this account
    display_name: str
    person: DemoPerson | None = None  # applicants
    department: str | None = None  # staff: department code
    roles: tuple[str, ...] = ()  # staff: tongban.identity.models.Role values
    superuser: bool = False
    elder_mode: bool = False
    real_name_level: int = RealNameLevel.BASIC
    password: str = DEMO_PASSWORD

    @property
    def is_staff_account(self) -> bool:
        return self.department is not None


@dataclass(frozen=True)
class DemoEnterprise:
    """The enterprise the demo 经办人 acts for."""

    name: str
    kind: str
    division: str
    body: str  # 8 characters of the organisation code inside the USCC
    industry_code: str
    registered_on: dt.date
    address: str
    legal_representative: str  # username of an applicant account
    agents: tuple[str, ...]  # usernames of applicant accounts authorised as 经办人
    dishonest: bool = False  # listed as 失信被执行人 in the sample 公共信用信息

    @property
    def uscc(self) -> str:
        return build_uscc(self.division, self.body)


_CITIZEN = DemoPerson(
    "林晓雨", dt.date(1994, 5, 12), 902, "13900000001", "330106",
    "浙江省杭州市西湖区翠苑街道示例路18号3幢2单元501室",
)  # fmt: skip
_AGENT = DemoPerson(
    "王建国", dt.date(1985, 9, 3), 913, "13900000002", "330106",
    "浙江省杭州市西湖区古荡街道示例路52号7幢1单元302室",
)  # fmt: skip
_OWNER = DemoPerson(
    "赵立新", dt.date(1978, 11, 20), 925, "13900000003", "330106",
    "浙江省杭州市西湖区北山街道示例路9号2幢1单元1101室",
)  # fmt: skip
_ELDER = DemoPerson(
    "陈桂英", dt.date(1940, 2, 18), 936, "13900000004", "330106",
    "浙江省杭州市西湖区西溪街道示例路30号5幢3单元201室",
)  # fmt: skip
_DEBTOR = DemoPerson(
    "冯振华", dt.date(1982, 7, 9), 947, "13900000005", "330106",
    "浙江省杭州市西湖区文新街道示例路77号4幢2单元602室", dishonest=True,
)  # fmt: skip

DEMO_ACCOUNTS: Final = (
    DemoAccount(
        "citizen", "办事群众（新手妈妈）", "搜“上户口”办出生登记；在“我的办件”看进度和电子证照",
        "林晓雨", person=_CITIZEN, real_name_level=RealNameLevel.VERIFIED,
    ),
    DemoAccount(
        "agent", "企业经办人（杭州小满餐饮）",
        "切换企业身份，搜“开饭店”，按情形引导办食品经营许可；"
        "办排水许可选“告知承诺”：无失信记录，提交即智能秒办",
        "王建国", person=_AGENT, real_name_level=RealNameLevel.VERIFIED,
    ),
    DemoAccount(
        "owner", "企业法定代表人", "以企业身份查看办件，管理经办人授权",
        "赵立新", person=_OWNER, real_name_level=RealNameLevel.VERIFIED,
    ),
    DemoAccount(
        "elder", "长辈（80周岁以上）", "长辈模式（大字、高对比）下申领尊老金（高龄津贴）",
        "陈桂英", person=_ELDER, elder_mode=True,
    ),
    DemoAccount(
        "debtor", "失信被执行人（示例，杭州晚晴餐饮法定代表人）",
        "以企业身份办排水许可选“告知承诺”：列入失信被执行人名单，秒办不成立，转人工办理",
        "冯振华", person=_DEBTOR, real_name_level=RealNameLevel.VERIFIED,
    ),
    DemoAccount(
        "window", "综合窗口人员（西湖区政务服务中心）", "工作台受理、补正、容缺受理办件",
        "周敏（综合窗口）", department="330106-ZWB", roles=("window",),
    ),
    DemoAccount(
        "window-city", "综合窗口人员（杭州市民中心）",
        "受理市级事项，如大学生创业补贴申领（申请制兑现）；"
        "打开排水许可办件看智能秒办决定依据：无失信记录即时准予，失信被执行人转人工办理",
        "钱芳（市民中心窗口）", department="330100-SJZY", roles=("window",),
    ),
    DemoAccount(
        "reviewer-scjg", "审查人员（西湖区市场监管局）", "审查食品经营许可、个体工商户登记",
        "吴磊（区市场监管局）", department="330106-SCJG", roles=("reviewer",),
    ),
    DemoAccount(
        "reviewer-gafj", "审查人员（西湖公安分局户政）", "审查出生登记、居住证申领",
        "郑婷（西湖公安分局）", department="330106-GAFJ", roles=("reviewer",),
    ),
    DemoAccount(
        "head-scjg", "部门负责人（西湖区市场监管局）", "作出许可决定，查看本部门临期、超期办件",
        "孙建华（区市场监管局）", department="330106-SCJG", roles=("department_head",),
    ),
    DemoAccount(
        "supervisor", "督办人员（西湖区政务办）", "查看红黄牌预警，对超期办件发起督办",
        "何静（区政务办）", department="330106-ZWB", roles=("supervisor",),
    ),
    DemoAccount(
        "catalog-admin", "事项管理员（市数据资源局）", "登录 /admin/ 维护事项、情形与实施清单",
        "马丽（市数据资源局）", department="330100-SJZY", roles=("catalog_admin",),
    ),
    DemoAccount(
        "admin", "系统管理员", "登录 /admin/ 管理账户、角色和系统设置",
        "系统管理员", department="330100-SJZY", roles=("system_admin",), superuser=True,
    ),
)  # fmt: skip

DEMO_ENTERPRISES: Final = (
    DemoEnterprise(
        name="杭州小满餐饮管理有限公司",
        kind="company",
        division="330106",
        body="MA2DEM01",
        industry_code="H6210",
        registered_on=dt.date(2021, 3, 15),
        address="浙江省杭州市西湖区西溪街道示例路66号1层",
        legal_representative="owner",
        agents=("agent",),
    ),
    DemoEnterprise(
        name="杭州晚晴餐饮有限公司",
        kind="company",
        division="330106",
        body="MA2DEM02",
        industry_code="H6210",
        registered_on=dt.date(2019, 8, 6),
        address="浙江省杭州市西湖区文新街道示例路90号1层",
        legal_representative="debtor",
        agents=(),
        dishonest=True,
    ),
)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def accounts_table() -> str:
    """The accounts as an aligned plain-text table (CJK characters count as two columns)."""
    rows = [("角色", "用户名", "密码", "可以试试")]
    rows += [(a.role, a.username, a.password, a.try_this) for a in DEMO_ACCOUNTS]
    widths = [max(_width(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3]
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * _width(rows[0][3]))
    return "\n".join(lines)
