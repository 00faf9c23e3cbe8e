"""The case lifecycle (行政许可法) as explicit transitions.

Each transition names the states it may start from, who may take it (``allowed``), what it needs
(``validate``, raising ``ValidationFailed`` with field paths) and what it does (``execute``).
``tongban.cases.services.perform`` runs them: lock → may this actor act on this case at all
(403) → is the case in a state that allows it (409, naming the state and the actions allowed
now) → is the input right (422) → execute → one event, in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Model
from django.utils import timezone

from tongban.cases import access, applications, commitments, outcomes
from tongban.cases.models import (
    Case,
    CaseState,
    CaseTask,
    ClockStop,
    ClockStopKind,
    Commitment,
    CommitmentBar,
    CommitmentState,
    CorrectionNotice,
    Outcome,
    TaskKind,
    TaskState,
    ToleratedMaterial,
)
from tongban.cases.queues import INTAKE_LIMIT_WORKDAYS
from tongban.catalog.guide import spec_for
from tongban.core.compiled import CompiledRead
from tongban.core.compiled_writes import insert_rows, update_row
from tongban.core.errors import Conflict, FieldError, ValidationFailed
from tongban.identity.models import Department
from tongban.workdays.errors import CalendarUnknown
from tongban.workdays.selectors import add_workdays, extend_deadline, workdays_between

S = CaseState


@dataclass
class Context:
    """What a transition works on: the locked case, the actor, the input and today's date.

    A transition changes the case in memory and names the fields it changed with ``touch``;
    ``perform`` writes them in one UPDATE together with the event counter. Work that needs the
    saved case and its event (outcome listeners) goes into ``after``."""

    case: Case
    actor: Any
    payload: dict[str, Any]
    today: dt.date
    task: CaseTask | None = None
    event_data: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    changed: set[str] = field(default_factory=set)
    rows_changed: list[tuple[Model, tuple[str, ...]]] = field(default_factory=list)
    after: list[Callable[[], None]] = field(default_factory=list)

    def touch(self, *fields: str) -> None:
        """Mark case fields changed; ``perform`` saves them once."""
        self.changed.update(fields)

    def save_with_event(self, row: Model, *fields: str) -> None:
        """Have ``perform`` write these changed fields of another saved row (the decided task,
        taken from ``tasks()``) together with the case and its event: one statement on
        PostgreSQL. Only for a row that nothing else in the transition writes or reads back
        from the database."""
        self.rows_changed.append((row, fields))

    def tasks(self) -> list[CaseTask]:
        """The case's review tasks, read once per transition (see ``access.case_tasks``)."""
        return access.case_tasks(self.case)


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: frozenset[str]
    allowed: Callable[[Context], bool]
    execute: Callable[[Context], None]
    validate: Callable[[Context], None] = lambda ctx: None
    needs_task: bool = False
    requires_open_clock: bool = True  # refused while the clock is stopped (中止)
    requires_stopped_clock: bool = False  # only while the clock is stopped (恢复计时)
    # whether the transition is on offer for this case today at all (e.g. only cases filed
    # with a commitment, or only within the 预审 period); ``validate`` still gives the precise
    # refusal when it is forced
    offered: Callable[[Case, dt.date], bool] = lambda case, today: True
    # what the applicant's timeline shows of the step (``tongban.cases.selectors.timeline``):
    # the event at all, and whether the reason, opinion or finding written with it are staff
    # notes kept from them
    applicant_visible: bool = True
    staff_notes: bool = False


TRANSITIONS: dict[str, Transition] = {}


def transition(
    name: str, label: str, sources: set[str], allowed: Callable[[Context], bool], **options: Any
) -> Callable[[Callable[[Context], None]], Callable[[Context], None]]:
    def register(execute: Callable[[Context], None]) -> Callable[[Context], None]:
        TRANSITIONS[name] = Transition(name, label, frozenset(sources), allowed, execute, **options)
        return execute

    return register


# --- helpers ------------------------------------------------------------------------------------
# The longest reason, opinion, finding or note a step takes: it is kept in the event, shown on
# timelines and printed in notices (a 决定书's 理由 is a paragraph, not a document).
MAX_TEXT = 2000


def _text(ctx: Context, key: str, label: str, *, required: bool = True) -> str:
    value = ctx.payload.get(key) or ""
    if not isinstance(value, str):
        raise ValidationFailed(
            f"{label}应为文字", code="invalid", errors=[FieldError(key, "应为文字")]
        )
    value = value.strip()
    if required and not value:
        raise ValidationFailed(
            f"请填写{label}", code="required", errors=[FieldError(key, f"请填写{label}")]
        )
    if len(value) > MAX_TEXT:
        message = f"{label}最多 {MAX_TEXT} 个字"
        raise ValidationFailed(message, code="too_long", errors=[FieldError(key, message)])
    return value


def _need_reason(ctx: Context) -> None:
    ctx.reason = _text(ctx, "reason", "理由")


def _open_stage(ctx: Context, stage: int) -> None:
    """Open every task of ``stage`` (each with its own working-day limit) and make it current."""
    case, now = ctx.case, timezone.now()
    tasks = [t for t in ctx.tasks() if t.stage == stage]
    for limit in sorted({t.limit_days for t in tasks}):
        due = add_workdays(ctx.today, limit, case.division)
        opened = [t for t in tasks if t.limit_days == limit]
        CaseTask.objects.filter(pk__in=[t.pk for t in opened]).update(
            state=TaskState.OPEN,
            opened_at=now,
            due_date=due,
            opinion="",
            completed_by=None,
            completed_at=None,
        )
        for task in opened:
            task.state, task.opened_at, task.due_date = TaskState.OPEN, now, due
            task.opinion, task.completed_by, task.completed_at = "", None, None
    case.current_stage = stage
    case.state = S.IN_REVIEW
    ctx.touch("current_stage", "state")


