"""容缺受理 reminders: an applicant whose case was accepted with tolerated (容缺) materials missing
is reminded ``TONGBAN_TOLERATED_REMINDER_WORKDAYS`` working days before each material's due date
and on the due date itself (in-app and SMS), and the handling window is told when a material is
overdue (in-app) — each exactly once per material and kind.

The scheduler runs ``send_tolerated_reminders`` every hour; it sends only in the daytime
(``DAY_STARTS``–``DAY_ENDS`` local time, so nobody gets an SMS at midnight) and works out what is
due from the database alone, so a missed run is caught up by the next one (a 到期前 reminder
until the due date; an overdue notice whenever it is found). Each reminder is one transaction
under the case's row lock — the lock ``materials.check_attach_material`` takes when the
applicant hands a material in — that re-checks the material, writes the ``ToleratedReminder``
ledger row (unique per material and kind) and queues the messages in the outbox. A second run,
a second worker or a run after a worker died half-way therefore finds each reminder either
complete (ledger row and messages) or not begun, and never sends one twice. A reminder failing
with an unexpected error is rolled back alone, logged (``cases.tolerated_reminder_failed``,
with the case number, the material and the kind) and counted as ``failed``; the sweep goes on
with the others and the next run sends it (``core.tasks.run_sweep_unit``).

The applicant reminded is whoever hears about the case (``notices.applicant_recipients``): the
filing account, or for an enterprise's case filed by an agent no longer authorised, the
enterprise's valid 经办人 of today. Window staff told of an overdue material: the 综合窗口 staff
of the case's division, or of the nearest division above it that has any. Nothing is sent once
the case is decided 不予: the result the material held back is a denial, delivered without it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from tongban.cases.models import (
    Case,
    CaseState,
    Outcome,
    ToleratedMaterial,
    ToleratedReminder,
    ToleratedReminderKind,
)
from tongban.cases.notices import applicant_recipients
from tongban.cases.selectors import window_staff
from tongban.core.tasks import run_sweep_unit
from tongban.notifications.message_templates import message_templates, register_template
from tongban.notifications.services import queue_notification
from tongban.workdays.errors import CalendarUnknown
from tongban.workdays.selectors import workdays_between

WAITING_STATES = (CaseState.IN_REVIEW, CaseState.AWAITING_DECISION, CaseState.DECIDED)
"""States in which tolerated materials may still be awaited: before the decision, and after a
准予 until the result is delivered (a 不予 has nothing to hold back)."""
AWAITED = Q(case__state__in=(CaseState.IN_REVIEW, CaseState.AWAITING_DECISION)) | Q(
    case__state=CaseState.DECIDED, case__outcome=Outcome.APPROVED
)
DAY_STARTS = 8
DAY_ENDS = 20
APPLICANT_CHANNELS = ("in_app", "sms")
STAFF_CHANNELS = ("in_app",)
_SLACK_DAYS = 14  # calendar days beyond the lead, enough for any holiday break

TEMPLATES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "case.tolerated_due_soon": (
        {"zh-hans": "容缺材料补交提醒", "en": "Reminder: documents due soon"},
        {
            "zh-hans": "您申请的“{{ item }}”（{{ number }}）为容缺受理，材料“{{ material }}”须于 "
            "{{ due_date }} 前补交，还剩 {{ days }} 个工作日。请登录通办补交，补齐后方可领取办理结果。",
            "en": "Your application for {{ item }} ({{ number }}) was accepted without "
            "“{{ material }}”; please hand it in by {{ due_date }} ({{ days }} working day(s) "
            "left). The result is delivered once it has arrived.",
        },
    ),
    "case.tolerated_due_today": (
        {"zh-hans": "容缺材料今天到期", "en": "Documents due today"},
        {
            "zh-hans": "您申请的“{{ item }}”（{{ number }}）容缺受理的材料“{{ material }}”今天"
            "（{{ due_date }}）到期，请尽快登录通办补交，补齐后方可领取办理结果。",
            "en": "“{{ material }}” for your application for {{ item }} ({{ number }}) is due "
            "today ({{ due_date }}). Please hand it in; the result is delivered once it has "
            "arrived.",
        },
    ),
    "case.tolerated_overdue": (
        {"zh-hans": "容缺材料逾期未补交", "en": "Tolerated documents overdue"},
        {
            "zh-hans": "“{{ item }}”（{{ number }}）容缺受理的材料“{{ material }}”已于 {{ due_date }} "
            "到期，申请人尚未补交。请联系申请人并依规处理。",
            "en": "“{{ material }}” of {{ item }} ({{ number }}), accepted as missing, was due on "
            "{{ due_date }} and has not been handed in. Please contact the applicant.",
        },
    ),
}
KIND_TEMPLATES = {
    ToleratedReminderKind.BEFORE_DUE: "case.tolerated_due_soon",
    ToleratedReminderKind.DUE_TODAY: "case.tolerated_due_today",
    ToleratedReminderKind.OVERDUE: "case.tolerated_overdue",
}


def register_templates() -> None:
    for key, (subject, body) in TEMPLATES.items():
        if key not in message_templates:
            register_template(key, subject=subject, body=body)


def lead_workdays() -> int:
    """``TONGBAN_TOLERATED_REMINDER_WORKDAYS`` (2 by default; 0 turns the early reminder off)."""
    return max(0, int(settings.TONGBAN_TOLERATED_REMINDER_WORKDAYS))


def reminder_due(
    due_date: dt.date, today: dt.date, left: int | None, lead: int
) -> ToleratedReminderKind | None:
    """Which reminder a material due on ``due_date`` calls for today (``left``: working days in
    ``(today, due_date]``, None when unknown)."""
    if due_date < today:
        return ToleratedReminderKind.OVERDUE
    if due_date == today:
        return ToleratedReminderKind.DUE_TODAY
    if lead and left is not None and left <= lead:
        return ToleratedReminderKind.BEFORE_DUE
    return None


def awaits_materials(case: Case) -> bool:
    """Whether ``case``'s result still waits for its tolerated materials (``AWAITED``)."""
    if case.state == CaseState.DECIDED:
        return case.outcome == Outcome.APPROVED
    return case.state in WAITING_STATES


