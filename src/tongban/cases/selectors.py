"""Case reads: one case as an actor may see it, its event timeline, an applicant's cases, the
departments a task may be countersigned with or transferred to, and the staff to tell about a
case's deadlines."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from tongban.cases import access
from tongban.cases.models import Case, CaseEvent
from tongban.core.errors import NotFound
from tongban.identity.models import Department, Role
from tongban.identity.selectors import division_chain, staff_holding


def case_for(actor: Any, number: str) -> Case:
    case = (
        Case.objects.select_related(
            "division", "department", "applicant_person", "applicant_enterprise", "item_version"
        )
        .prefetch_related("tasks__department")
        .filter(number=number)
        .first()
    )
    if case is None or not access.can_see_case(actor, case):
        raise NotFound(f"没有找到办件 {number}", code="case_not_found")
    return case


def timeline(actor: Any, case: Case) -> QuerySet[CaseEvent]:
    """Every event for staff; the applicant sees the events marked visible to them."""
    events = case.events.select_related("task__department").order_by("sequence")
    if access.is_case_applicant(actor, case) and not access.is_case_staff(actor, case):
        events = events.filter(visible_to_applicant=True)
    return events


def cases_of_applicant(actor: Any) -> QuerySet[Case]:
    return Case.objects.filter(submitted_by=actor).select_related("department").order_by("-id")


def routing_departments(case: Case) -> list[Department]:
    """Departments a task of ``case`` may go to for 会签 or 转办: those of the case's division,
    the divisions above it, and the divisions directly below it."""
    chain = list(division_chain(case.division))
    return list(
        Department.objects.filter(
            Q(division_id__in=chain) | Q(division__parent_id=case.division_id)
        )
        .select_related("division")
        .order_by("division__code", "code")
    )


def window_staff(case: Case) -> list[Any]:
    """综合窗口 staff of the case's division, else of the nearest division above with any."""
    for division_id in division_chain(case.division):
        staff = list(staff_holding(Role.WINDOW, divisions=[division_id]))
        if staff:
            return staff
    return []


def heads_and_supervisors(case: Case, department_id: int) -> list[Any]:
    """Whom overdue work is escalated to (督办): the heads of ``department_id`` and the
    supervisors of the case's division and the divisions above it."""
    return [
        *staff_holding(Role.DEPARTMENT_HEAD, departments=[department_id]),
        *staff_holding(Role.SUPERVISOR, divisions=division_chain(case.division)),
    ]
