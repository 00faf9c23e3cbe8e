"""Who may do what: small yes/no answers about an account, used by services, pages and the admin.

Staff authority comes only from ``StaffRole`` rows (a role within one department), never from
Django's per-model permissions. Two roles open the Django admin: 事项管理员 (``catalog_admin``)
for the catalog and 系统管理员 (``system_admin``) for everything; an account must also be
``is_staff``. A Django superuser may use the whole admin (it is how a new installation is
bootstrapped), but seeing unmasked personal data needs the ``system_admin`` role itself, so that
every such view is tied to an accountable role assignment. Applicants act for an enterprise only
through a valid, unrevoked 经办人授权.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from axes.helpers import get_client_username
from django.http import HttpRequest

from tongban.identity.models import AccountKind, Department, Enterprise, Role
from tongban.identity.selectors import staff_role_grants, valid_agencies


def _active(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def has_role(user: Any, role: str, department: Department | int | None = None) -> bool:
    """Whether ``user`` holds ``role`` (in ``department`` when given, else in any department)."""
    grants = staff_role_grants(user)
    if department is None:
        return any(held == role for held, _ in grants)
    department_id = department if isinstance(department, int) else department.pk
    return (role, department_id) in grants


def is_staff_member(user: Any) -> bool:
    """An active staff account (工作人员), whatever its roles."""
    return _active(user) and user.kind == AccountKind.STAFF


def is_applicant(user: Any) -> bool:
    """An active applicant account (办事群众/企业)."""
    return _active(user) and user.kind == AccountKind.APPLICANT


def can_use_admin(user: Any) -> bool:
    """Whether ``user`` may open the Django admin at all."""
    return can_manage_catalog(user) or can_administer_system(user)


def can_administer_system(user: Any) -> bool:
    """系统管理员: accounts, staff roles, persons, enterprises and government bodies."""
    if not (_active(user) and user.is_staff):
        return False
    return bool(user.is_superuser) or has_role(user, Role.SYSTEM_ADMIN)


def can_manage_catalog(user: Any) -> bool:
    """事项管理员 (or a system administrator): the catalog, its import and 实施清单."""
    if not (_active(user) and user.is_staff):
        return False
    return (
        bool(user.is_superuser)
        or has_role(user, Role.CATALOG_ADMIN)
        or has_role(user, Role.SYSTEM_ADMIN)
    )


def can_view_unmasked_personal_data(user: Any) -> bool:
    """Whether full 身份证号/手机号 may be shown to ``user`` (each showing is logged)."""
    return _active(user) and has_role(user, Role.SYSTEM_ADMIN)


def acts_for_enterprise(user: Any, enterprise: Enterprise, *, on: dt.date | None = None) -> bool:
    """Whether an applicant account's person holds a valid 经办人授权 for ``enterprise``."""
    if not is_applicant(user) or user.person_id is None:
        return False
    return valid_agencies(user.person, on=on).filter(enterprise=enterprise).exists()


def login_lockout_parameters(
    request_or_attempt: Any, credentials: dict[str, Any] | None = None
) -> list[str]:
    """What a failed login is counted against (``AXES_LOCKOUT_PARAMETERS``): the account name
    and the source address; only the address when the attempt named no account (an OIDC
    callback), so that such failures never pile up in one bucket shared by everybody."""
    if isinstance(request_or_attempt, HttpRequest):
        username = get_client_username(request_or_attempt, credentials)
    else:  # an AccessAttempt/AccessLog row
        username = getattr(request_or_attempt, "username", None)
    return ["username", "ip_address"] if username else ["ip_address"]
