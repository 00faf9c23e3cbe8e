"""Deadline sweeps run by the scheduler: 超时默认 (a review task whose deadline passed without
action is deemed approved, or escalated, as its item configures) and 红黄牌 supervision
(warnings to those who must act, 督办 escalations to heads and supervisors).

Each timeout is handled in its own transaction under the case's row lock and re-checked there,
so a sweep that runs twice, or two workers running it at once, apply each timeout exactly once;
a worker killed mid-sweep leaves every task either fully handled or untouched for the next run.
A deemed approval whose next stage would fall past the known working-day calendar is left
untouched (counted as ``calendar_unknown``; the department's heads and the system administrators
are told once) while the sweep goes on with the other tasks.
A task that fails with any other error is rolled back alone, logged (``cases.timeout_failed``)
and left for the next run; the sweep goes on with the others (``core.tasks.run_sweep_unit``).
A deemed approval happens once per task; an escalation once per deadline: the task keeps the
deadline it was escalated for (``escalated_due_date``), so one moved later by 恢复计时 or 延期
and missed again is escalated again, and a re-run for the same deadline does nothing.
A deemed approval tells the applicant, as any step does (``notices``); an escalation tells the
department's head and the supervisors, in the same transaction, how late the task is. For a
task that escalates on timeout that 超时督办 is its red card: the 红黄牌 sweep sends it no
``case.task_overdue`` besides (one message, the one that also records the escalation on the
case's trail); every other task gets its 红牌 as below.

红黄牌 watches four kinds of deadline: the open tasks (审查 by their department's reviewers; the
告知承诺 核查 by the handling department), the 预审 period of a submitted case (the window, from
when the materials arrived; ``queues.ACT_PERIODS``), the due date of an accepted case until its
decision (the handling department's head) and the 送达 period of a decided case (the window,
who delivers: ``queues.ACT_PERIODS``, ten working days from the decision). Yellow warns
whoever must act, red escalates to
the head and the supervisors of the case's division and the ones above it; every message is
sent once per deadline and recipient (the dedupe key holds the due date, so a deadline moved by
a clock stop, an extension or new materials is watched afresh), and nothing is watched while
the case's clock is stopped (中止). Each message is queued under the case's row lock and only
while the task or case still stands as the sweep read it, so work done, transferred, stopped
or moved while the sweep runs is not reported (``changed_meanwhile``; the next sweep sees it
anew). Each task and case is watched as its own unit: one failing with an unexpected error is
rolled back alone, logged (``cases.deadline_warning_failed``, with the case number and the task
or the phase) and counted as ``failed``, and the next sweep tells its people then.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import structlog
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from tongban.cases import access, events, notices
from tongban.cases.models import Case, CaseState, CaseTask, ClockStop, TaskKind, TaskState
from tongban.cases.queues import (
    ACT_PERIODS,
    Signal,
    decision_signal,
    signal_for,
    yellow_threshold,
)
from tongban.cases.selectors import heads_and_supervisors, window_staff
from tongban.cases.transitions import TRANSITIONS, Context, clock_stopped
from tongban.core.compiled_writes import update_then_insert
from tongban.core.tasks import run_sweep_unit
from tongban.identity.models import Role
from tongban.identity.selectors import staff_holding, system_administrators
from tongban.notifications.services import queue_notification
from tongban.workdays.arithmetic import WorkingCalendar
from tongban.workdays.errors import CalendarUnknown
from tongban.workdays.selectors import one_calendar, working_calendar

logger = structlog.get_logger(__name__)

DEEMED_OPINION = "审查期限届满未作出意见，依规定视为同意（超时默认）"
STAFF_CHANNELS = ("in_app",)
_CHAIN = "division__parent__parent__parent"
_SLACK_DAYS = 14  # calendar days beyond twice the yellow threshold, enough for any holiday break


def apply_timeouts(today: dt.date | None = None) -> Counter[str]:
    """Handle every open task past its deadline whose item says what to do on timeout: a
    deemed approval once per task, an escalation once per deadline (``escalated_due_date``).

    A task whose handling fails with an unexpected error is rolled back on its own, logged
    (``cases.timeout_failed``, with the case number and the task) and counted as ``failed``;
    the sweep goes on with the others and the next run tries it again."""
    today = today or timezone.localdate()
    due = CaseTask.objects.filter(
        state=TaskState.OPEN, due_date__lt=today, on_timeout__in=["approve", "escalate"]
    ).exclude(on_timeout="escalate", escalated_due_date=F("due_date"))
    report: Counter[str] = Counter()
    rows = due.values_list("id", "case_id", "case__number").order_by("due_date", "id")
    for task_id, case_id, number in rows:
        unit = partial(_timeout, task_id, case_id, today)
        run_sweep_unit(
            report, "cases.timeout_failed", unit, case=number, case_id=case_id, task=task_id
        )
    return report


def _timeout(task_id: int, case_id: int, today: dt.date) -> str:
    try:
        return _handle(task_id, case_id, today)
    except CalendarUnknown as exc:  # _handle rolled back: the task is untouched
        _calendar_unknown(task_id, case_id, exc)
        return "calendar_unknown"


def _calendar_unknown(task_id: int, case_id: int, exc: CalendarUnknown) -> None:
    """A deemed approval whose next stage would be due in a year nobody has entered: log it and
    tell the handling department's heads and the system administrators, once per task and year,
    that the calendar must be extended; the next sweep after that applies the timeout."""
    logger.warning("cases.timeout_calendar_unknown", task=task_id, case=case_id, year=exc.year)
    with transaction.atomic():
        task = CaseTask.objects.select_related("case", "department").get(pk=task_id)
        recipients = [
            *staff_holding(Role.DEPARTMENT_HEAD, departments=[task.case.department_id]),
            *system_administrators(),
        ]
        context = {**_task_context(task), "year": exc.year}
        key = f"timeout-calendar:{task.pk}:{exc.year}"
        _queue(recipients, "case.timeout_calendar_unknown", context, key)


def _handle(task_id: int, case_id: int, today: dt.date) -> str:
    with transaction.atomic():
        case = Case.objects.select_for_update(of=("self",)).select_related(_CHAIN).get(pk=case_id)
        # from the case's own task list, so the transition sees this task as it changes it
        task = next((t for t in access.case_tasks(case) if t.pk == task_id), None)
        if task is None or task.state != TaskState.OPEN or task.due_date is None:
            return "skipped"  # handled meanwhile, or no longer the case's (退回 to intake)
        if task.due_date >= today:
            return "skipped"  # the deadline moved
        if clock_stopped(case):
            return "clock_stopped"
        if task.on_timeout == "escalate":
            if task.escalated_due_date == task.due_date:
                return "skipped"  # this deadline was escalated already
            task.escalated_at = timezone.now()
            task.escalated_due_date = task.due_date
            task.save(update_fields=["escalated_at", "escalated_due_date"])
            events.record(
                case,
                "timeout_escalation",
                None,
                task=task,
                reason=f"{task.department.name}审查已超期，转部门负责人督办",
                data={"due_date": task.due_date.isoformat()},
                visible_to_applicant=False,
            )
            # the task's 红牌 too (``_watch_tasks`` leaves it to this message): how late it is
            late = signal_for(task.due_date, task.limit_days, case.division, today=today)
            _tell_staff(
                task,
                heads_and_supervisors(case, task.department_id),
                "case.timeout_escalation",
                f"timeout:{task.pk}:{task.due_date.isoformat()}",
                days=late.overdue_workdays,
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
            data={
                "due_date": task.due_date.isoformat(),
                "department": task.department.name,
                "task": task.name or task.stage_name,
            },
        )
        # the task's decision and what it moved on (the next stage, or the decision) with it
        update_then_insert([*ctx.rows_changed, (case, {*ctx.changed, "event_count"})], event)
        notices.tell_applicant(case, event)
        return "deemed_approved"


# --- 红黄牌 supervision -----------------------------------------------------------------------------
TASK_TEMPLATES: dict[str, tuple[str, str]] = {
    TaskKind.REVIEW: ("case.task_warning", "case.task_overdue"),
    TaskKind.VERIFICATION: ("case.verification_warning", "case.verification_overdue"),
}
TASK_REPORT: dict[str, str] = {TaskKind.REVIEW: "", TaskKind.VERIFICATION: "verification_"}
RUNNING_STATES = (CaseState.IN_REVIEW, CaseState.AWAITING_DECISION)


def warn_and_escalate(today: dt.date | None = None) -> Counter[str]:
    """Yellow light: warn whoever must act on the deadline; red light: escalate (督办) to the
    head and the supervisors — for open tasks, for the 预审 period of submitted cases, for
    the due date of accepted cases and for the 送达 period of decided ones (see the module
    docstring). Idempotent: each message goes out once per deadline and recipient; a task or
    case whose watch fails is counted as ``failed`` and watched again by the next sweep."""
    today = today or timezone.localdate()
    report: Counter[str] = Counter()
    staff = _Recipients()
    with one_calendar():  # one calendar snapshot, and one fingerprint query, for the sweep
        _watch_tasks(today, report, staff)
        _watch_from_act("intake", today, report, staff)
        _watch_running_cases(today, report, staff)
        _watch_from_act("delivery", today, report, staff)
    return report


class _Recipients:
    """Whom to tell, looked up once per sweep: many rows share a department and a division."""

    def __init__(self) -> None:
        self._found: dict[tuple[Any, ...], list[Any]] = {}

    def _once(self, key: tuple[Any, ...], find: Callable[[], list[Any]]) -> list[Any]:
        if key not in self._found:
            self._found[key] = find()
        return self._found[key]

    def reviewers(self, department_id: int) -> list[Any]:
        return self._once(
            ("reviewers", department_id),
            lambda: list(staff_holding(Role.REVIEWER, departments=[department_id])),
        )

    def heads(self, case: Case) -> list[Any]:
        return self._once(
            ("heads", case.department_id),
            lambda: list(staff_holding(Role.DEPARTMENT_HEAD, departments=[case.department_id])),
        )

    def window(self, case: Case) -> list[Any]:
        return self._once(("window", case.division_id), lambda: window_staff(case))

    def escalation(self, case: Case, department_id: int) -> list[Any]:
        return self._once(
            ("escalation", department_id, case.division_id),
            lambda: heads_and_supervisors(case, department_id),
        )


def _watch_tasks(today: dt.date, report: Counter[str], staff: _Recipients) -> None:
    """审查 tasks warn their department's reviewers; 核查 tasks the reviewers of the handling
    department (who verify); red goes to the task department's head and the supervisors."""
    tasks = (
        CaseTask.objects.filter(state=TaskState.OPEN, due_date__isnull=False)
        .exclude(case_id__in=ClockStop.objects.filter(ended_on__isnull=True).values("case_id"))
        .select_related(f"case__{_CHAIN}", "department")
        .order_by("due_date", "id")
    )
    for task in tasks:
        _watch_one(report, partial(_task_light, task, today, staff), task.case, task=task.pk)