def _stage_plan(case: Case) -> list[dict[str, Any]]:
    return case.item_version.review_stages or [
        {
            "name": "审查",
            "tasks": [
                {
                    "department": case.department.code,
                    "name": "",
                    "limit_days": max(case.promised_limit_days, 1),
                }
            ],
        }
    ]


def _create_tasks(ctx: Context) -> None:
    """Create the review tasks of every stage from the item version; stage 1 opens at once."""
    case, now = ctx.case, timezone.now()
    stages = _stage_plan(case)
    codes = {t["department"] for s in stages for t in s["tasks"]}
    departments = {d.code: d for d in Department.objects.filter(code__in=codes).order_by()}
    created = insert_rows(  # compiled: every acceptance creates the tasks
        [
            CaseTask(
                case=case,
                stage=n,
                stage_name=stage["name"],
                name=t.get("name", ""),
                department=departments[t["department"]],
                limit_days=t["limit_days"],
                on_timeout=t.get("on_timeout", "none"),
                state=TaskState.OPEN if n == 1 else TaskState.WAITING,
                opened_at=now if n == 1 else None,
                due_date=add_workdays(ctx.today, t["limit_days"], case.division)
                if n == 1
                else None,
            )
            for n, stage in enumerate(stages, start=1)
            for t in stage["tasks"]
        ]
    )
    access.remember_tasks(case, created)
    case.current_stage = 1
    case.state = S.IN_REVIEW
    ctx.touch("current_stage", "state")


def _cancel_open_tasks(case: Case) -> None:
    case.tasks.filter(state__in=[TaskState.OPEN, TaskState.WAITING]).update(
        state=TaskState.CANCELLED
    )
    access.forget_tasks(case)


# --- intake -------------------------------------------------------------------------------------
TOLERANCE_DAYS_DEFAULT = 5
TOLERANCE_DAYS_MAX = 20


def _received_on(case: Case) -> dt.date | None:
    return timezone.localdate(case.received_at) if case.received_at else None


def _intake_period_end(case: Case) -> dt.date | None:
    """The last day of 预审 (行政许可法 第三十二条): five working days after the materials
    arrived. Not told to correct by then, the applicant's materials count as accepted on the
    day they arrived."""
    received = _received_on(case)
    if received is None:
        return None
    return add_workdays(received, INTAKE_LIMIT_WORKDAYS, case.division)


def _intake_period_passed(case: Case, today: dt.date) -> bool:
    end = _intake_period_end(case)
    return end is not None and today > end


def _deemed_accepted_on(ctx: Context) -> dt.date | None:
    """The day of receipt when 预审 ran past its period, else None."""
    return _received_on(ctx.case) if _intake_period_passed(ctx.case, ctx.today) else None


def deemed_accepted_on(case: Case, today: dt.date) -> dt.date | None:
    """For a case awaiting 预审 past its period, the day it counts as accepted (its receipt),
    for pages to say why 补正 and 不予受理 are no longer offered; None otherwise, and when the
    period ends past the known calendar."""
    if case.state != S.SUBMITTED:
        return None
    try:
        return _received_on(case) if _intake_period_passed(case, today) else None
    except CalendarUnknown:
        return None


def _within_intake_period(case: Case, today: dt.date) -> bool:
    """Whether 补正 and 不予受理 are on offer: only within the 预审 period. A period that ends
    past the known calendar leaves them offered; taking one then names the unknown year."""
    try:
        return not _intake_period_passed(case, today)
    except CalendarUnknown:
        return True


def _check_intake_period(ctx: Context, refused: str, code: str) -> None:
    """409 once the 预审 period has passed: the case counts as accepted on receipt
    (行政许可法 第三十二条), so the window can no longer ``refused``."""
    if not _intake_period_passed(ctx.case, ctx.today):
        return
    end = _intake_period_end(ctx.case)
    assert end is not None
    raise Conflict(
        f"预审期限 {end:%Y年%m月%d日} 已过，{refused}：逾期未告知补正的，"
        "自收到申请材料之日起即为受理（行政许可法第三十二条）",
        code=code,
    )


def _validate_accept(ctx: Context) -> None:
    """容缺受理: ``tolerated`` names missing materials the item marks as tolerable — every one
    of them that applies and is missing: a window that will not tolerate one asks for 补正
    instead, so no material is accepted missing without a due date and its reminders."""
    keys = ctx.payload.get("tolerated") or []
    if keys:
        _validate_tolerated(ctx, keys)
    named = set(ctx.event_data.get("tolerated", []))
    version = ctx.case.item_version
    if not any(m.requirement == "tolerable" for m in spec_for(version).materials):
        return  # nothing may be missing at acceptance: no need to read the application
    unnamed = [
        m for m in applications.application_of(ctx.case).tolerable_missing if m.key not in named
    ]
    if not unnamed:
        return
    listed = "、".join(f"“{m.name}”（{m.key}）" for m in unnamed)
    if version.allows_tolerance:
        message = f"以下容缺材料尚未提交，须列为容缺材料并给出补交期限，或告知补正：{listed}"
    else:
        message = f"以下材料尚未提交，本事项不适用容缺受理，请告知补正：{listed}"
    raise ValidationFailed(
        message,
        code="missing_not_tolerated",
        errors=[FieldError("tolerated", f"“{m.name}”（{m.key}）尚未提交") for m in unnamed],
    )


