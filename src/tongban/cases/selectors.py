"""Case reads: one case as an actor may see it, its event timeline, an applicant's cases."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from tongban.cases import access
from tongban.cases.models import Case, CaseEvent
from tongban.core.errors import NotFound


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
