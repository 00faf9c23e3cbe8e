"""Sample policies from the seeds, with deterministic synthetic 一企一档/一人一档 profiles.

Each policy cites the seed case it comes from. What the seeds state is kept as stated — 尊老金:
age 80+, household registration in the area, alive, bank account, pension recipients, 免申即享
(Xuzhou, 004c E2); 高新技术企业奖励 / 新增规上奖励 / 新增入统奖励 as list-based 免申 rewards
(Heilongjiang, 004a C5b); graduate housing subsidy checking 学历, 社保 and 户籍 with payment lists
in the first 3 working days of each month, 即申即享 (Dalian, 004b 3-2); the graduate startup
subsidy applied for through its catalog item and paid on 准予, 申请制 (Chongqing, 004 3-12);
employment subsidies with a credit check and one-click confirmation (Chongqing high-tech zone, 002 §1.3); the elderly-care
bed subsidy tiers (own property ≥ 50 beds: 10,000 city + 5,000 district per bed; leased ≥ 20
beds: 5,000 + 1,000; Chongqing, 002 §1.22). Amounts and thresholds the seeds do not give are
marked 示例 (sample) in the summaries. The policies are placed in the demo city (杭州市) and
go through the real services: draft → 合法性审查 → 财政审核 → published.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from tongban.identity import services as identity_services
from tongban.identity.models import Department, Division, User
from tongban.identity.synthetic import SyntheticEnterprise, SyntheticPerson

CITY = "330100"
POLICY_DEPARTMENTS = (
    ("330100-SFJ", "杭州市司法局", "市司法局"),
    ("330100-CZJ", "杭州市财政局", "市财政局"),
    ("330100-JXJ", "杭州市经济和信息化局", "市经信局"),
)
POLICY_STAFF = (
    # username, display name, department, roles
    ("policy-mzj", "刘洋（市民政局 政策）", "330100-MZJ", ("reviewer", "policy_admin")),
    ("policy-head-mzj", "高峰（市民政局 负责人）", "330100-MZJ", ("department_head",)),
    (
        "policy-rsj",
        "韩雪（市人社局 政策）",
        "330100-RSJ",
        ("reviewer", "department_head", "policy_admin"),
    ),
    (
        "policy-jxj",
        "彭涛（市经信局 政策）",
        "330100-JXJ",
        ("reviewer", "department_head", "policy_admin"),
    ),
    (
        "policy-legal",
        "宋佳（市司法局 合法性审查）",
        "330100-SFJ",
        ("reviewer", "legality_reviewer"),
    ),
    ("policy-finance", "袁明（市财政局 财政审核）", "330100-CZJ", ("reviewer", "finance_reviewer")),
)
REVIEW = {"legality_department": "330100-SFJ", "finance_department": "330100-CZJ"}

SAMPLE_POLICIES: tuple[dict[str, Any], ...] = (
    {
        "code": "ZLJ-2026",
        "title": "尊老金（高龄津贴）免申即享",
        "target": "person",
        "department": "330100-MZJ",
        "draft": {
            "legal_basis": "徐州市尊老金申领一件事（种子案例 8-1）；本市实施办法（示例）",
            "summary": "80周岁以上、户籍在本市、在世、已登记银行账户的养老金领取人员，无需申请按月发放。"
            "金额分档为示例。",
            "period_kind": "monthly",
            "schedule": "first_3_workdays",
            "budget": "2000000",
            **REVIEW,
            "items": [
                {
                    "code": "ZLJ-MONTHLY",
                    "name": "尊老金按月发放",
                    "mode": "exempt",
                    "priority": 10,
                    "conditions": {
                        "all": [
                            {
                                "years_since": "birth_date",
                                "on": "$payment_date",
                                "op": ">=",
                                "value": 80,
                            },
                            {"attr": "household_division", "op": "within", "value": CITY},
                            {"attr": "alive", "op": "==", "value": True},
                            {"attr": "bank_account_on_file", "op": "==", "value": True},
                            {"attr": "pension_status", "op": "==", "value": "receiving"},
                        ]
                    },
                    "amount": {
                        "cases": [
                            {
                                "when": {
                                    "years_since": "birth_date",
                                    "on": "$payment_date",
                                    "op": ">=",
                                    "value": 100,
                                },
                                "amount": 500,
                            },
                            {
                                "when": {
                                    "years_since": "birth_date",
                                    "on": "$payment_date",
                                    "op": ">=",
                                    "value": 90,
                                },
                                "amount": 100,
                            },
                        ],
                        "otherwise": 50,
                    },
                }
            ],
        },
    },
    {
        "code": "HQ-JL-2026",
        "title": "惠企奖励：高新技术企业、新增规上、新增入统（名单制免申）",
        "target": "enterprise",
        "department": "330100-JXJ",
        "draft": {
            "legal_basis": "黑龙江省惠企政策服务平台名单类免申事项（种子案例 1-11）；本市奖励办法（示例）",
            "summary": "特定名单类奖励：系统自动生成符合条件的企业名单，内部审核后免申请、免办理兑现。"
            "奖励金额为示例。",
            "period_kind": "yearly",
            "budget": "3000000",
            **REVIEW,
            "items": [
                {
                    "code": "HQ-GXJS",
                    "name": "高新技术企业奖励",
                    "mode": "exempt",
                    "priority": 10,
                    "conditions": {
                        "all": [
                            {"attr": "tags", "op": "has_tag", "value": "高新技术企业"},
                            {"ref": "纳税信用良好"},
                            {"attr": "division", "op": "within", "value": CITY},
                        ]
                    },
                    "amount": 100000,
                },
                {
                    "code": "HQ-XZGS",
                    "name": "新增规上奖励",
                    "mode": "exempt",
                    "priority": 20,
                    "conditions": {
                        "all": [
                            {"attr": "tags", "op": "has_tag", "value": "新增规上"},
                            {"ref": "纳税信用良好"},
                        ]
                    },
                    "amount": 200000,
                },
                {
                    "code": "HQ-XZRT",
                    "name": "新增入统奖励",
                    "mode": "exempt",
                    "priority": 30,
                    "conditions": {"attr": "tags", "op": "has_tag", "value": "新增入统"},
                    "amount": 50000,
                },
            ],
        },
    },
    {
        "code": "BYS-ZF-2026",
        "title": "高校毕业生住房补贴（即申即享）",
        "target": "person",
        "department": "330100-RSJ",
        "draft": {
            "legal_basis": "大连智慧人才服务平台高校毕业生住房补贴（种子案例 3-2）；本市办法（示例）",
            "summary": "只填姓名、身份证号、毕业学校；平台自动核验学历、社保、户籍，每月前3个工作日生成发放名单。"
            "毕业年限与金额为示例。",
            "period_kind": "monthly",
            "schedule": "first_3_workdays",
            "confirm_window_days": 10,
            "budget": "1000000",
            **REVIEW,
            "items": [
                {
                    "code": "BYS-ZF",
                    "name": "高校毕业生住房补贴",
                    "mode": "confirm",
                    "priority": 10,
                    "conditions": {
                        "all": [
                            {
                                "attr": "education",
                                "op": "in",
                                "value": ["bachelor", "master", "doctor"],
                            },
                            {
                                "years_since": "graduated_on",
                                "on": "$period_start",
                                "op": "<",
                                "value": 5,
                            },
                            {"attr": "social_insurance_months", "op": ">=", "value": 1},
                            {"attr": "household_division", "op": "within", "value": CITY},
                        ]
                    },
                    "amount": {
                        "cases": [
                            {
                                "when": {"attr": "education", "op": "==", "value": "doctor"},
                                "amount": 3000,
                            },
                            {
                                "when": {"attr": "education", "op": "==", "value": "master"},
                                "amount": 1500,
                            },
                        ],
                        "otherwise": 800,
                    },
                }
            ],
        },
    },
    {
        "code": "CY-BT-2026",
        "title": "高校毕业生一次性创业补贴（申请制）",
        "target": "person",
        "department": "330100-RSJ",
        "draft": {
            "legal_basis": "重庆“大学生创新创业一件事”创业补贴申领（种子案例 3-12）；"
            "《就业补助资金管理办法》（财社〔2017〕164号）",
            "summary": "毕业5年内的高校毕业生在本市创业、缴纳社保满6个月，在线申请，人社部门审核准予后"
            "一次性发放。需提交创业主体信息，由部门核实，故为申请制。金额为示例。",
            "period_kind": "once",
            "budget": "500000",
            **REVIEW,
            "items": [
                {
                    "code": "CY-BT",
                    "name": "高校毕业生一次性创业补贴",
                    "mode": "application",
                    "catalog_item": "330100-RSJ.graduate-startup-subsidy",
                    "priority": 10,
                    "conditions": {
                        "all": [
                            {"attr": "tags", "op": "has_tag", "value": "高校毕业生"},
                            {
                                "years_since": "graduated_on",
                                "on": "$payment_date",
                                "op": "<",
                                "value": 5,
                            },
                            {"attr": "social_insurance_months", "op": ">=", "value": 6},
                            {"attr": "household_division", "op": "within", "value": CITY},
                        ]
                    },
                    "amount": 10000,
                }
            ],
        },
    },
    {
        "code": "JY-BT-2026",
        "title": "就业补贴免申即享（政策找人、一键确认）",
        "target": "enterprise",
        "department": "330100-RSJ",
        "draft": {
            "legal_basis": "重庆高新区就业补贴“免申即享”（种子案例 002 §1.3）；本市办法（示例）",
            "summary": "按政策服务对象模板筛选，征信查验后短信告知，企业一键确认后拨付。补贴标准为示例。",
            "period_kind": "yearly",
            "confirm_window_days": 15,
            "budget": "800000",
            **REVIEW,
            "items": [
                {
                    "code": "JY-XNJY",
                    "name": "一次性吸纳就业补贴",
                    "mode": "confirm",
                    "priority": 10,
                    "conditions": {
                        "all": [
                            {"attr": "tags", "op": "has_tag", "value": "吸纳重点群体就业"},
                            {"attr": "new_hires", "op": ">=", "value": 1},
                            {"ref": "纳税信用良好"},
                        ]
                    },
                    "amount": {"per_head": "new_hires", "amount": 1000, "cap": 50000},
                },
                {
                    "code": "JY-WGLG",
                    "name": "稳岗留工补贴",
                    "mode": "confirm",
                    "priority": 20,
                    "conditions": {
                        "all": [
                            {"attr": "employees", "op": ">=", "value": 10},
                            {"attr": "revenue_growth", "op": ">=", "value": 0},
                            {"ref": "纳税信用良好"},
                        ]
                    },
                    "amount": {"percent_of": "tax_paid", "percent": 5, "cap": 100000},
                },
            ],
        },
    },
    {
        "code": "YL-CW-2026",
        "title": "养老机构新增床位一次性建设补贴",
        "target": "enterprise",
        "department": "330100-MZJ",
        "draft": {
            "legal_basis": "重庆江北区养老机构一次性建设补贴（种子案例 002 §1.22）",
            "summary": "自有产权新增≥50张：市级每床1万元、区级每床5000元；租赁产权新增≥20张：市级每床5000元、"
            "区级每床1000元。",
            "period_kind": "once",
            "budget": "5000000",
            **REVIEW,
            "items": [
                {
                    "code": "YL-CW-CITY",
                    "name": "新增床位建设补贴（市级）",
                    "mode": "confirm",
                    "priority": 10,
                    "conditions": {"attr": "tags", "op": "has_tag", "value": "养老机构"},
                    "amount": {
                        "cases": [
                            {
                                "when": {"attr": "care_property", "op": "==", "value": "own"},
                                "amount": {
                                    "tiers": "care_beds_new",
                                    "bands": [
                                        {
                                            "from": 50,
                                            "amount": {
                                                "per_head": "care_beds_new",
                                                "amount": 10000,
                                            },
                                        }
                                    ],
                                },
                            },
                            {
                                "when": {"attr": "care_property", "op": "==", "value": "leased"},
                                "amount": {
                                    "tiers": "care_beds_new",
                                    "bands": [
                                        {
                                            "from": 20,
                                            "amount": {"per_head": "care_beds_new", "amount": 5000},
                                        }
                                    ],
                                },
                            },
                        ]
                    },
                },
                {
                    "code": "YL-CW-DISTRICT",
                    "name": "新增床位建设补贴（区级）",
                    "mode": "confirm",
                    "priority": 20,
                    "conditions": {"attr": "tags", "op": "has_tag", "value": "养老机构"},
                    "amount": {
                        "cases": [
                            {
                                "when": {"attr": "care_property", "op": "==", "value": "own"},
                                "amount": {
                                    "tiers": "care_beds_new",
                                    "bands": [
                                        {
                                            "from": 50,
                                            "amount": {"per_head": "care_beds_new", "amount": 5000},
                                        }
                                    ],
                                },
                            },
                            {
                                "when": {"attr": "care_property", "op": "==", "value": "leased"},
                                "amount": {
                                    "tiers": "care_beds_new",
                                    "bands": [
                                        {
                                            "from": 20,
                                            "amount": {"per_head": "care_beds_new", "amount": 1000},
                                        }
                                    ],
                                },
                            },
                        ]
                    },
                },
            ],
        },
    },
)

NAMED_CONDITIONS = (
    (
        "纳税信用良好",
        "enterprise",
        {"attr": "tax_credit_grade", "op": "in", "value": ["A", "B", "M"]},
        "纳税信用等级为 A、B 或 M（征信查验）",
    ),
)


# --- synthetic profiles -------------------------------------------------------------------------
def _rng(seed: int, key: str) -> random.Random:
    return random.Random(f"{seed}:{key}")  # noqa: S311 - reproducible sample data


def person_profile(person: SyntheticPerson | Any, seed: int) -> dict[str, Any]:
    """A deterministic 一人一档 for a (synthetic or demo) person; some data missing on purpose."""
    rng = _rng(seed, person.id_number)
    age = (dt.date(2026, 11, 1) - person.birth_date).days // 365
    graduated = person.birth_date.replace(year=person.birth_date.year + 22) if age < 35 else None
    row: dict[str, Any] = {
        "id_number": person.id_number,
        "name": person.name,
        "birth_date": person.birth_date,
        "household_division": person.household_division,
        "alive": rng.random() > 0.02,
        "pension_status": "receiving" if age >= 60 and rng.random() > 0.1 else "not_receiving",
        "bank_account_on_file": rng.random() > 0.1,
        "disability_grade": rng.choice([1, 2, 3, 4]) if rng.random() < 0.05 else None,
        "education": rng.choice(
            ["secondary", "junior_college", "bachelor", "bachelor", "master", "doctor"]
        ),
        "graduated_on": graduated,
        "graduate_school": rng.choice(["浙江大学", "杭州电子科技大学", "浙江工业大学"])
        if graduated
        else None,
        "social_insurance_months": rng.randint(0, 60) if age < 60 else None,
        "employment_status": "retired"
        if age >= 60
        else rng.choice(["employed", "employed", "unemployed"]),
        "tags": sorted({t for t in ("高校毕业生", "失业人员") if rng.random() < 0.2}),
    }
    if rng.random() < 0.05:
        row["bank_account_on_file"] = None  # not yet confirmed by the bank: unknown, never false
    return row


def enterprise_profile(enterprise: SyntheticEnterprise | Any, seed: int) -> dict[str, Any]:
    rng = _rng(seed, enterprise.uscc)
    employees = rng.randint(1, 400)
    tags = set()
    for tag, share in (
        ("高新技术企业", 0.2),
        ("新增规上", 0.1),
        ("新增入统", 0.1),
        ("专精特新", 0.08),
        ("规上企业", 0.3),
        ("吸纳重点群体就业", 0.3),
        ("养老机构", 0.08),
    ):
        if rng.random() < share:
            tags.add(tag)
    return {
        "uscc": enterprise.uscc,
        "name": enterprise.name,
        "industry": enterprise.industry_code,
        "size_class": "micro" if employees < 10 else "small" if employees < 100 else "medium",
        "registered_on": enterprise.registered_on,
        "division": enterprise.division,
        "employees": employees,
        "new_hires": rng.randint(0, 40),
        "revenue": round(rng.uniform(50, 50_000), 1),
        "revenue_growth": round(rng.uniform(-20, 40), 1),
        "tax_paid": round(rng.uniform(1_000, 3_000_000), 2),
        "tax_credit_grade": rng.choice("AABBBMC") if rng.random() > 0.05 else None,
        "care_beds_new": rng.randint(10, 120) if "养老机构" in tags else None,
        "care_property": rng.choice(["own", "leased"]) if "养老机构" in tags else None,
        "tags": sorted(tags),
    }


def save_profiles(target: str, rows: Iterable[dict[str, Any]]) -> int:
    """Create the profiles that are not there yet (by key); return how many were created."""
    from tongban.policies.schema import schema_for
    from tongban.policies.selectors import profile_model

    schema = schema_for(target)
    model = profile_model(target)
    rows = list(rows)
    existing = set(
        model.objects.filter(**{f"{schema.key}__in": [r[schema.key] for r in rows]}).values_list(
            schema.key, flat=True
        )
    )
    new = [
        model(**{schema.get(k).model_column: v for k, v in r.items()})  # type: ignore[union-attr]
        for r in rows
        if r[schema.key] not in existing
    ]
    model.objects.bulk_create(new)
    return len(new)


# --- loading ------------------------------------------------------------------------------------
def ensure_policy_staff(password: str) -> dict[str, User]:
    city = Division.objects.get(code=CITY)
    for code, name, short in POLICY_DEPARTMENTS:
        identity_services.do_upsert_department(code, name, short, city)
    users: dict[str, User] = {}
    for username, display, department, roles in POLICY_STAFF:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = identity_services.do_create_staff_account(
                username=username,
                password=password,
                display_name=display,
                department=Department.objects.get(code=department),
                roles=roles,
            )
        else:  # an earlier demo: grant the roles added since
            for role in roles:
                identity_services.do_grant_staff_role(
                    user, role, Department.objects.get(code=department)
                )
        users[username] = user
    return users


def publish_sample_policies(users: dict[str, User]) -> list[str]:
    """Create, review and publish every sample policy not there yet; return the codes created."""
    from tongban.policies import services
    from tongban.policies.models import NamedCondition, Policy

    author_for = {
        "330100-MZJ": users["policy-mzj"],
        "330100-RSJ": users["policy-rsj"],
        "330100-JXJ": users["policy-jxj"],
    }
    for name, target, rule, description in NAMED_CONDITIONS:
        if not NamedCondition.objects.filter(name=name).exists():
            services.check_save_named_condition(
                users["policy-jxj"], name, target, rule, description
            )
    created = []
    for spec in SAMPLE_POLICIES:
        if Policy.objects.filter(code=spec["code"]).exists():
            continue
        author = author_for[spec["department"]]
        with transaction.atomic():
            services.check_create_policy(
                author,
                code=spec["code"],
                title=spec["title"],
                target=spec["target"],
                department=spec["department"],
            )
            version = services.check_save_draft(author, spec["code"], spec["draft"])
            services.check_submit(author, spec["code"], version.number)
            services.check_review(
                users["policy-legal"], spec["code"], version.number, step="legality", approved=True
            )
            services.check_review(
                users["policy-finance"], spec["code"], version.number, step="finance", approved=True
            )
        created.append(spec["code"])
    return created


def load_policy_sample(
    persons: Iterable[Any], enterprises: Iterable[Any], *, seed: int, password: str
) -> dict[str, int]:
    """Profiles for the synthetic registries and the demo accounts, policy staff, and the
    sample policies (published). Safe to run again: existing rows are kept."""
    from tongban.demo.accounts import DEMO_ACCOUNTS, DEMO_ENTERPRISES

    person_rows = [person_profile(p, seed) for p in persons]
    for account in DEMO_ACCOUNTS:
        if account.person is None:
            continue
        row = person_profile(account.person, seed)
        if account.username == "elder":  # the 尊老金 story: every check passes
            row.update(alive=True, bank_account_on_file=True, pension_status="receiving")
        if account.username == "citizen":  # a recent graduate: the housing subsidy offer
            row.update(
                education="master",
                graduated_on=dt.date(2024, 6, 30),
                graduate_school="浙江大学",
                social_insurance_months=20,
                tags=["高校毕业生"],
            )
        person_rows.append(row)
    enterprise_rows = [enterprise_profile(e, seed) for e in enterprises]
    for demo in DEMO_ENTERPRISES:
        row = enterprise_profile(demo, seed)
        if demo.dishonest:  # the sample's 失信被执行人: no 惠企 story, a poor tax credit grade
            enterprise_rows.append({**row, "tax_credit_grade": "D"})
            continue
        row.update(
            tags=["吸纳重点群体就业", "小微企业"],
            new_hires=6,
            tax_credit_grade="A",
            employees=18,
            revenue_growth=None,  # not yet reported: 稳岗留工 stays unknown, and says why
        )
        enterprise_rows.append(row)
    counts = {
        "person_profiles": save_profiles("person", person_rows),
        "enterprise_profiles": save_profiles("enterprise", enterprise_rows),
    }
    users = ensure_policy_staff(password)
    counts["policies"] = len(publish_sample_policies(users))
    return counts
