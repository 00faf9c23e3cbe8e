"""Case reads: one case as an actor may see it, its event timeline, the 智能秒办 决定依据, an
applicant's cases, the departments a task may be countersigned with or transferred to, and the
staff to tell about a case's deadlines."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from tongban.cases import access, instant_explanation
from tongban.cases.models import Case, CaseEvent, CaseTask
from tongban.core.errors import NotFound
from tongban.identity.models import Department, Role
from tongban.identity.selectors import division_chain, staff_holding


def case_for(actor: Any, number: str) -> Case:
    case = (
        Case.objects.select_related(
            "division", "department", "applicant_person", "applicant_enterprise", "item_version"
        )
        .prefetch_related(
            Prefetch("tasks", queryset=CaseTask.objects.current().select_related("department"))
        )
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


def event_details(event: CaseEvent) -> dict[str, Any]:
    """An event's details as the timeline shows them. A 智能秒办 explanation holds the values
    its rules saw, personal data among them: it is read from the case instead
    (``instant_decision``, masked and per audience)."""
    data: dict[str, Any] = event.data or {}
    if "explanation" not in data:
        return data
    return {**data, "explanation": "见办件详情 instant_decision"}


def instant_decision(
    actor: Any, case: Case, *, unmasked: bool = False
) -> instant_explanation.InstantDecision | None:
    """智能秒办 决定依据 of ``case`` as ``actor`` may read it: the applicant reads which
    conditions their application met, in words; staff also read the rule names and the raw
    values, personal data masked. ``unmasked`` is for a logged reveal (``tongban.cases.reveal``):
    it shows the values in full only to staff who may reveal the case's applicant, and is
    ignored for anyone else. ``None`` when rules did not decide the case, or when the actor may
    not see it (``case_for`` is what answers 404)."""
    if not instant_explanation.decided_by_rules(case) or not access.can_see_case(actor, case):
        return None
    for_staff = access.is_case_staff(actor, case) or not access.is_case_applicant(actor, case)
    unmasked = unmasked and for_staff and access.may_reveal_applicant(actor, case)
    return instant_explanation.explain(case, for_staff=for_staff, unmasked=unmasked)


def cases_of_applicant(actor: Any) -> QuerySet[Case]:
    return Case.objects.filter(submitted_by=actor).select_related("department").order_by("-id")


def routing_departments(case: Case) -> list[Department]:
    """Departments a task of ``case`` may go to for 会签 or 转办: those of the case's division,
    the divisions above it, and the divisions directly below it."""
    return list(
        Department.objects.filter(access.routing_scope(case))
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