def _validate_tolerated(ctx: Context, keys: Any) -> None:
    version = ctx.case.item_version
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ValidationFailed(
            "容缺材料应为材料标识列表",
            code="invalid",
            errors=[FieldError("tolerated", "应为材料标识列表")],
        )
    if not version.allows_tolerance:
        raise ValidationFailed(
            "本事项不适用容缺受理",
            code="tolerance_not_allowed",
            errors=[FieldError("tolerated", "本事项不适用容缺受理")],
        )
    materials = {m.key: m for m in version.materials.all()}
    uploaded = set(
        ctx.case.materials.filter(superseded=False).values_list("material_key", flat=True)
    )
    errors = []
    for n, key in enumerate(keys):
        material = materials.get(key)
        if material is None:
            errors.append(FieldError(f"tolerated[{n}]", f"本事项没有材料 {key!r}"))
        elif material.requirement != "tolerable":
            errors.append(FieldError(f"tolerated[{n}]", f"“{material.name}”不是可容缺的材料"))
        elif key in uploaded:
            errors.append(FieldError(f"tolerated[{n}]", f"“{material.name}”已经提交"))
    days = ctx.payload.get("tolerance_days", TOLERANCE_DAYS_DEFAULT)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= TOLERANCE_DAYS_MAX:
        errors.append(FieldError("tolerance_days", f"应为 1 到 {TOLERANCE_DAYS_MAX} 个工作日"))
    if errors:
        raise ValidationFailed("容缺受理的材料有误", code="invalid_tolerance", errors=errors)
    ctx.event_data = {"tolerated": sorted(set(keys)), "tolerance_days": days}


@transition(
    "accept",
    "受理",
    {S.SUBMITTED},
    lambda ctx: access.is_window_for(ctx.actor, ctx.case),
    validate=_validate_accept,
)
def accept(ctx: Context) -> None:
    """受理: the clock starts the day after today; review tasks of stage 1 open. Tolerated
    materials (容缺) get their own due date. Accepted after the 预审 period, the case counts
    as accepted on the day its materials arrived (行政许可法 第三十二条), and so does its period."""
    case = ctx.case
    case.accepted_at = timezone.now()
    deemed = _deemed_accepted_on(ctx)
    start = deemed or ctx.today
    case.due_date = add_workdays(start, case.promised_limit_days, case.division)
    if deemed is not None:
        ctx.event_data["deemed_accepted_on"] = deemed.isoformat()
    ctx.touch("accepted_at", "due_date")
    tolerated = ctx.event_data.get("tolerated", [])
    if tolerated:
        due = add_workdays(ctx.today, ctx.event_data["tolerance_days"], case.division)
        names = dict(case.item_version.materials.values_list("key", "name"))
        ToleratedMaterial.objects.bulk_create(
            ToleratedMaterial(case=case, material_key=k, material_name=names[k], due_date=due)
            for k in tolerated
        )
        ctx.event_data["tolerance_due"] = due.isoformat()
    # a case never reviewed (or sent back to intake, which deletes its tasks) is at stage 0
    # and has no tasks to read
    if case.current_stage and ctx.tasks():
        _open_stage(ctx, 1)
    else:
        _create_tasks(ctx)
    ctx.event_data["due_date"] = case.due_date.isoformat()


def _validate_refusal(ctx: Context) -> None:
    _check_intake_period(
        ctx,
        "不能再作出不予受理决定，应当审查后作出准予或不予许可的决定",
        "acceptance_period_over",
    )
    _need_reason(ctx)
    ctx.event_data = {"legal_basis": _text(ctx, "legal_basis", "法律依据")}


@transition(
    "refuse",
    "不予受理",
    {S.SUBMITTED},
    lambda ctx: access.is_window_for(ctx.actor, ctx.case),
    validate=_validate_refusal,
    offered=_within_intake_period,
)
def refuse(ctx: Context) -> None:
    """不予受理 (行政许可法 第三十二条), with reasons and the legal basis: only within the 预审
    period; after it the case counts as accepted on receipt and is reviewed and decided."""
    ctx.case.state = S.REFUSED
    ctx.case.decision_reason = ctx.reason
    ctx.case.decision_basis = ctx.event_data["legal_basis"]
    ctx.case.closed_at = timezone.now()
    ctx.touch("state", "decision_reason", "decision_basis", "closed_at")


def _validate_correction(ctx: Context) -> None:
    _check_intake_period(ctx, "不能再告知补正", "correction_period_over")
    items = ctx.payload.get("items")
    if not isinstance(items, list) or not items:
        raise ValidationFailed(
            "补正告知须一次列明全部需要补正的材料",
            code="required",
            errors=[FieldError("items", "至少列出一项需要补正的材料")],
        )
    materials = dict(ctx.case.item_version.materials.values_list("key", "name"))
    first = ctx.case.corrections.order_by("issued_at").first()
    named_before = {i["material"] for i in first.items} if first else None
    errors = []
    seen = set()
    cleaned = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(
                FieldError(f"items[{n}]", "应为写明材料（material）和问题（problem）的一项")
            )
            continue
        key, problem = item.get("material"), item.get("problem") or ""
        if not isinstance(key, str):
            errors.append(FieldError(f"items[{n}].material", "应为材料标识（文字）"))
        elif key not in materials:
            errors.append(FieldError(f"items[{n}].material", f"本事项没有材料 {key!r}"))
        elif key in seen:
            errors.append(FieldError(f"items[{n}].material", "同一材料只需列出一次"))
        elif named_before is not None and key not in named_before:
            errors.append(
                FieldError(
                    f"items[{n}].material",
                    f"“{materials[key]}”不在首次补正告知中：补正须一次性告知，不能再追加新的材料",
                )
            )
        if not isinstance(problem, str):
            errors.append(FieldError(f"items[{n}].problem", "应为文字"))
        elif not problem.strip():
            errors.append(FieldError(f"items[{n}].problem", "请写明需要补正的问题"))
        elif len(problem.strip()) > MAX_TEXT:
            errors.append(FieldError(f"items[{n}].problem", f"最多 {MAX_TEXT} 个字"))
        if isinstance(key, str) and key in materials:
            seen.add(key)
            text = problem.strip() if isinstance(problem, str) else ""
            cleaned.append({"material": key, "name": materials[key], "problem": text})
    if errors:
        raise ValidationFailed("补正告知有误", code="invalid_correction", errors=errors)
    ctx.event_data = {"items": cleaned}