def _watch_one(
    report: Counter[str], unit: Callable[[], str | None], case: Case, **context: Any
) -> None:
    """One task's or case's watch, its own unit of the sweep."""
    event = "cases.deadline_warning_failed"
    run_sweep_unit(report, event, unit, case=case.number, case_id=case.pk, **context)


def _task_light(task: CaseTask, today: dt.date, staff: _Recipients) -> str | None:
    assert task.due_date is not None
    signal = signal_for(task.due_date, task.limit_days, task.case.division, today=today)
    warning, overdue = TASK_TEMPLATES.get(task.kind, TASK_TEMPLATES[TaskKind.REVIEW])
    prefix = TASK_REPORT.get(task.kind, "")
    due = task.due_date.isoformat()
    if signal.light == "yellow":
        recipients = staff.reviewers(task.department_id)
        key = f"task:{task.pk}:yellow:{due}"
        told = _tell_staff(task, recipients, warning, key, signal.workdays_left)
        return f"{prefix}warned" if told else "changed_meanwhile"
    if signal.light == "red":
        if task.on_timeout == "escalate":
            return None  # its 超时督办 (``apply_timeouts``) is its 红牌: one message, not two
        recipients = staff.escalation(task.case, task.department_id)
        key = f"task:{task.pk}:red:{due}"
        told = _tell_staff(task, recipients, overdue, key, signal.overdue_workdays)
        return f"{prefix}escalated" if told else "changed_meanwhile"
    return None


