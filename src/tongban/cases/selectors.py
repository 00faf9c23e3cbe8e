"""Case reads: one case as an actor may see it, its event timeline, the 智能秒办 决定依据, an
applicant's cases, the departments a task may be countersigned with or transferred to, and the
staff to tell about a case's deadlines.

Staff read the whole trail. The applicant reads what the case's transitions declare for them
(``Transition.applicant_visible`` and ``staff_notes``): 会签 and 转办 route work between
departments and are not shown, nor are the steps of a 会签 task, nor 超期督办; 审查通过/不通过,
退回, 中止, 核查属实 are shown as facts — which department finished its review, where the case went back to, that the clock
stopped and for which special procedure (行政许可法 第四十五条: the time of 听证, 检验 … is not
counted, and the applicant is told) — but the reason, opinion or finding staff wrote with them
is an internal note; 恢复计时 shows the working days stopped and the new due date. Reasons the
applicant is owed stay: 不予受理, 补正, 决定, 延期 (第四十二条), 违诺撤销. Who acted is a role
(工作人员, 系统, 申请人), never a staff member's name, and task opinions are for staff only."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any, Final

from django.db.models import F, Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tongban.cases import access, instant_explanation
from tongban.cases.models import Case, CaseEvent, CaseTask
from tongban.cases.transitions import TRANSITIONS, deemed_accepted_on
from tongban.core.errors import NotFound
from tongban.identity.models import AccountKind, Department, Role
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


# what a step's staff notes are, besides its reason
STAFF_NOTE_KEYS: Final = ("opinion", "finding")


def shows_staff_view(actor: Any, case: Case) -> bool:
    """Whether ``actor`` (allowed to see ``case``) reads it as staff: everything recorded,
    staff names and task opinions included; its applicant reads the public view."""
    return not access.reads_as_applicant(actor, case)


def timeline(actor: Any, case: Case) -> list[CaseEvent]:
    """Every event for staff; the applicant reads the events shown to them, as
    ``for_applicant`` gives them."""
    events = case.events.select_related("task__department").order_by("sequence")
    if shows_staff_view(actor, case):
        return list(events)
    shown = applicant_events(events).annotate(actor_kind=F("actor__kind"))
    return [for_applicant(e) for e in shown]


def applicant_events(events: QuerySet[CaseEvent]) -> QuerySet[CaseEvent]:
    """Of ``events``, those an applicant is shown: marked visible when recorded, not of a
    transition that hides its events (an event recorded before it did is hidden too), and not
    about a 会签 task, which is staff business like the 会签 itself."""
    hidden = [name for name, t in TRANSITIONS.items() if not t.applicant_visible]
    return (
        events.filter(visible_to_applicant=True)
        .exclude(action__in=hidden)
        .exclude(task__countersign_for__isnull=False)
    )


def for_applicant(event: CaseEvent) -> CaseEvent:
    """``event`` as its applicant reads it: who acted as a role, and without the reason,
    opinion and finding of a step whose notes are for staff. An unsaved copy: the trail itself
    is never changed."""
    shown = copy.copy(event)
    transition = TRANSITIONS.get(event.action)
    if transition is not None and transition.staff_notes:
        shown.reason = ""
        shown.data = {k: v for k, v in (event.data or {}).items() if k not in STAFF_NOTE_KEYS}
    if event.actor_id is None:
        shown.actor_label = _("系统")
    else:  # the kind is read with the events (``actor_kind``), or else here
        kind = getattr(event, "actor_kind", None) or getattr(event.actor, "kind", None)
        shown.actor_label = _("工作人员") if kind == AccountKind.STAFF else _("申请人")
    return shown


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


def deemed_accepted(case: Case, today: dt.date | None = None) -> dt.date | None:
    """For a case past its 预审 period, the day it counts as accepted (行政许可法 第三十二条),
    which is why 补正 and 不予受理 are no longer offered; None otherwise."""
    return deemed_accepted_on(case, today or timezone.localdate())


def cases_of_applicant(actor: Any) -> QuerySet[Case]:
    """The applicant's own cases and those of the enterprises they are a valid 经办人 for."""
    return (
        Case.objects.filter(access.applicant_scope(actor))
        .select_related("department", "applicant_enterprise")
        .order_by("-id")
    )


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
