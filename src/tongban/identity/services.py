"""Identity writes: registry records (persons, enterprises), accounts and government bodies.

Every function here is one transaction. ``do_*`` functions trust their input (used by imports
and the demo loader after validation); ``check_*`` functions validate and raise
``ValidationFailed`` with field paths before acting.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable

from django.db import transaction

from tongban.core.errors import Conflict, FieldError, PermissionDenied, ValidationFailed
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
    EnterpriseAgent,
    Person,
    PersonalDataAccess,
    RealNameLevel,
    ServiceCentre,
    StaffRole,
    User,
    Window,
)
from tongban.identity.selectors import forget_staff_roles


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
        defaults={
            "name": name,
            "division": division,
            "address": address,
            "opening_hours": opening_hours,
            "phone": phone,
        },
    )
    centre.windows.all().delete()
    for number, window_name, kind, departments in windows:
        window = Window.objects.create(centre=centre, number=number, name=window_name, kind=kind)
        window.departments.set(departments)
    return centre


@transaction.atomic
def check_create_person(
    *,
    id_number: str,
    name: str,
    mobile: str = "",
    address: str = "",
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
            "该身份证号已登记",
            code="duplicate_person",
            errors=[FieldError("id_number", "该身份证号已登记")],
        )
    gender = "male" if int(id_number[16]) % 2 else "female"
    return Person.objects.create(
        id_number=id_number,
        name=name.strip(),
        gender=gender,
        birth_date=birth_date_from_id_number(id_number),
        mobile=mobile,
        address=address,
        household_division=household_division,
    )


@transaction.atomic
def check_create_enterprise(
    *,
    uscc: str,
    name: str,
    kind: str,
    division: Division,
    legal_representative: Person | None = None,
    industry_code: str = "",
    registered_on: dt.date | None = None,
    address: str = "",
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
            "该统一社会信用代码已登记",
            code="duplicate_enterprise",
            errors=[FieldError("uscc", "该统一社会信用代码已登记")],
        )
    return Enterprise.objects.create(
        uscc=uscc,
        name=name.strip(),
        kind=kind,
        division=division,
        legal_representative=legal_representative,
        industry_code=industry_code,
        registered_on=registered_on,
        address=address,
    )


@transaction.atomic
def do_create_applicant_account(
    *,
    username: str,
    password: str,
    person: Person,
    real_name_level: int = RealNameLevel.BASIC,
) -> User:
    user = User(
        username=username,
        kind=AccountKind.APPLICANT,
        person=person,
        display_name=person.name,
        real_name_level=real_name_level,
    )
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def do_create_staff_account(
    *,
    username: str,
    password: str,
    display_name: str,
    department: Department,
    roles: Iterable[str],
    is_superuser: bool = False,
) -> User:
    """A staff account with roles in its department; catalog/system admins may use the admin."""
    roles = list(roles)
    user = User(
        username=username,
        kind=AccountKind.STAFF,
        display_name=display_name,
        department=department,
        real_name_level=RealNameLevel.IN_PERSON,
        is_staff=bool({"catalog_admin", "system_admin"} & set(roles)) or is_superuser,
        is_superuser=is_superuser,
    )
    user.set_password(password)
    user.save()
    StaffRole.objects.bulk_create(
        StaffRole(user=user, role=role, department=department) for role in roles
    )
    return user


# --- Personal-data access log ---------------------------------------------------------------------


PURPOSE_MAX_LENGTH = 128  # PersonalDataAccess.purpose


def record_personal_data_access(actor: User, person: Person, purpose: str) -> PersonalDataAccess:
    """Log that ``actor`` was shown ``person``'s personal data, and why (个人信息访问记录)."""
    purpose = purpose.strip()
    if not purpose:
        raise ValidationFailed(
            "请说明查看个人信息的用途",
            code="purpose_required",
            errors=[FieldError("purpose", "请说明查看个人信息的用途")],
        )
    if len(purpose) > PURPOSE_MAX_LENGTH:  # cut short, the log would no longer say what was shown
        raise ValueError(f"an access-log purpose has at most {PURPOSE_MAX_LENGTH} characters")
    return PersonalDataAccess.objects.create(actor=actor, person=person, purpose=purpose)