@transition(
    "request_correction",
    "补正告知",
    {S.SUBMITTED},
    lambda ctx: access.is_window_for(ctx.actor, ctx.case),
    validate=_validate_correction,
    offered=_within_intake_period,
)
def request_correction(ctx: Context) -> None:
    CorrectionNotice.objects.create(
        case=ctx.case, items=ctx.event_data["items"], issued_by=ctx.actor
    )
    ctx.case.state = S.CORRECTION
    ctx.touch("state")


def _validate_supplement(ctx: Context) -> None:
    """Every material the open 补正告知 names has a new upload since the notice was issued
    (a notice names materials only: ``_validate_correction``)."""
    ctx.payload["note"] = _text(ctx, "note", "补正说明", required=False)
    notice = ctx.case.corrections.filter(answered_at__isnull=True).order_by("-issued_at").first()
    ctx.payload["_notice"] = notice
    if notice is None:
        return
    uploaded = set(
        ctx.case.materials.filter(uploaded_at__gte=notice.issued_at).values_list(
            "material_key", flat=True
        )
    )
    errors = [
        FieldError(f"materials.{item['material']}", f"请上传补正后的“{item['name']}”")
        for item in notice.items
        if item["material"] not in uploaded
    ]
    if errors:
        raise ValidationFailed(
            "补正告知所列材料尚未全部重新上传", code="supplement_incomplete", errors=errors
        )


@transition(
    "supplement",
    "提交补正材料",
    {S.CORRECTION},
    lambda ctx: access.is_case_applicant(ctx.actor, ctx.case),
    validate=_validate_supplement,
)
def supplement(ctx: Context) -> None:
    """补正: the applicant has uploaded every material the notice named; the case goes back
    to the window for 预审."""
    now = timezone.now()
    notice: CorrectionNotice | None = ctx.payload.pop("_notice")
    if notice is not None:
        notice.answered_at = now
        notice.save(update_fields=["answered_at"])
    note = ctx.payload.get("note") or ""
    ctx.event_data = {"note": note} if note else {}
    ctx.case.state = S.SUBMITTED
    ctx.case.received_at = now  # the 预审 period starts again from the supplemented materials
    ctx.touch("state", "received_at")


@transition(
    "withdraw",
    "撤回申请",
    {S.SUBMITTED, S.CORRECTION, S.IN_REVIEW, S.AWAITING_DECISION},
    lambda ctx: access.is_case_applicant(ctx.actor, ctx.case),
    requires_open_clock=False,
)
def withdraw(ctx: Context) -> None:
    _cancel_open_tasks(ctx.case)
    if ctx.case.clock_stopped:
        ctx.case.clock_stops.filter(ended_on__isnull=True).update(ended_on=ctx.today)
        ctx.case.clock_stopped = False
        ctx.touch("clock_stopped")
    ctx.case.state = S.WITHDRAWN
    ctx.case.closed_at = timezone.now()
    ctx.touch("state", "closed_at")


# --- review -------------------------------------------------------------------------------------
def _reviewer(ctx: Context) -> bool:
    return ctx.task is not None and access.is_reviewer_for(ctx.actor, ctx.task)


def _validate_task_open(ctx: Context) -> None:
    assert ctx.task is not None
    if ctx.task.state != TaskState.OPEN:
        raise Conflict(
            f"该审查任务当前为“{ctx.task.get_state_display()}”，不能再次办理",
            code="task_not_open",
        )


def _validate_approve_task(ctx: Context) -> None:
    _validate_task_open(ctx)
    ctx.event_data = {"opinion": _text(ctx, "opinion", "审查意见", required=False)}


@transition(
    "approve_task",
    "审查通过",
    {S.IN_REVIEW},
    _reviewer,
    validate=_validate_approve_task,
    needs_task=True,
    staff_notes=True,
)
def approve_task(ctx: Context) -> None:
    """A department approves; when every task of the stage has, the next stage opens (or the
    case waits for the decision after the last stage)."""
    task, case = ctx.task, ctx.case
    assert task is not None
    task.state = TaskState.APPROVED
    task.opinion = ctx.event_data["opinion"]
    task.completed_by = ctx.actor
    task.completed_at = timezone.now()
    ctx.save_with_event(task, "state", "opinion", "completed_by", "completed_at")
    tasks = ctx.tasks()  # ctx.task is one of these: it counts as decided already
    if any(t.stage == task.stage and t.state == TaskState.OPEN for t in tasks):
        return
    last = max(t.stage for t in tasks)
    if task.stage < last:
        _open_stage(ctx, task.stage + 1)
    else:
        case.state = S.AWAITING_DECISION
        ctx.touch("state")


def _validate_reject_task(ctx: Context) -> None:
    _validate_task_open(ctx)
    ctx.event_data = {"opinion": _text(ctx, "opinion", "审查意见")}


@transition(
    "reject_task",
    "审查不通过",
    {S.IN_REVIEW},
    _reviewer,
    validate=_validate_reject_task,
    needs_task=True,
    staff_notes=True,
)
def reject_task(ctx: Context) -> None:
    """A department finds the application does not qualify: the other open tasks stop and the
    case goes to the department head for a decision, with that opinion on record."""
    task, case = ctx.task, ctx.case
    assert task is not None
    task.state = TaskState.REJECTED
    task.opinion = ctx.event_data["opinion"]
    task.completed_by = ctx.actor
    task.completed_at = timezone.now()
    update_row(task, ["state", "opinion", "completed_by", "completed_at"])
    _cancel_open_tasks(case)
    case.state = S.AWAITING_DECISION
    ctx.touch("state")


