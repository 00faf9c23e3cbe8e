"""Who may do what with policies (checked in the services, tested for every endpoint).

**Authors** (draft versions, simulate, start runs) hold ``policy_admin``, ``reviewer`` or
``department_head`` in the policy's funding department; **legality reviewers** hold
``legality_reviewer``, ``reviewer`` or ``department_head`` in the version's legality department
and **finance reviewers** ``finance_reviewer``, ``reviewer`` or ``department_head`` in its
finance department (the generic roles are still read this way for deployments without the
dedicated policy roles); **run approval** needs
``department_head`` of the funding department; **payments** (sent to the bank, reconciliation) are
handled by authors and run approvers. An applicant sees the profiles of the person
behind the account and of the enterprises it holds a valid 经办人授权 for. Refreshing profiles
from the data sources is for authors in a department that funds a policy.
"""

from __future__ import annotations

from typing import Any

from tongban.identity.models import Role
from tongban.identity.permissions import has_role, is_applicant, is_staff_member
from tongban.identity.selectors import enterprises_represented
from tongban.policies.models import Policy, PolicyVersion, ReviewStep

GENERIC_ROLES: tuple[str, ...] = (Role.REVIEWER, Role.DEPARTMENT_HEAD)
AUTHOR_ROLES: tuple[str, ...] = (Role.POLICY_ADMIN, *GENERIC_ROLES)
REVIEW_ROLES: dict[str, tuple[str, ...]] = {
    ReviewStep.LEGALITY: (Role.LEGALITY_REVIEWER, *GENERIC_ROLES),
    ReviewStep.FINANCE: (Role.FINANCE_REVIEWER, *GENERIC_ROLES),
}


def _holds_any(user: Any, department_id: int, roles: tuple[str, ...] = AUTHOR_ROLES) -> bool:
    return any(has_role(user, role, department_id) for role in roles)


def can_author(user: Any, policy: Policy) -> bool:
    return is_staff_member(user) and _holds_any(user, policy.department_id)


def can_author_in(user: Any, department_id: int) -> bool:
    return is_staff_member(user) and _holds_any(user, department_id)


def can_author_any(user: Any) -> bool:
    return is_staff_member(user) and any(has_role(user, role) for role in AUTHOR_ROLES)


def can_refresh_profiles(user: Any) -> bool:
    """Policy staff — authors in a department that funds a policy — may refresh profiles from
    the data sources (a lookup of personal data needs a policy duty behind it)."""
    if not can_author_any(user):
        return False
    funding = set(Policy.objects.values_list("department_id", flat=True).distinct())
    return any(_holds_any(user, department_id) for department_id in funding)


def can_review(user: Any, version: PolicyVersion, step: str) -> bool:
    department_id = (
        version.legality_department_id
        if step == ReviewStep.LEGALITY
        else version.finance_department_id
    )
    roles = REVIEW_ROLES.get(step, GENERIC_ROLES)
    return is_staff_member(user) and _holds_any(user, department_id, roles)


def can_approve_run(user: Any, policy: Policy) -> bool:
    return is_staff_member(user) and has_role(user, Role.DEPARTMENT_HEAD, policy.department_id)


def can_manage_payments(user: Any, policy: Policy) -> bool:
    """Marking a period sent to the bank and importing the bank's reconciliation file: staff
    who author the policy or approve its runs in the funding department."""
    return can_approve_run(user, policy) or can_author(user, policy)


def can_see_policy_work(user: Any, policy: Policy, version: PolicyVersion | None = None) -> bool:
    """Staff who author, review or approve this policy see its drafts, runs and ledger."""
    if can_author(user, policy):
        return True
    versions = [version] if version is not None else list(policy.versions.all())
    return any(
        can_review(user, v, ReviewStep.LEGALITY) or can_review(user, v, ReviewStep.FINANCE)
        for v in versions
    )


def entity_keys(user: Any) -> dict[str, str]:
    """Entity key (身份证号 / 统一社会信用代码) → target, for an applicant account."""
    if not is_applicant(user) or user.person_id is None:
        return {}
    keys = {user.person.id_number: "person"}
    for enterprise in enterprises_represented(user.person):
        keys[enterprise.uscc] = "enterprise"
    return keys