def daytime(moment: dt.datetime) -> bool:
    return DAY_STARTS <= timezone.localtime(moment).hour < DAY_ENDS


def send_tolerated_reminders(now: dt.datetime | None = None) -> Counter[str]:
    """Send every reminder due now (idempotent; see the module docstring)."""
    moment = now or timezone.now()
    report: Counter[str] = Counter()
    if not daytime(moment):
        report["quiet_hours"] += 1
        return report
    today = timezone.localtime(moment).date()
    lead = lead_workdays()
    horizon = today + dt.timedelta(days=2 * lead + _SLACK_DAYS)
    candidates = (
        ToleratedMaterial.objects.current()
        .filter(AWAITED, supplied_at__isnull=True, due_date__lte=horizon)
        .exclude(due_date__lt=today, reminders__kind=ToleratedReminderKind.OVERDUE)
        .select_related("case__division__parent__parent__parent")
        .order_by("due_date", "id")
    )
    for material in candidates:
        run_sweep_unit(
            report,
            "cases.tolerated_reminder_failed",
            partial(_remind_if_due, material, today, lead),
            case=material.case.number,
            case_id=material.case_id,
            material=material.pk,
        )
    return report


def _remind_if_due(material: ToleratedMaterial, today: dt.date, lead: int) -> str | None:
    """The reminder ``material`` calls for today, if any (one unit of the sweep)."""
    try:
        left = (
            workdays_between(today, material.due_date, material.case.division)
            if material.due_date > today
            else 0
        )
    except CalendarUnknown:
        left = None
    kind = reminder_due(material.due_date, today, left, lead)
    if kind is None:
        return None
    return _remind(material.pk, material.case_id, kind, today, left)


def _remind(
    material_id: int,
    case_id: int,
    kind: ToleratedReminderKind,
    today: dt.date,
    left: int | None,
) -> str:
    """One reminder in one transaction: lock the case, re-check, write the ledger row and queue
    the messages — or nothing at all (the sweep's unit transaction, which on SQLite waits for
    the write lock if another worker holds it)."""

    def remind() -> str:
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("division__parent__parent__parent", "submitted_by")
            .get(pk=case_id)
        )
        material = ToleratedMaterial.objects.current().filter(pk=material_id).first()
        if material is None or material.supplied_at is not None or not awaits_materials(case):
            return "skipped"  # handed in, its acceptance undone (退回 to intake), or decided
        if ToleratedReminder.objects.filter(material=material, kind=kind).exists():
            return "already_sent"
        if kind == ToleratedReminderKind.OVERDUE:
            recipients = window_staff(case)
            channels: tuple[str, ...] = STAFF_CHANNELS
        else:
            recipients = applicant_recipients(case, case.submitted_by)
            channels = APPLICANT_CHANNELS
        ToleratedReminder.objects.create(
            material=material, kind=kind, due_date=material.due_date, recipients=len(recipients)
        )
        context = {
            "item": case.item_name,
            "number": case.number,
            "material": material.material_name,
            "due_date": material.due_date.isoformat(),
            "days": left or 0,
        }
        for user in recipients:
            queue_notification(
                user,
                KIND_TEMPLATES[kind],
                context,
                channels,
                dedupe_key=f"tolerated:{material.pk}:{kind}:{user.pk}",
            )
        return str(kind)

    try:
        with transaction.atomic():  # a savepoint: a clash rolls back this reminder alone
            return remind()
    except IntegrityError:
        return "already_sent"  # another worker wrote the ledger row first