def _department_for(ctx: Context, verb: str) -> Department:
    """The department ``department`` names, if a task of the case may go there
    (``access.routing_scope``): 会签 and 转办 open the whole case to that department's staff."""
    code = ctx.payload.get("department")
    named = isinstance(code, str) and bool(code)
    department = (
        Department.objects.select_related("division")
        .filter(access.routing_scope(ctx.case), code=code)
        .first()
        if named
        else None
    )
    if department is not None:
        return department
    elsewhere = Department.objects.filter(code=code).first() if named else None
    if elsewhere is not None:
        raise ValidationFailed(
            f"不能{verb}给{elsewhere.name}",
            code="department_out_of_scope",
            errors=[
                FieldError(
                    "department",
                    f"{elsewhere.name}不在本办件可{verb}的范围内："
                    "只能是本地区、上级地区或直属下级地区的部门",
                )
            ],
        )
    raise ValidationFailed(
        f"请选择{verb}的部门",
        code="invalid_department",
        errors=[FieldError("department", f"没有代码为 {code!r} 的部门")],
    )


def _task_staff(ctx: Context) -> bool:
    """Reviewers and the head of the task's own department."""
    task = ctx.task
    return task is not None and (
        access.is_reviewer_for(ctx.actor, task)
        or access.has_role_in(ctx.actor, "department_head", task.department_id)
    )


def _validate_countersign(ctx: Context) -> None:
    _validate_task_open(ctx)
    _need_reason(ctx)
    task = ctx.task
    assert task is not None
    department = _department_for(ctx, "会签")
    if department.pk == task.department_id:
        raise ValidationFailed(
            "不能与本部门会签",
            code="same_department",
            errors=[FieldError("department", "请选择其他部门")],
        )
    busy = {
        t.department_id
        for t in ctx.tasks()
        if t.stage == task.stage and t.state in (TaskState.OPEN, TaskState.WAITING)
    }
    if department.pk in busy:
        raise ValidationFailed(
            "该部门已在本环节审查，无需会签",
            code="already_reviewing",
            errors=[FieldError("department", f"{department.name}已在本环节审查")],
        )
    days = ctx.payload.get("limit_days", task.limit_days)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 60:
        raise ValidationFailed(
            "会签时限不正确",
            code="invalid_days",
            errors=[FieldError("limit_days", "应为 1 到 60 个工作日")],
        )
    ctx.payload["_department"] = department
    ctx.event_data = {"department": department.code, "limit_days": days}


@transition(
    "countersign",
    "发起会签",
    {S.IN_REVIEW},
    _task_staff,
    validate=_validate_countersign,
    needs_task=True,
    applicant_visible=False,
)
def countersign(ctx: Context) -> None:
    """会签: the task's department asks another department to review with it. The new task
    opens at once in the same stage, so the stage completes only when both have approved."""
    task, case = ctx.task, ctx.case
    assert task is not None
    department: Department = ctx.payload.pop("_department")
    days = ctx.event_data["limit_days"]
    created = CaseTask.objects.create(
        case=case,
        stage=task.stage,
        stage_name=task.stage_name,
        name=f"会签：{task.name or task.stage_name}",
        department=department,
        limit_days=days,
        on_timeout="none",  # a countersign is never deemed approved by silence
        state=TaskState.OPEN,
        opened_at=timezone.now(),
        due_date=add_workdays(ctx.today, days, case.division),
        countersign_for=task,
    )
    access.remember_tasks(case, [*ctx.tasks(), created])
    ctx.event_data["countersign_task"] = created.pk
    ctx.event_data["countersign_due_date"] = _iso(created.due_date)
    ctx.event_data["task_due_date"] = _iso(task.due_date)


def _validate_transfer(ctx: Context) -> None:
    _validate_task_open(ctx)
    _need_reason(ctx)
    task = ctx.task
    assert task is not None
    department = _department_for(ctx, "转办")
    if department.pk == task.department_id:
        raise ValidationFailed(
            "不能转办给本部门",
            code="same_department",
            errors=[FieldError("department", "请选择其他部门")],
        )
    if any(
        t.department_id == department.pk and t.stage == task.stage and t.state == TaskState.OPEN
        for t in ctx.tasks()
    ):
        raise ValidationFailed(
            "该部门已在本环节审查",
            code="already_reviewing",
            errors=[FieldError("department", f"{department.name}已在本环节审查")],
        )
    ctx.payload["_department"] = department
    ctx.event_data = {"from": task.department.code, "to": department.code}


@transition(
    "transfer_task",
    "转办",
    {S.IN_REVIEW},
    _task_staff,
    validate=_validate_transfer,
    needs_task=True,
    applicant_visible=False,
)
def transfer_task(ctx: Context) -> None:
    """转办: the task belongs to another department's remit; it moves there with its deadline
    (the statutory clock does not restart because the case went to the wrong desk)."""
    task = ctx.task
    assert task is not None
    department: Department = ctx.payload.pop("_department")
    task.department = department
    task.save(update_fields=["department"])
    ctx.event_data["task_due_date"] = _iso(task.due_date)


def _validate_send_back(ctx: Context) -> None:
    _need_reason(ctx)
    target = ctx.payload.get("to", "intake")
    # back to a step the case has been through only: in review, a stage before the current
    # one; awaiting the decision, any stage up to the one that finished (a rejection in stage 1
    # leaves the later stages never reached)
    reached = ctx.case.current_stage + (ctx.case.state == S.AWAITING_DECISION)
    allowed = ["intake", *(f"stage:{n}" for n in range(1, reached))]
    if target not in allowed:
        raise ValidationFailed(
            "不能退回到该环节",
            code="invalid_target",
            errors=[FieldError("to", f"可退回到：{', '.join(allowed) or '无'}")],
        )
    ctx.event_data = {"to": target}


