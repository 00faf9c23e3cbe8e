"""Who may see and act on a case. Staff authority comes from roles in departments
(``tongban.identity.permissions``); applicants act for themselves or, as 经办人, for their
enterprise. A case an actor may not see is reported as not found, so numbers leak nothing."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from tongban.cases.models import Case, CaseTask
from tongban.core.compiled import CompiledRead
from tongban.identity.models import Enterprise, Role
from tongban.identity.permissions import acts_for_enterprise, has_role, is_applicant
from tongban.identity.selectors import (
    division_chain,
    enterprises_represented,
    staff_departments,
    staff_role_grants,
)


def is_case_applicant(actor: Any, case: Case) -> bool:
    """A person's case belongs to the account that filed it; an enterprise's case to whoever
    is a valid 经办人 of the enterprise today. An agent whose authorisation ended or was revoked
    loses the enterprise's cases, those they filed included."""
    return files_as_applicant(actor, case.applicant_enterprise, case.submitted_by_id)


def files_as_applicant(actor: Any, enterprise: Enterprise | None, submitted_by_id: int) -> bool:
    """The rule behind ``is_case_applicant`` for anything filed by an applicant (a case, a
    一件事): ``enterprise`` is whom it was filed for (None for the person themselves)."""
    if not is_applicant(actor):
        return False
    if enterprise is None:
        return submitted_by_id == actor.pk
    return acts_for_enterprise(actor, enterprise)


def applicant_scope(actor: Any) -> Q:
    """The cases ``is_case_applicant`` grants ``actor``, as a filter ("my cases")."""
    if not is_applicant(actor):
        return Q(pk__in=[])
    own = Q(submitted_by=actor, applicant_enterprise__isnull=True)
    if actor.person_id is None:
        return own
    return own | Q(applicant_enterprise__in=enterprises_represented(actor.person))


def _role_divisions(actor: Any, role: str) -> set[int]:
    """Divisions of the departments where ``actor`` holds ``role``, remembered on the account
    object for as long as its role grants stay the same (one query per request at most)."""
    grants = staff_role_grants(actor)
    cached = getattr(actor, "_tongban_role_divisions", None)
    if cached is None or cached[0] != grants:
        cached = (grants, {})
        if getattr(actor, "is_authenticated", False):
            actor._tongban_role_divisions = cached
    by_role: dict[str, set[int]] = cached[1]
    if role not in by_role:
        by_role[role] = {d.division_id for d in staff_departments(actor, role)}
    return by_role[role]


def is_window_for(actor: Any, case: Case) -> bool:
    """综合窗口 staff of the case's division (or a division above it)."""
    return not _role_divisions(actor, Role.WINDOW).isdisjoint(division_chain(case.division))


def is_reviewer_for(actor: Any, task: CaseTask) -> bool:
    return has_role(actor, Role.REVIEWER, task.department_id)


def has_role_in(actor: Any, role: str, department_id: int) -> bool:
    return has_role(actor, role, department_id)


def is_head_for(actor: Any, case: Case) -> bool:
    return has_role(actor, Role.DEPARTMENT_HEAD, case.department_id)


_CASE_TASKS = CompiledRead(
    lambda case_id: (
        CaseTask.objects.filter(case_id=case_id, superseded_at__isnull=True)
        .select_related("department")
        .order_by("stage", "id")
    ),
    (int,),
    "case_tasks",
)  # compiled once: every step of a case reads its tasks


def case_tasks(case: Case) -> list[CaseTask]:
    """The case's current review tasks (with their departments; not those superseded by a
    退回 to intake), read at most once per case object:
    the access checks and the transition share them. Code that changes tasks in bulk calls
    ``forget_tasks``; changes made to these objects themselves keep them current."""
    tasks: list[CaseTask] | None = case.__dict__.get("_review_tasks")
    if tasks is None:
        if "tasks" in getattr(case, "_prefetched_objects_cache", {}):  # a page prefetched them
            tasks = list(case.tasks.all())
        else:
            tasks = _CASE_TASKS(case.pk)
            for task in tasks:
                task.case = case
        case.__dict__["_review_tasks"] = tasks
    return tasks


def remember_tasks(case: Case, tasks: list[CaseTask]) -> None:
    """Use ``tasks`` (just created, in stage order) as the case's task list."""
    case.__dict__["_review_tasks"] = list(tasks)


def forget_tasks(case: Case) -> None:
    case.__dict__.pop("_review_tasks", None)


def is_case_staff(actor: Any, case: Case) -> bool:
    """Staff of the handling department (any role) or of a reviewing department."""
    if not getattr(actor, "is_authenticated", False):
        return False
    roles = (Role.REVIEWER, Role.DEPARTMENT_HEAD, Role.WINDOW)
    if any(has_role(actor, role, case.department_id) for role in roles):
        return True  # the handling department: no need to read the tasks
    departments = {t.department_id for t in case_tasks(case)}
    return any(has_role(actor, role, department) for role in roles for department in departments)


def routing_scope(case: Case) -> Q:
    """The departments a task of ``case`` may go to for 会签 or 转办, and whose staff may so come
    to see the case: those of the case's division, of the divisions above it and of the
    divisions directly below it (a filter on ``Department``)."""
    return Q(division_id__in=list(division_chain(case.division))) | Q(
        division__parent_id=case.division_id
    )


def is_supervisor_for(actor: Any, case: Case) -> bool:
    return not _role_divisions(actor, Role.SUPERVISOR).isdisjoint(division_chain(case.division))


def is_handling_staff(actor: Any, case: Case) -> bool:
    """The 综合窗口 of the case's division and staff of the handling or a reviewing department:
    who works on the case, as against supervisors, who oversee it."""
    return is_window_for(actor, case) or is_case_staff(actor, case)


def may_reveal_applicant(actor: Any, case: Case) -> bool:
    """Handling staff (window, reviewers, head) may ask to see the applicant person unmasked
    (查看完整个人信息, ``tongban.cases.reveal``); supervisors and others see them masked."""
    return case.applicant_person_id is not None and is_handling_staff(actor, case)


def may_open_materials(actor: Any, case: Case) -> bool:
    """The uploaded files (ID card scans among them) are for handling staff, like the
    unmasked applicant; supervisors see which files there are, not their content."""
    return is_handling_staff(actor, case)


def reads_as_applicant(actor: Any, case: Case) -> bool:
    """The actor reads ``case`` as its applicant only (the public view), not also as its staff."""
    return is_case_applicant(actor, case) and not is_case_staff(actor, case)


def can_see_case(actor: Any, case: Case) -> bool:
    return (
        is_case_applicant(actor, case)
        or is_window_for(actor, case)
        or is_case_staff(actor, case)
        or is_supervisor_for(actor, case)
    )
