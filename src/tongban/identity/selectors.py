"""Identity reads: a staff account's roles and departments, a person's valid agencies (经办人授权)
and the personal-data access log.

Other apps ask these questions through here rather than querying identity models. Role lookups
load a staff account's roles once and keep them on the user object for the rest of the request,
so admin pages and permission checks that ask many times cost one query; a read that needs the
roles anyway can carry them in its own statement (``StaffRoleGrantsOf`` as a column, then
``remember_staff_roles``) and save even that one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Expression, Q, QuerySet, TextField
from django.utils import timezone

from tongban.core.compiled import CompiledRead
from tongban.identity.models import (
    AccountKind,
    Department,
    Division,
    Enterprise,
    EnterpriseAgent,
    Person,
    PersonalDataAccess,
    Role,
    StaffRole,
    User,
)

_ROLE_CACHE = "_tongban_staff_roles"

_ROLE_GRANTS = CompiledRead(
    lambda user_id: StaffRole.objects.filter(user_id=user_id).values_list("role", "department_id"),
    (int,),
    "staff_role_grants",
)  # compiled once: every staff request reads it

RoleGrant = tuple[str, int]
"""``(role, department id)`` of one ``StaffRole`` row."""


def staff_role_grants(user: Any) -> frozenset[RoleGrant]:
    """The ``(role, department id)`` pairs an active staff account holds; empty for anyone else.

    Cached on the user object; call ``forget_staff_roles`` after changing a loaded user's roles."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    if user.kind != AccountKind.STAFF:
        return frozenset()
    cached = getattr(user, _ROLE_CACHE, None)
    if cached is None:
        cached = frozenset(_ROLE_GRANTS(user.pk))
        setattr(user, _ROLE_CACHE, cached)
    return cached


class StaffRoleGrantsOf(Expression):
    """A column holding the role grants of the staff account ``user_id`` (a scalar subquery),
    for a read that needs the actor's roles with its rows: ``remember_staff_roles`` reads it.
    The text is ``role:department`` pairs joined by commas (NULL when the account holds none)."""

    output_field = TextField()

    def __init__(self, user_id: int) -> None:
        super().__init__()
        self.user_id = user_id

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        table = connection.ops.quote_name(StaffRole._meta.db_table)
        if connection.vendor == "postgresql":
            grants = "string_agg(role || ':' || department_id::text, ',')"
        else:
            grants = "group_concat(role || ':' || department_id, ',')"
        # only the table's quoted name and a fixed aggregate are formatted in; the id is a param
        sql = f"(SELECT {grants} FROM {table} WHERE user_id = %s)"  # noqa: S608
        return sql, [self.user_id]


def remember_staff_roles(user: Any, grants: str | None) -> None:
    """Keep the grants a ``StaffRoleGrantsOf`` column read for ``user`` as its roles, so the
    permission checks of this request ask no more (ignored for anyone but active staff)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return
    if user.kind != AccountKind.STAFF:
        return
    pairs = (grant.rpartition(":") for grant in (grants or "").split(",") if grant)
    setattr(user, _ROLE_CACHE, frozenset((role, int(dept)) for role, _, dept in pairs))


def forget_staff_roles(user: Any) -> None:
    """Drop the cached roles of a loaded user object (after granting or removing a role)."""
    if hasattr(user, _ROLE_CACHE):
        delattr(user, _ROLE_CACHE)


def staff_departments(user: Any, role: str) -> QuerySet[Department]:
    """Departments in which ``user`` holds ``role`` (none for applicants and inactive accounts)."""
    ids = {department_id for held, department_id in staff_role_grants(user) if held == role}
    return Department.objects.filter(pk__in=ids).select_related("division")


def valid_agencies(person: Person, *, on: dt.date | None = None) -> QuerySet[EnterpriseAgent]:
    """经办人授权 of ``person`` that are in force on ``on`` (today by default): started, not
    expired and not revoked."""
    day = on or timezone.localdate()
    return (
        EnterpriseAgent.objects.filter(person=person, valid_from__lte=day, revoked_at__isnull=True)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=day))
        .select_related("enterprise")
    )


def agent_accounts(enterprise_id: int, *, on: dt.date | None = None) -> QuerySet[User]:
    """Active applicant accounts of the persons holding a valid 经办人授权 for the enterprise."""
    day = on or timezone.localdate()
    agencies = EnterpriseAgent.objects.filter(
        enterprise_id=enterprise_id, valid_from__lte=day, revoked_at__isnull=True
    ).filter(Q(valid_until__isnull=True) | Q(valid_until__gte=day))
    return (
        User.objects.filter(
            is_active=True,
            kind=AccountKind.APPLICANT,
            person_id__in=agencies.values("person_id"),
        )
        .select_related("person")
        .order_by("pk")
    )


def enterprises_represented(person: Person, *, on: dt.date | None = None) -> QuerySet[Enterprise]:
    """Enterprises ``person`` may currently act for."""
    agencies = valid_agencies(person, on=on)
    return Enterprise.objects.filter(pk__in=agencies.values("enterprise_id")).order_by("name")


def personal_data_accesses(person: Person) -> QuerySet[PersonalDataAccess]:
    """Who looked at ``person``'s unmasked data, newest first (for the person's own view)."""
    return PersonalDataAccess.objects.filter(person=person).select_related("actor")


def staff_holding(
    role: str, *, departments: Iterable[int] = (), divisions: Iterable[int] = ()
) -> QuerySet[User]:
    """Active staff accounts holding ``role`` in one of ``departments`` or in any department of
    one of ``divisions`` (who to warn, whom to escalate to)."""
    scope = Q(staff_roles__department_id__in=list(departments)) | Q(
        staff_roles__department__division_id__in=list(divisions)
    )
    return (
        User.objects.filter(scope, is_active=True, kind=AccountKind.STAFF, staff_roles__role=role)
        .distinct()
        .order_by("id")
    )


def division_chain(division: Division) -> list[int]:
    """Ids of ``division`` and the divisions above it, nearest first (load the parents with
    ``select_related("parent__parent__parent")`` to walk them without queries)."""
    chain: list[int] = []
    node: Division | None = division
    while node is not None and node.pk not in chain and len(chain) < 8:
        chain.append(node.pk)
        node = node.parent
    return chain


def system_administrators() -> QuerySet[User]:
    """Active accounts that may administer the system (``permissions.can_administer_system``):
    staff holding the 系统管理员 role, and superusers; whom to tell about the installation."""
    return (
        User.objects.filter(is_active=True, is_staff=True)
        .filter(
            Q(is_superuser=True) | Q(kind=AccountKind.STAFF, staff_roles__role=Role.SYSTEM_ADMIN)
        )
        .distinct()
        .order_by("id")
    )
