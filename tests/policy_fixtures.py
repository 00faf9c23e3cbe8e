"""Shared set-up for the policy tests: divisions, the funding/legality/finance departments, their
staff, an outsider department, person profiles and a published policy."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tests.factories import (
    ApplicantFactory,
    DepartmentFactory,
    DivisionFactory,
    PersonFactory,
    StaffUserFactory,
    make_id_number,
)
from tongban.identity.models import DivisionLevel
from tongban.policies import services
from tongban.policies.models import PersonProfile, Policy

PAY_DAY = dt.date(2026, 11, 5)


@dataclass
class World:
    author: Any
    head: Any
    legal: Any
    finance: Any
    outsider: Any
    outsider_head: Any
    departments: dict[str, Any]


def make_world() -> World:
    province = DivisionFactory(code="330000", name="浙江省", level=DivisionLevel.PROVINCE)
    city = DivisionFactory(code="330100", name="杭州市", level=DivisionLevel.CITY, parent=province)
    DivisionFactory(code="330106", name="西湖区", level=DivisionLevel.DISTRICT, parent=city)
    DivisionFactory(code="330212", name="鄞州区", level=DivisionLevel.DISTRICT, parent=province)
    depts = {
        code: DepartmentFactory(code=code, name=name, division=city)
        for code, name in (
            ("T-MZJ", "民政局"),
            ("T-SFJ", "司法局"),
            ("T-CZJ", "财政局"),
            ("T-OTHER", "交通局"),
        )
    }
    return World(
        author=StaffUserFactory(department=depts["T-MZJ"], roles=["reviewer"]),
        head=StaffUserFactory(department=depts["T-MZJ"], roles=["department_head"]),
        legal=StaffUserFactory(department=depts["T-SFJ"], roles=["reviewer"]),
        finance=StaffUserFactory(department=depts["T-CZJ"], roles=["reviewer"]),
        outsider=StaffUserFactory(department=depts["T-OTHER"], roles=["reviewer"]),
        outsider_head=StaffUserFactory(department=depts["T-OTHER"], roles=["department_head"]),
        departments=depts,
    )


ELDER_RULE = {
    "all": [
        {"years_since": "birth_date", "on": "$payment_date", "op": ">=", "value": 80},
        {"attr": "household_division", "op": "within", "value": "330100"},
        {"attr": "alive", "op": "==", "value": True},
        {"attr": "bank_account_on_file", "op": "==", "value": True},
    ]
}


def draft(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "legal_basis": "示例政策文件（测试）",
        "summary": "测试",
        "period_kind": "monthly",
        "budget": "1000",
        "legality_department": "T-SFJ",
        "finance_department": "T-CZJ",
        "items": [
            {
                "code": "T-ELDER",
                "name": "高龄津贴",
                "mode": "exempt",
                "priority": 10,
                "conditions": ELDER_RULE,
                "amount": 100,
            }
        ],
    }
    data.update(overrides)
    return data


def publish(world: World, code: str = "T-POLICY", **overrides: Any) -> Policy:
    services.check_create_policy(
        world.author, code=code, title="测试政策", target="person", department="T-MZJ"
    )
    version = services.check_save_draft(world.author, code, draft(**overrides))
    services.check_submit(world.author, code, version.number)
    services.check_review(world.legal, code, version.number, step="legality", approved=True)
    services.check_review(world.finance, code, version.number, step="finance", approved=True)
    return Policy.objects.get(code=code)


def elder_profile(
    n: int, *, age: int = 85, bank: bool | None = True, division: str = "330106", **extra: Any
) -> PersonProfile:
    born = dt.date(PAY_DAY.year - age, 1, 1 + n % 28)
    return PersonProfile.objects.create(
        id_number=make_id_number("330106", born, 100 + n),
        name=f"长者{n}",
        birth_date=born,
        household_division_code=division,
        alive=True,
        bank_account_on_file=bank,
        tags=[],
        **extra,
    )


def applicant_for(profile: PersonProfile) -> Any:
    """An applicant account whose person is the profile's 身份证号."""
    person = PersonFactory(id_number=profile.id_number, name=profile.name)
    return ApplicantFactory(person=person)
