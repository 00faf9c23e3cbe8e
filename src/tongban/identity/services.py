"""Identity writes: registry records (persons, enterprises), accounts and government bodies.

Every function here is one transaction. ``do_*`` functions trust their input (used by imports
and the demo loader after validation); ``check_*`` functions validate and raise
``ValidationFailed`` with field paths before acting.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction

from tongban.core.errors import FieldError, ValidationFailed
from tongban.core.identifiers import (
    InvalidIdentifier,
    birth_date_from_id_number,
    check_id_number,
    check_uscc,
)
from tongban.identity.models import (
    AccountKind,
    Department,
    Division,
    Enterprise,
    Person,
    RealNameLevel,
    ServiceCentre,
    StaffRole,
    User,
    Window,
)


def do_upsert_division(code: str, name: str, level: str, parent: Division | None) -> Division:
    division, _ = Division.objects.update_or_create(
        code=code, defaults={"name": name, "level": level, "parent": parent}
    )
    return division


def do_upsert_department(code: str, name: str, short_name: str, division: Division) -> Department:
    department, _ = Department.objects.update_or_create(
        code=code, defaults={"name": name, "short_name": short_name, "division": division}
    )
    return department


def do_upsert_service_centre(
    code: str,
    name: str,
    division: Division,
    address: str,
    opening_hours: str,
    phone: str,
    windows: Iterable[tuple[str, str, str, list[Department]]],
) -> ServiceCentre:
    """Create or replace a centre and its windows ``(number, name, kind, departments)``."""
    centre, _ = ServiceCentre.objects.update_or_create(
        code=code,
        defaults={"name": name, "division": division, "address": address,
                  "opening_hours": opening_hours, "phone": phone},
    )
    centre.windows.all().delete()
    for number, window_name, kind, departments in windows:
        window = Window.objects.create(centre=centre, number=number, name=window_name, kind=kind)
        window.departments.set(departments)
    return centre


@transaction.atomic
def check_create_person(
    *, id_number: str, name: str, mobile: str = "", address: str = "",
    household_division: Division | None = None,
) -> Person:
    """Register a natural person after checking the 身份证号 (GB 11643)."""
    errors = []
    try:
        id_number = check_id_number(id_number)
    except InvalidIdentifier as exc:
        errors.append(FieldError("id_number", str(exc)))
    if not name.strip():
        errors.append(FieldError("name", "请填写姓名"))
    if mobile and not (len(mobile) == 11 and mobile.isdigit() and mobile[0] == "1"):
        errors.append(FieldError("mobile", "手机号应为以1开头的11位数字"))
    if errors:
        raise ValidationFailed("自然人信息有误", code="invalid_person", errors=errors)
    if Person.objects.filter(id_number=id_number).exists():
        raise ValidationFailed(
            "该身份证号已登记", code="duplicate_person",
            errors=[FieldError("id_number", "该身份证号已登记")],
        )
    gender = "male" if int(id_number[16]) % 2 else "female"
    return Person.objects.create(
        id_number=id_number, name=name.strip(), gender=gender,
        birth_date=birth_date_from_id_number(id_number), mobile=mobile, address=address,
        household_division=household_division,
    )


@transaction.atomic
def check_create_enterprise(
    *, uscc: str, name: str, kind: str, division: Division,
    legal_representative: Person | None = None, industry_code: str = "",
    registered_on: dt.date | None = None, address: str = "",
) -> Enterprise:
    """Register a legal person after checking the 统一社会信用代码 (GB 32100)."""
    errors = []
    try:
        uscc = check_uscc(uscc)
    except InvalidIdentifier as exc:
        errors.append(FieldError("uscc", str(exc)))
    if not name.strip():
        errors.append(FieldError("name", "请填写名称"))
    if errors:
        raise ValidationFailed("法人信息有误", code="invalid_enterprise", errors=errors)
    if Enterprise.objects.filter(uscc=uscc).exists():
        raise ValidationFailed(
            "该统一社会信用代码已登记", code="duplicate_enterprise",
            errors=[FieldError("uscc", "该统一社会信用代码已登记")],
        )
    return Enterprise.objects.create(
        uscc=uscc, name=name.strip(), kind=kind, division=division,
        legal_representative=legal_representative, industry_code=industry_code,
        registered_on=registered_on, address=address,
    )


@transaction.atomic
def do_create_applicant_account(
    *, username: str, password: str, person: Person,
    real_name_level: int = RealNameLevel.BASIC,
) -> User:
    user = User(
        username=username, kind=AccountKind.APPLICANT, person=person, display_name=person.name,
        real_name_level=real_name_level,
    )
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def do_create_staff_account(
    *, username: str, password: str, display_name: str, department: Department,
    roles: Iterable[str], is_superuser: bool = False,
) -> User:
    """A staff account with roles in its department; catalog/system admins may use the admin."""
    roles = list(roles)
    user = User(
        username=username, kind=AccountKind.STAFF, display_name=display_name,
        department=department, real_name_level=RealNameLevel.IN_PERSON,
        is_staff=bool({"catalog_admin", "system_admin"} & set(roles)) or is_superuser,
        is_superuser=is_superuser,
    )
    user.set_password(password)
    user.save()
    StaffRole.objects.bulk_create(
        StaffRole(user=user, role=role, department=department) for role in roles
    )
    return user