def _head_or_window(ctx: Context) -> bool:
    return access.is_head_for(ctx.actor, ctx.case) or access.is_window_for(ctx.actor, ctx.case)


@transition(
    "send_back",
    "退回",
    {S.IN_REVIEW, S.AWAITING_DECISION},
    _head_or_window,
    validate=_validate_send_back,
    staff_notes=True,
)
def send_back(ctx: Context) -> None:
    """退回 to intake (预审) or to an earlier review stage, with a reason.

    退回 to intake undoes the acceptance and the period it started: a new acceptance starts a
    new period from the promised limit, with the whole legal extension (延期) still available —
    the days the undone period was extended are not carried over (the event keeps how many
    they were). Its clock stops (中止) already moved only the undone deadlines when they ended
    and stay on record; nothing of them counts in the new period."""
    case, target = ctx.case, ctx.event_data["to"]
    if target == "intake":
        _cancel_open_tasks(case)
        # the undone acceptance's tasks and 容缺 stay on record (their events name them); a
        # new acceptance starts from none
        now = timezone.now()
        case.tasks.current().update(superseded_at=now)
        case.tolerated.current().update(superseded_at=now)
        access.forget_tasks(case)
        if case.extended_days:
            ctx.event_data["extended_days_undone"] = case.extended_days
        case.state = S.SUBMITTED
        case.current_stage = 0
        case.accepted_at = None
        case.due_date = None
        case.extended_days = 0
        case.received_at = now  # back at the window: the 预审 period starts again
        ctx.touch(
            "state", "current_stage", "accepted_at", "due_date", "extended_days", "received_at"
        )
        return
    stage = int(target.split(":")[1])
    case.tasks.current().filter(stage__gt=stage).update(
        state=TaskState.WAITING, opinion="", completed_by=None, completed_at=None, due_date=None
    )
    access.forget_tasks(case)
    _open_stage(ctx, stage)


# --- clock --------------------------------------------------------------------------------------
def _validate_suspend(ctx: Context) -> None:
    _need_reason(ctx)
    kind = ctx.payload.get("kind")
    if kind not in ClockStopKind.values:
        raise ValidationFailed(
            "中止须注明特别程序",
            code="invalid_kind",
            errors=[FieldError("kind", f"应为以下之一：{', '.join(ClockStopKind.values)}")],
        )
    ctx.event_data = {"kind": kind}


def _review_staff(ctx: Context) -> bool:
    """The handling department's head, or a reviewer with a task open on the case: who runs
    a special procedure (听证, 检验 …) is who is reviewing now, not any department that once did."""
    return access.is_head_for(ctx.actor, ctx.case) or any(
        t.state == TaskState.OPEN and access.is_reviewer_for(ctx.actor, t) for t in ctx.tasks()
    )


@transition(
    "suspend",
    "中止（特别程序）",
    {S.IN_REVIEW, S.AWAITING_DECISION},
    _review_staff,
    validate=_validate_suspend,
    staff_notes=True,
)
def suspend(ctx: Context) -> None:
    """中止 for 听证/检验/检测/专家评审/公示: the clock stops until ``resume``."""
    ClockStop.objects.create(
        case=ctx.case, kind=ctx.event_data["kind"], reason=ctx.reason, started_on=ctx.today
    )
    ctx.case.clock_stopped = True
    ctx.touch("clock_stopped")


@transition(
    "resume",
    "恢复计时",
    {S.IN_REVIEW, S.AWAITING_DECISION},
    _review_staff,
    requires_open_clock=False,
    requires_stopped_clock=True,
)
def resume(ctx: Context) -> None:
    """End the clock stop; every deadline moves by the working days it lasted."""
    stop = ctx.case.clock_stops.get(ended_on__isnull=True)
    before = ctx.case.due_date
    paused = workdays_between(stop.started_on, ctx.today, ctx.case.division)
    stop.ended_on = ctx.today
    stop.paused_workdays = paused
    stop.save(update_fields=["ended_on", "paused_workdays"])
    ctx.case.clock_stopped = False
    ctx.touch("clock_stopped")
    _move_deadlines(ctx, paused)
    ctx.event_data = {"paused_workdays": paused, **_due_dates(before, ctx.case.due_date)}


def _move_deadlines(ctx: Context, workdays: int) -> None:
    if workdays <= 0:
        return
    case = ctx.case
    if case.due_date is not None:
        case.due_date = extend_deadline(case.due_date, workdays, case.division)
        ctx.touch("due_date")
    for task in ctx.tasks():
        if task.state == TaskState.OPEN and task.due_date is not None:
            task.due_date = extend_deadline(task.due_date, workdays, case.division)
            task.save(update_fields=["due_date"])


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _due_dates(before: dt.date | None, after: dt.date | None) -> dict[str, str | None]:
    """How a step moved the case's 办结期限, for its event (``due_date`` is the one now)."""
    return {"due_date": _iso(after), "due_date_before": _iso(before), "due_date_after": _iso(after)}


def _validate_extend(ctx: Context) -> None:
    """延期 is decided within the period (行政许可法 第四十二条): not once the deadline has passed."""
    due = ctx.case.due_date
    if due is not None and ctx.today > due:
        raise Conflict(
            f"办结期限 {due:%Y年%m月%d日} 已过，不能再延期：延期须在期限届满前决定",
            code="extension_after_deadline",
        )
    _need_reason(ctx)
    days = ctx.payload.get("days")
    room = ctx.case.extension_max_days - ctx.case.extended_days
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise ValidationFailed(
            "请填写延长的工作日数", code="invalid_days", errors=[FieldError("days", "应为正整数")]
        )
    if days > room:
        raise ValidationFailed(
            f"延长期限超过法定上限：本事项最多还可延长 {room} 个工作日",
            code="extension_too_long",
            errors=[FieldError("days", f"最多 {room} 个工作日")],
        )
    ctx.event_data = {"days": days}