def _watch_from_act(phase: str, today: dt.date, report: Counter[str], staff: _Recipients) -> None:
    """预审: the window must accept, ask for corrections or refuse within the intake period;
    送达: the window (the delivery queue's staff) must deliver the decided result within the
    delivery period."""
    period = ACT_PERIODS[phase]
    calendar = working_calendar()
    cases = (
        Case.objects.filter(state=period.waiting, **{f"{period.act}__isnull": False})
        .select_related(_CHAIN, "department")
        .order_by(period.act, "id")
    )
    for case in cases:
        light = partial(_from_act_light, phase, case, today, calendar, staff)
        _watch_one(report, light, case, phase=phase)


def _from_act_light(
    phase: str, case: Case, today: dt.date, calendar: WorkingCalendar, staff: _Recipients
) -> str | None:
    period = ACT_PERIODS[phase]
    due = period.due(case)
    if due is None:
        return None  # past the known calendar: the queues show it as unknown
    signal = signal_for(due, period.limit_days, case.division, today=today, calendar=calendar)
    return _case_light(case, phase, due, signal, staff.window, staff)


def _watch_running_cases(today: dt.date, report: Counter[str], staff: _Recipients) -> None:
    """审查中 and 待决定: the head answers for the case's own due date (the decision)."""
    calendar = working_calendar()
    running = Case.objects.filter(
        state__in=RUNNING_STATES, due_date__isnull=False, clock_stopped=False
    )
    # only cases that can be yellow or red today: the yellow threshold of the largest limit,
    # in calendar days with room for any holiday break
    top = running.aggregate(top=Max(F("promised_limit_days") + F("extended_days")))["top"]
    horizon = today + dt.timedelta(days=2 * yellow_threshold(int(top or 0)) + _SLACK_DAYS)
    cases = (
        running.filter(due_date__lte=horizon)
        .select_related(_CHAIN, "department")
        .order_by("due_date", "id")
    )
    for case in cases:
        light = partial(_decision_light, case, today, calendar, staff)
        _watch_one(report, light, case, phase="decision")


