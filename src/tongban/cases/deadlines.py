"""Deadline sweeps run by the scheduler: 超时默认 (a review task whose deadline passed without
action is deemed approved, or escalated, as its item configures) and 红黄牌 supervision of open
tasks — 审查 and the 告知承诺 核查 — (warnings to the handlers, 督办 escalations to heads and
supervisors).

Each task is handled in its own transaction under the case's row lock and re-checked there, so
a sweep that runs twice, or two workers running it at once, apply each timeout exactly once; a
worker killed mid-sweep leaves every task either fully handled or untouched for the next run.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from django.db import transaction
from django.utils import timezone

from tongban.cases import events
from tongban.cases.models import Case, CaseTask, ClockStop, TaskKind, TaskState
from tongban.cases.queues import signal_for
from tongban.cases.selectors import heads_and_supervisors
from tongban.cases.transitions import TRANSITIONS, Context, clock_stopped
from tongban.core.compiled_writes import update_then_insert
from tongban.identity.models import Role
from tongban.identity.selectors import staff_holding
from tongban.notifications.services import queue_notification

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
        event = events.build(
            case,
            "deemed_approval",
            None,
            task=task,
            from_state=before,
            to_state=case.state,
            reason=DEEMED_OPINION,
            data={"due_date": task.due_date.isoformat()},
        )
        # the task's decision and what it moved on (the next stage, or the decision) with it
        update_then_insert([*ctx.rows_changed, (case, {*ctx.changed, "event_count"})], event)
        return "deemed_approved"


# --- 红黄牌 supervision -----------------------------------------------------------------------------
TASK_TEMPLATES: dict[str, tuple[str, str]] = {
    TaskKind.REVIEW: ("case.task_warning", "case.task_overdue"),
    TaskKind.VERIFICATION: ("case.verification_warning", "case.verification_overdue"),
}
TASK_REPORT: dict[str, str] = {TaskKind.REVIEW: "", TaskKind.VERIFICATION: "verification_"}


def warn_and_escalate(today: dt.date | None = None) -> Counter[str]:
    """Yellow light: warn the reviewers of the task's department (for a 核查 task, the handling
    department, who verify). Red light: escalate (督办) to the department's head and the
    supervisors of the case's division and the ones above it. Each warning is sent once per
    task and deadline (the dedupe key holds the due date, so a deadline moved by a clock stop
    or an extension is watched afresh)."""
    today = today or timezone.localdate()
    report: Counter[str] = Counter()
    tasks = (
        CaseTask.objects.filter(state=TaskState.OPEN, due_date__isnull=False)
        .exclude(case_id__in=ClockStop.objects.filter(ended_on__isnull=True).values("case_id"))
        .select_related("case__division__parent__parent__parent", "department")
        .order_by("due_date", "id")
    )
    for task in tasks:
        assert task.due_date is not None
        signal = signal_for(task.due_date, task.limit_days, task.case.division, today=today)
        warning, overdue = TASK_TEMPLATES.get(task.kind, TASK_TEMPLATES[TaskKind.REVIEW])
        prefix = TASK_REPORT.get(task.kind, "")
        if signal.light == "yellow":
            recipients = list(staff_holding(Role.REVIEWER, departments=[task.department_id]))
            _tell_staff(task, recipients, warning, "yellow", signal.workdays_left)
            report[f"{prefix}warned"] += 1
        elif signal.light == "red":
            recipients = heads_and_supervisors(task.case, task.department_id)
            _tell_staff(task, recipients, overdue, "red", signal.overdue_workdays)
            report[f"{prefix}escalated"] += 1
    return report


def _tell_staff(
    task: CaseTask, recipients: list[Any], template: str, light: str, days: int | None
) -> None:
    case = task.case
    assert task.due_date is not None
    context = {
        "item": case.item_name,
        "number": case.number,
        "department": task.department.name,
        "stage": task.stage_name,
        "due_date": task.due_date.isoformat(),
        "days": days or 0,
    }
    with transaction.atomic():
        for user in {u.pk: u for u in recipients}.values():
            queue_notification(
                user,
                template,
                context,
                ["in_app"],
                dedupe_key=f"task:{task.pk}:{light}:{task.due_date.isoformat()}:{user.pk}",
            )