@transition(
    "extend",
    "延期（经负责人批准）",
    {S.IN_REVIEW, S.AWAITING_DECISION},
    lambda ctx: access.is_head_for(ctx.actor, ctx.case),
    validate=_validate_extend,
)
def extend(ctx: Context) -> None:
    days = ctx.event_data["days"]
    before = ctx.case.due_date
    ctx.case.extended_days += days
    ctx.touch("extended_days")
    _move_deadlines(ctx, days)
    ctx.event_data.update(_due_dates(before, ctx.case.due_date))


# --- decision and delivery ------------------------------------------------------------------------
def _validate_decide(ctx: Context) -> None:
    outcome = ctx.payload.get("outcome")
    if outcome not in (Outcome.APPROVED, Outcome.DENIED):  # 撤销 is a broken commitment's
        raise ValidationFailed(
            "请选择准予或不予",
            code="invalid_outcome",
            errors=[FieldError("outcome", "应为 approved 或 denied")],
        )
    denied = outcome == Outcome.DENIED
    ctx.reason = _text(ctx, "reason", "理由", required=denied)
    basis = _text(ctx, "legal_basis", "法律依据", required=denied)
    ctx.event_data = {"outcome": outcome, "legal_basis": basis}


@transition(
    "decide",
    "作出决定",
    {S.AWAITING_DECISION},
    lambda ctx: access.is_head_for(ctx.actor, ctx.case),
    validate=_validate_decide,
)
def decide(ctx: Context) -> None:
    """决定: 准予 or 不予 (a denial needs reasons and the legal basis). A case filed on a
    commitment (告知承诺) and approved after ordinary review still rests on that commitment:
    its 核查 falls due as after an approval on the commitment."""
    case = ctx.case
    case.outcome = ctx.event_data["outcome"]
    case.decision_reason = ctx.reason
    case.decision_basis = ctx.event_data["legal_basis"]
    case.decided_at = timezone.now()
    case.state = S.DECIDED
    ctx.touch("outcome", "decision_reason", "decision_basis", "decided_at", "state")
    if case.outcome == Outcome.APPROVED:
        declared = (
            Commitment.objects.filter(case=case, state=CommitmentState.DECLARED).first()
            if case.filed_on_commitment  # only such a case has one to read
            else None
        )
        if declared is not None:
            _open_verification(ctx, declared, commitments.VERIFY_DAYS_DEFAULT)
        ctx.after.append(lambda: outcomes.case_approved(case, ctx.actor))


DELIVERY_METHODS = ("electronic", "mail", "pickup")


_MISSING_TOLERATED = CompiledRead(
    lambda case_id: (
        ToleratedMaterial.objects.current()
        .filter(case_id=case_id, supplied_at__isnull=True)
        .order_by("due_date")
        .values_list("material_name", flat=True)
    ),
    (int,),
    "missing_tolerated_materials",
)  # compiled once: every delivery asks


def _validate_deliver(ctx: Context) -> None:
    missing: list[str] = _MISSING_TOLERATED(ctx.case.pk)
    if missing and ctx.case.outcome == Outcome.APPROVED:
        raise Conflict(
            f"容缺材料尚未补齐，补齐后方可送达：{'、'.join(missing)}", code="tolerated_missing"
        )
    method = ctx.payload.get("method", "electronic")
    if method not in DELIVERY_METHODS:
        raise ValidationFailed(
            "送达方式不正确",
            code="invalid_method",
            errors=[FieldError("method", f"应为 {', '.join(DELIVERY_METHODS)}")],
        )
    ctx.event_data = {"method": method}


def _handling_staff(ctx: Context) -> bool:
    return access.is_window_for(ctx.actor, ctx.case) or access.is_head_for(ctx.actor, ctx.case)


@transition(
    "deliver",
    "送达",
    {S.DECIDED},
    _handling_staff,
    validate=_validate_deliver,
    requires_open_clock=False,
)
def deliver(ctx: Context) -> None:
    ctx.case.delivery_method = ctx.event_data["method"]
    ctx.case.delivered_at = timezone.now()
    ctx.case.state = S.DELIVERED
    ctx.touch("delivery_method", "delivered_at", "state")


@transition("close", "办结", {S.DELIVERED}, _handling_staff, requires_open_clock=False)
def close(ctx: Context) -> None:
    ctx.case.closed_at = timezone.now()
    ctx.case.state = S.CLOSED
    ctx.touch("closed_at", "state")


def clock_stopped(case: Case) -> bool:
    return case.clock_stopped


# --- 告知承诺 ---------------------------------------------------------------------------------------
def _commitment_state(case: Case) -> str | None:
    """The state of the case's 告知承诺 (None, without a read, for a case not filed on one)."""
    if not case.filed_on_commitment:
        return None
    return Commitment.objects.filter(case=case).values_list("state", flat=True).first()


VERIFY_DAYS_DEFAULT = commitments.VERIFY_DAYS_DEFAULT


def _validate_commitment_approval(ctx: Context) -> None:
    commitment = Commitment.objects.filter(case=ctx.case).first()
    if commitment is None or commitment.state != CommitmentState.DECLARED:
        raise Conflict("该申请没有以告知承诺方式提交", code="no_commitment")
    commitments.check_case_not_barred(ctx.case, ctx.today)  # a bar imposed since submission
    days = ctx.payload.get("verify_within_days", VERIFY_DAYS_DEFAULT)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 120:
        raise ValidationFailed(
            "核查期限不正确",
            code="invalid_days",
            errors=[FieldError("verify_within_days", "应为 1 到 120 个工作日")],
        )
    ctx.event_data = {"verify_within_days": days}


