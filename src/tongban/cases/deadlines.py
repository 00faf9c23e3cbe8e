"""Deadline sweeps run by the scheduler: 超时默认 (a review task whose deadline passed without
action is deemed approved, or escalated, as its item configures).

Each task is handled in its own transaction under the case's row lock and re-checked there, so
a sweep that runs twice, or two workers running it at once, apply each timeout exactly once; a
worker killed mid-sweep leaves every task either fully handled or untouched for the next run.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db import transaction
from django.utils import timezone

from tongban.cases import events
from tongban.cases.models import Case, CaseTask, TaskState
from tongban.cases.transitions import TRANSITIONS, Context, clock_stopped

DEEMED_OPINION = "审查期限届满未作出意见，依规定视为同意（超时默认）"


def apply_timeouts(today: dt.date | None = None) -> Counter[str]:
    """Handle every open task past its deadline whose item says what to do on timeout."""
    today = today or timezone.localdate()
    due = CaseTask.objects.filter(
        state=TaskState.OPEN, due_date__lt=today, on_timeout__in=["approve", "escalate"]
    ).exclude(on_timeout="escalate", escalated_at__isnull=False)
    report: Counter[str] = Counter()
    for task_id, case_id in due.values_list("id", "case_id").order_by("due_date", "id"):
        report[_handle(task_id, case_id, today)] += 1
    return report


def _handle(task_id: int, case_id: int, today: dt.date) -> str:
    with transaction.atomic():
        case = Case.objects.select_for_update().select_related("division").get(pk=case_id)
        task = CaseTask.objects.select_related("department").get(pk=task_id)
        if task.state != TaskState.OPEN or task.due_date is None or task.due_date >= today:
            return "skipped"  # handled meanwhile, or the deadline moved
        if clock_stopped(case):
            return "clock_stopped"
        if task.on_timeout == "escalate":
            if task.escalated_at is not None:
                return "skipped"
            task.escalated_at = timezone.now()
            task.save(update_fields=["escalated_at"])
            events.record(
                case,
                "timeout_escalation",
                None,
                task=task,
                reason=f"{task.department.name}审查已超期，转部门负责人督办",
                data={"due_date": task.due_date.isoformat()},
                visible_to_applicant=False,
            )
            return "escalated"
        before = case.state
        ctx = Context(
            case=case,
            actor=None,
            payload={},
            today=today,
            task=task,
            event_data={"opinion": DEEMED_OPINION},
        )
        TRANSITIONS["approve_task"].execute(ctx)
        events.record(
            case,
            "deemed_approval",
            None,
            task=task,
            from_state=before,
            to_state=case.state,
            reason=DEEMED_OPINION,
            data={"due_date": task.due_date.isoformat()},
        )
        return "deemed_approved"