def record_personal_data_accesses(actor: User, persons: Iterable[Person], purpose: str) -> int:
    """Log one access per person shown together (e.g. a list page); returns the row count."""
    purpose = purpose.strip()[:128]
    rows = [PersonalDataAccess(actor=actor, person=p, purpose=purpose) for p in persons]
    if not purpose and rows:
        raise ValidationFailed("请说明查看个人信息的用途", code="purpose_required")
    PersonalDataAccess.objects.bulk_create(rows)
    return len(rows)


# --- Accounts from the unified identity provider (统一身份认证) ------------------------------------


def _account_username(subject: str) -> str:
    """A stable, opaque username for a provider subject (the subject itself may be long or
    contain characters Django usernames do not allow)."""
    return "uia-" + hashlib.sha256(subject.encode("utf-8")).hexdigest()[:24]


@transaction.atomic
def check_sign_in_from_identity_provider(
    *, subject: str, id_number: str, name: str, real_name_level: int
) -> User:
    """Find or create the applicant account for a person the identity provider vouches for.

    The account is found by the provider ``subject``; failing that, by the person's 身份证号 (an
    applicant account registered at the counter is linked to the subject). A new person and
    account are created otherwise. Staff accounts are never created or linked here: staff are
    linked to their subject by an administrator. The real-name level only ever goes up.
    """
    if not subject:
        raise ValidationFailed("统一身份认证未提供用户标识", code="subject_required")
    try:
        id_number = check_id_number(id_number)
    except InvalidIdentifier as exc:
        raise ValidationFailed(
            "统一身份认证提供的身份证号无效",
            code="invalid_id_number",
            errors=[FieldError("id_number", str(exc))],
        ) from exc
    level = RealNameLevel(real_name_level)

    user = User.objects.select_for_update().filter(oidc_subject=subject).first()
    if user is not None:
        if user.kind != AccountKind.APPLICANT:
            raise PermissionDenied("工作人员账户不能通过办事人身份登录", code="staff_subject")
        if user.person is not None and user.person.id_number != id_number:
            raise Conflict("统一身份认证的身份证号与账户登记的不一致", code="person_mismatch")
    person = Person.objects.filter(id_number=id_number).first()
    if person is None:
        person = check_create_person(id_number=id_number, name=name)
    holder = User.objects.select_for_update().filter(person=person).first()
    if holder is not None and holder != user:
        if holder.kind != AccountKind.APPLICANT:
            raise PermissionDenied("工作人员账户不能通过办事人身份登录", code="staff_person")
        if user is not None or holder.oidc_subject:
            raise Conflict("该自然人已绑定其他账户", code="subject_conflict")
        user = holder
    if user is None:
        user = User(
            username=_account_username(subject),
            kind=AccountKind.APPLICANT,
            person=person,
            display_name=person.name,
            real_name_level=level,
            oidc_subject=subject,
        )
        user.set_unusable_password()
        user.save()
        return user
    user.oidc_subject = subject
    user.person = person
    user.real_name_level = max(user.real_name_level, level)
    user.save(update_fields=["oidc_subject", "person", "real_name_level"])
    return user


@transaction.atomic
def do_grant_staff_role(user: User, role: str, department: Department) -> StaffRole:
    """Give a staff account a role in one more department (e.g. a 综合窗口 serving several)."""
    grant, _ = StaffRole.objects.get_or_create(user=user, role=role, department=department)
    forget_staff_roles(user)
    if role in ("catalog_admin", "system_admin") and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return grant


@transaction.atomic
def do_authorise_agent(
    *,
    enterprise: Enterprise,
    person: Person,
    role: str,
    valid_from: dt.date,
    valid_until: dt.date | None = None,
) -> tuple[EnterpriseAgent, bool]:
    """Record that ``person`` may act for ``enterprise`` (法定代表人/经办人) from ``valid_from``.

    Returns the authorisation and whether it was new; an existing one is left as it is."""
    if valid_until is not None and valid_until < valid_from:
        raise ValidationFailed(
            "授权截止日期早于起始日期",
            code="invalid_agency",
            errors=[FieldError("valid_until", "授权截止日期不能早于起始日期")],
        )
    return EnterpriseAgent.objects.get_or_create(
        enterprise=enterprise,
        person=person,
        role=role,
        defaults={"valid_from": valid_from, "valid_until": valid_until},
    )


def do_set_elder_mode(user: User, enabled: bool) -> None:
    """Remember an account's 长辈模式 preference (large text, high contrast)."""
    if user.elder_mode != enabled:
        user.elder_mode = enabled
        user.save(update_fields=["elder_mode"])