@transition(
    "approve_on_commitment",
    "告知承诺审批（当场准予）",
    {S.SUBMITTED},
    lambda ctx: (
        access.is_head_for(ctx.actor, ctx.case) or access.is_window_for(ctx.actor, ctx.case)
    ),
    validate=_validate_commitment_approval,
    offered=lambda case, today: _commitment_state(case) == CommitmentState.DECLARED,
)
def approve_on_commitment(ctx: Context) -> None:
    """Approve at once on the signed commitment; a 核查 task opens in the handling department,
    due by the verification date."""
    case = ctx.case
    now = timezone.now()
    case.accepted_at = now
    case.due_date = ctx.today
    case.outcome = Outcome.APPROVED
    case.decision_reason = "申请人已书面承诺符合条件，依告知承诺制当场准予"
    case.decided_at = now
    case.state = S.DECIDED
    ctx.touch("accepted_at", "due_date", "outcome", "decision_reason", "decided_at", "state")
    _open_verification(ctx, case.commitment, ctx.event_data["verify_within_days"])
    ctx.after.append(lambda: outcomes.case_approved(case, ctx.actor))


def _open_verification(ctx: Context, commitment: Commitment, days: int) -> None:
    """The approval rests on the applicant's commitment: its 核查 falls due, as a task after
    the case's review stages, and the event names it."""
    tasks = ctx.tasks()
    ctx.task = commitments.start_verification(
        ctx.case,
        commitment,
        today=ctx.today,
        days=days,
        stage=max((t.stage for t in tasks), default=0) + 1,
    )
    access.remember_tasks(ctx.case, [*tasks, ctx.task])
    assert commitment.verification_due is not None
    ctx.event_data["verification_due"] = commitment.verification_due.isoformat()


def _verification_task(ctx: Context) -> CaseTask | None:
    """The case's open 核查 task (None for a commitment not approved, or already checked)."""
    return next(
        (t for t in ctx.tasks() if t.kind == TaskKind.VERIFICATION and t.state == TaskState.OPEN),
        None,
    )


def _verifier(ctx: Context) -> bool:
    """Reviewers and the head of the department holding the 核查 task (the handling one)."""
    task = _verification_task(ctx)
    department = task.department_id if task is not None else ctx.case.department_id
    return access.has_role_in(ctx.actor, "reviewer", department) or access.has_role_in(
        ctx.actor, "department_head", department
    )


def _pending_commitment(ctx: Context) -> Commitment:
    commitment = Commitment.objects.filter(case=ctx.case).first()
    if commitment is None or commitment.state != CommitmentState.PENDING:
        raise Conflict("没有待核查的承诺", code="no_pending_commitment")
    return commitment


def _close_verification(ctx: Context, state: str, opinion: str) -> None:
    """Close the 核查 task with the finding; the event records it as its task."""
    task = _verification_task(ctx)
    if task is None:
        return
    task.state = state
    task.opinion = opinion
    task.completed_by = ctx.actor
    task.completed_at = timezone.now()
    ctx.task = task
    ctx.save_with_event(task, "state", "opinion", "completed_by", "completed_at")


def _validate_verify(ctx: Context) -> None:
    _pending_commitment(ctx)
    ctx.event_data = {"finding": _text(ctx, "finding", "核查结论", required=False)}


@transition(
    "verify_commitment",
    "承诺核查属实",
    {S.DECIDED, S.DELIVERED, S.CLOSED},
    _verifier,
    validate=_validate_verify,
    requires_open_clock=False,
    offered=lambda case, today: _commitment_state(case) == CommitmentState.PENDING,
    staff_notes=True,
)
def verify_commitment(ctx: Context) -> None:
    """The commitment was kept: it is verified and the 核查 task closes."""
    commitment = ctx.case.commitment
    commitment.state = CommitmentState.VERIFIED
    commitment.checked_by = ctx.actor
    commitment.checked_at = timezone.now()
    commitment.finding = ctx.event_data["finding"]
    commitment.save(update_fields=["state", "checked_by", "checked_at", "finding"])
    _close_verification(ctx, TaskState.APPROVED, commitment.finding or "核查属实")


def _validate_revoke(ctx: Context) -> None:
    _pending_commitment(ctx)
    _need_reason(ctx)


@transition(
    "revoke_for_broken_commitment",
    "违诺撤销",
    {S.DECIDED, S.DELIVERED, S.CLOSED},
    lambda ctx: access.is_head_for(ctx.actor, ctx.case),
    validate=_validate_revoke,
    requires_open_clock=False,
    offered=lambda case, today: _commitment_state(case) == CommitmentState.PENDING,
)
def revoke_for_broken_commitment(ctx: Context) -> None:
    """The commitment was false: revoke the decision, close the 核查 task and bar the applicant
    from the commitment route for the configured period (e.g. three years)."""
    case = ctx.case
    commitment = case.commitment
    commitment.state = CommitmentState.BROKEN
    commitment.checked_by = ctx.actor
    commitment.checked_at = timezone.now()
    commitment.finding = ctx.reason
    commitment.save(update_fields=["state", "checked_by", "checked_at", "finding"])
    _close_verification(ctx, TaskState.REJECTED, ctx.reason)
    case.outcome = Outcome.REVOKED
    case.decision_reason = f"违反告知承诺，撤销准予决定：{ctx.reason}"
    case.state = S.CLOSED
    case.closed_at = case.closed_at or timezone.now()
    ctx.touch("outcome", "decision_reason", "state", "closed_at")
    years = int(getattr(settings, "TONGBAN_COMMITMENT_BAR_YEARS", 3))
    until = _years_later(ctx.today, years)
    CommitmentBar.objects.create(
        person=case.applicant_person if case.applicant_enterprise is None else None,
        enterprise=case.applicant_enterprise,
        case=case,
        reason=ctx.reason,
        until=until,
    )
    ctx.event_data = {"barred_until": until.isoformat()}
    ctx.after.append(lambda: outcomes.case_revoked(case, ctx.actor, ctx.reason))


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