def _decision_light(
    case: Case, today: dt.date, calendar: WorkingCalendar, staff: _Recipients
) -> str | None:
    assert case.due_date is not None
    signal = decision_signal(case, today=today, calendar=calendar)
    return _case_light(case, "decision", case.due_date, signal, staff.heads, staff)


CASE_TEMPLATES = {
    "intake": ("case.intake_warning", "case.intake_overdue"),
    "decision": ("case.case_warning", "case.case_overdue"),
    "delivery": ("case.delivery_warning", "case.delivery_overdue"),
}


def _case_light(
    case: Case,
    phase: str,
    due: dt.date,
    signal: Signal,
    who_acts: Callable[[Case], list[Any]],
    staff: _Recipients,
) -> str | None:
    """Warn or escalate ``case``'s ``phase`` deadline as ``signal`` says; what to count."""
    warning, overdue = CASE_TEMPLATES[phase]
    if signal.light == "yellow":
        template, recipients, days = warning, who_acts(case), signal.workdays_left
        counted = f"{phase}_warned"
    elif signal.light == "red":
        template, days = overdue, signal.overdue_workdays
        recipients = staff.escalation(case, case.department_id)
        counted = f"{phase}_escalated"
    else:
        return None
    context = {
        "item": case.item_name,
        "number": case.number,
        "department": case.department.name,
        "state": str(case.get_state_display()),
        "due_date": due.isoformat(),
        "days": days,  # None: overdue, but today's year is not in the calendar
    }
    key = f"deadline:{case.pk}:{phase}:{signal.light}:{due.isoformat()}"
    told = _queue(recipients, template, context, key, still=lambda: _case_unchanged(case, phase))
    return counted if told else "changed_meanwhile"


def _tell_staff(
    task: CaseTask, recipients: list[Any], template: str, key: str, days: int | None
) -> bool:
    """Tell ``recipients`` about ``task``'s deadline, unless staff acted on it since the sweep
    read it; whether they were told."""
    context = {**_task_context(task), "days": days}
    return _queue(recipients, template, context, key, still=lambda: _task_unchanged(task))


# The sweeps read the rows first and tell people afterwards; meanwhile staff may have acted.
# Each message is therefore queued under the case's row lock (the lock every step takes) and
# only while the row still stands as it was read: same state, deadline, department, clock.


def _lock_case(case_id: int) -> Mapping[str, Any] | None:
    return (
        Case.objects.select_for_update()
        .filter(pk=case_id)
        .values("state", "received_at", "due_date", "decided_at", "department_id", "clock_stopped")
        .first()
    )


def _task_unchanged(task: CaseTask) -> bool:
    locked = _lock_case(task.case_id)
    return (
        locked is not None
        and not locked["clock_stopped"]
        and CaseTask.objects.filter(
            pk=task.pk,
            state=TaskState.OPEN,
            due_date=task.due_date,
            department_id=task.department_id,
            superseded_at__isnull=True,
        ).exists()
    )


def _case_unchanged(case: Case, phase: str) -> bool:
    locked = _lock_case(case.pk)
    if locked is None or locked["department_id"] != case.department_id:
        return False
    if phase == "intake":
        return locked["state"] == CaseState.SUBMITTED and locked["received_at"] == case.received_at
    if phase == "delivery":
        return locked["state"] == CaseState.DECIDED and locked["decided_at"] == case.decided_at
    return (
        locked["state"] in RUNNING_STATES
        and locked["due_date"] == case.due_date
        and not locked["clock_stopped"]
    )


def _task_context(task: CaseTask) -> dict[str, Any]:
    """What a message to staff about one of ``task``'s deadlines names."""
    case = task.case
    assert task.due_date is not None
    return {
        "item": case.item_name,
        "number": case.number,
        "department": task.department.name,
        "stage": task.stage_name,
        "due_date": task.due_date.isoformat(),
    }


def _queue(
    recipients: list[Any],
    template: str,
    context: dict[str, Any],
    key: str,
    *,
    still: Callable[[], bool] | None = None,
) -> bool:
    """One in-app message per recipient, keyed by the deadline and the recipient — provided
    ``still()`` holds, checked in the same transaction; whether the messages were queued."""
    with transaction.atomic():
        if still is not None and not still():
            return False
        for user in {u.pk: u for u in recipients}.values():
            queue_notification(
                user, template, context, STAFF_CHANNELS, dedupe_key=f"{key}:{user.pk}"
            )
    return True
