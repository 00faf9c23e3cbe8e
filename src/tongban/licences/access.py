"""Who may see and act on a licence. The holder (the person, or a valid 经办人 of the holder
enterprise) sees everything about it and decides who else may use it; staff of the issuing
department change, re-issue and (department heads) cancel or revoke it; anyone else reaches a
licence's content only through a grant (授权用证). A licence an actor may not see is reported
as not found, so numbers leak nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet

from tongban.identity.models import Role
from tongban.identity.permissions import acts_for_enterprise, has_role, is_applicant
from tongban.identity.selectors import enterprises_represented, staff_role_grants
from tongban.licences.models import Grant, Licence

ISSUER_ROLES = (Role.REVIEWER, Role.DEPARTMENT_HEAD, Role.WINDOW)


def is_holder(actor: Any, licence: Licence) -> bool:
    if not is_applicant(actor):
        return False
    if licence.holder_person_id is not None and licence.holder_person_id == actor.person_id:
        return True
    enterprise = licence.holder_enterprise
    return enterprise is not None and acts_for_enterprise(actor, enterprise)


def is_issuer_staff(actor: Any, licence: Licence) -> bool:
    return any(has_role(actor, role, licence.department_id) for role in ISSUER_ROLES)


def is_issuer_head(actor: Any, licence: Licence) -> bool:
    return has_role(actor, Role.DEPARTMENT_HEAD, licence.department_id)


def issuing_departments(actor: Any) -> frozenset[int]:
    """Departments in which ``actor`` holds a role that lets it see the licences they issue."""
    return frozenset(dept for role, dept in staff_role_grants(actor) if role in ISSUER_ROLES)


def issued_for_staff(actor: Any) -> QuerySet[Licence]:
    """Licences issued by the departments where ``actor`` is issuing staff (none for others)."""
    departments = issuing_departments(actor)
    if not departments:
        return Licence.objects.none()
    return Licence.objects.filter(department_id__in=departments)


def can_see(actor: Any, licence: Licence) -> bool:
    return is_holder(actor, licence) or is_issuer_staff(actor, licence)


def held_by(actor: Any) -> QuerySet[Licence]:
    """Licences the applicant account holds itself or as 经办人 of an enterprise."""
    if not is_applicant(actor) or actor.person_id is None:
        return Licence.objects.none()
    enterprises = enterprises_represented(actor.person)
    return Licence.objects.filter(
        Q(holder_person_id=actor.person_id) | Q(holder_enterprise__in=enterprises)
    )


def matching_grant(actor: Any, licence: Licence, *, now: dt.datetime) -> Grant | None:
    """A grant in force that lets ``actor`` use ``licence`` (by account or by department)."""
    if not getattr(actor, "is_authenticated", False):
        return None
    grants = licence.grants.filter(
        revoked_at__isnull=True, valid_from__lte=now, valid_until__gt=now
    ).order_by("-valid_until")
    for grant in grants:
        if grant.grantee_user_id == actor.pk:
            return grant
        if grant.grantee_department_id is not None and any(
            has_role(actor, role, grant.grantee_department_id) for role in ISSUER_ROLES
        ):
            return grant
    return None
