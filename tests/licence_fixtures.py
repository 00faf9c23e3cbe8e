"""Shared fixtures for licence tests: an issuing department with staff, holders, a licence type
and issued licences."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from tests.factories import (
    ApplicantFactory,
    DepartmentFactory,
    EnterpriseAgentFactory,
    StaffUserFactory,
)
from tongban.identity.models import Department, User
from tongban.licences import services
from tongban.licences.models import HolderKind, Licence, LicenceType


@dataclass
class LicenceWorld:
    department: Department
    other_department: Department
    licence_type: LicenceType
    holder: User
    other_holder: User
    agent: User  # 经办人 of the enterprise holding ``enterprise_licence``
    clerk: User  # reviewer of the issuing department
    head: User  # department head of the issuing department
    outsider: User  # department head of another department
    licence: Licence
    enterprise_licence: Licence


def make_type(department: Department, **overrides: object) -> LicenceType:
    fields = {
        "code": "LT-TEST-PERMIT",
        "name": "测试许可证",
        "number_prefix": "CS",
        "department": department,
        "holder_kind": HolderKind.EITHER,
        "fields": [
            {"key": "scope", "label": "许可范围", "source": "form.scope"},
            {"key": "address", "label": "地址", "source": "form.address"},
        ],
        "validity_months": 60,
        "reminder_days": [30, 7],
        "renewal_item_code": "SC-FOOD-001",
    }
    fields.update(overrides)
    return LicenceType.objects.create(**fields)


@pytest.fixture
def world(db: object) -> LicenceWorld:
    department = DepartmentFactory(name="示例市场监督管理局")
    other = DepartmentFactory(name="示例公安局")
    licence_type = make_type(department)
    holder = ApplicantFactory()
    other_holder = ApplicantFactory()
    agency = EnterpriseAgentFactory()
    agent = ApplicantFactory(person=agency.person)
    licence = services.do_issue(
        licence_type,
        holder_person=holder.person,
        data={"scope": "预包装食品销售", "address": "示例路1号"},
        valid_from=dt.date.today(),
    )
    enterprise_licence = services.do_issue(
        licence_type,
        holder_enterprise=agency.enterprise,
        data={"scope": "餐饮服务", "address": "示例路2号"},
        valid_from=dt.date.today(),
    )
    return LicenceWorld(
        department=department,
        other_department=other,
        licence_type=licence_type,
        holder=holder,
        other_holder=other_holder,
        agent=agent,
        clerk=StaffUserFactory(department=department, roles=["reviewer"]),
        head=StaffUserFactory(department=department, roles=["department_head"]),
        outsider=StaffUserFactory(department=other, roles=["department_head", "reviewer"]),
        licence=licence,
        enterprise_licence=enterprise_licence,
    )
