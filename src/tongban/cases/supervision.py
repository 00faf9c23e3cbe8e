"""督办/效能监察 overview: for each department, the open cases, review tasks and 告知承诺 核查
tasks counted by traffic light (each kind a figure of its own: a 核查 is not a review), the
overdue (红牌) and at-risk (黄牌) work, the 督办 escalations sent and the 按时办结率 of the last
``WINDOW_DAYS`` days — read-only, for supervisors and department heads.

Who sees what follows ``cases.access`` and the risk queues: a supervisor (``supervisor`` role)
oversees every case filed in the division of their department or below it, whichever department
handles or reviews it; a department head the cases their departments handle and the tasks
their departments hold (a 核查 task is held by the handling department). Anyone else is refused
with ``PermissionDenied``, and a filter naming a division or department outside the actor's
oversight too.

The counts follow the queues' rules: a case is timed while 审查中 or 待决定 (its due date), a
review task while open in a case under review, a 核查 task while open in a case approved on the
commitment (决定 made, as the 待核查 queue lists it: by its verification date); a stopped clock
(中止) makes a row ``paused``. Everything is counted in SQL, grouped by department (and task
kind: review and 核查 tasks are one query), with the light as a SQL expression over the boundary
dates of the national calendar (as ``queues`` filters lights), so the page costs a fixed number
of queries whatever the number of cases. Only rows not yet overdue in a division that has
calendar days of its own are fetched and classified in Python (one more query for cases, one
for tasks).

督办 sent counts, each on its own, the distinct cases, review tasks and 核查 tasks escalated in
the window by ``deadlines.warn_and_escalate`` (a 红牌 message to the head and supervisors:
``case.case_overdue``, ``case.intake_overdue`` or ``case.delivery_overdue`` for the case's own
due date, 预审 period or 送达 period, ``case.task_overdue`` and ``case.verification_overdue`` for
tasks) or by a timeout escalation (超时督办, the task's ``escalated_at``: a task that escalates
on timeout gets that instead of a ``case.task_overdue``). The messages are read from their dedupe keys
(``deadline:<case>:…``, ``task:<task>:…``), one row per recipient, so an item is counted once
however many people were told, however many of its deadlines were escalated and whichever
way. 按时办结率: of the cases decided in the window (the statutory limit runs until the
decision), the share decided on or before their due date.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    BigIntegerField,
    CharField,
    Count,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models import Case as SqlCase
from django.db.models.functions import Cast, StrIndex, Substr
from django.utils import timezone

from tongban.cases.deadlines import CASE_TEMPLATES, TASK_TEMPLATES
from tongban.cases.models import Case, CaseState, CaseTask, ClockStop, TaskKind, TaskState
from tongban.cases.queues import (
    LIGHT_LABELS,
    QUEUES,
    QueueRow,
    Signal,
    _yellow_q,
    classify,
    encode_cursor,
)
from tongban.core.errors import FieldError, PermissionDenied, ValidationFailed
from tongban.identity.models import Department, Division, DivisionLevel, Role
from tongban.identity.permissions import is_staff_member
from tongban.identity.selectors import staff_role_grants
from tongban.notifications.selectors import messages_with_templates
from tongban.workdays.arithmetic import WorkingCalendar
from tongban.workdays.selectors import working_calendar

WINDOW_DAYS = 30
LIST_LIMIT = 20
# the 红牌 督办 messages of ``deadlines.warn_and_escalate``: a case's own deadlines, and tasks'
CASE_ESCALATION_TEMPLATES = tuple(overdue for _warning, overdue in CASE_TEMPLATES.values())
TASK_ESCALATION_TEMPLATES = tuple(overdue for _warning, overdue in TASK_TEMPLATES.values())
TIMED_CASE_STATES = (CaseState.IN_REVIEW, CaseState.AWAITING_DECISION)
TIMED_TASK_CASE_STATES = (CaseState.IN_REVIEW,)
VERIFICATION_CASE_STATES = QUEUES["verification"].states  # approved on the commitment
LIGHTS = ("red", "yellow", "green", "paused")
_DIVISION_DEPTH = 4  # province → city → district → street
_CHAIN = "division__parent__parent__parent"
_CHECK = "check"  # not overdue, in a division with its own calendar days: classified in Python


# --- results ------------------------------------------------------------------------------------


@dataclass
class LightCounts:
    """Open work by light."""

    red: int = 0
    yellow: int = 0
    green: int = 0
    paused: int = 0

    def add(self, light: str, n: int = 1) -> None:
        setattr(self, light, getattr(self, light) + n)

    @property
    def total(self) -> int:
        return self.red + self.yellow + self.green + self.paused

    @property
    def at_risk(self) -> int:
        return self.red + self.yellow

    def as_dict(self) -> dict[str, int]:
        return {light: getattr(self, light) for light in LIGHTS} | {"total": self.total}


@dataclass
class DepartmentLine:
    """One department's figures (or the totals, with ``department`` None): open cases, review
    tasks and 核查 tasks (``verifications``) by light, and the cases, review tasks and 核查 tasks
    escalated in the window."""

    department: Department | None
    cases: LightCounts = field(default_factory=LightCounts)
    tasks: LightCounts = field(default_factory=LightCounts)
    verifications: LightCounts = field(default_factory=LightCounts)
    escalated_cases: int = 0
    escalated_tasks: int = 0
    escalated_verifications: int = 0
    decided: int = 0
    decided_on_time: int = 0

    def work(self, kind: str | None) -> LightCounts:
        """The counts of cases (``kind`` None) or of tasks of ``kind`` (a ``TaskKind``)."""
        if kind is None:
            return self.cases
        return self.verifications if kind == TaskKind.VERIFICATION else self.tasks

    @property
    def open_work(self) -> LightCounts:
        """Cases, review tasks and 核查 tasks together (the chart's bars and the red and yellow
        totals)."""
        together = LightCounts()
        for light in LIGHTS:
            for counts in (self.cases, self.tasks, self.verifications):
                together.add(light, getattr(counts, light))
        return together

    @property
    def escalations(self) -> int:
        """Everything escalated (督办) in the window: cases, review tasks and 核查 tasks."""
        return self.escalated_cases + self.escalated_tasks + self.escalated_verifications

    @property
    def on_time_rate(self) -> float | None:
        """按时办结率 in percent (one decimal); None when nothing was decided in the window."""
        if not self.decided:
            return None
        return round(100 * self.decided_on_time / self.decided, 1)

    def absorb(self, other: DepartmentLine) -> None:
        for light in LIGHTS:
            self.cases.add(light, getattr(other.cases, light))
            self.tasks.add(light, getattr(other.tasks, light))
            self.verifications.add(light, getattr(other.verifications, light))
        self.escalated_cases += other.escalated_cases
        self.escalated_tasks += other.escalated_tasks
        self.escalated_verifications += other.escalated_verifications
        self.decided += other.decided
        self.decided_on_time += other.decided_on_time


@dataclass(frozen=True)
class OverviewFilters:
    division: int | None = None
    department: int | None = None
    item: str = ""

    @property
    def active(self) -> bool:
        return bool(self.division or self.department or self.item)


@dataclass(frozen=True)
class Overview:
    today: dt.date
    since: dt.date  # first day of the window
    filters: OverviewFilters
    lines: list[DepartmentLine]
    totals: DepartmentLine
    overdue: list[QueueRow]
    at_risk: list[QueueRow]
    more_overdue: bool
    more_at_risk: bool
    divisions: list[Division]  # the division filter's choices (none for heads only)
    departments: list[Department]  # the department filter's choices


# --- who oversees what ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Oversight:
    """The departments where the actor is supervisor, and where they are head (from the cached
    role grants: knowing it costs no query beyond the roles)."""

    supervisor_departments: tuple[int, ...]
    head_departments: tuple[int, ...]


@dataclass(frozen=True)
class Scope:
    """What an overview covers: the head's departments, and the divisions a supervisor oversees
    (the divisions of their departments and every division below), loaded once so that every
    query filters by a plain list of ids."""

    head_departments: tuple[int, ...]
    divisions: tuple[Division, ...]

    @property
    def division_ids(self) -> list[int]:
        return [division.pk for division in self.divisions]

    def rows(self, case_path: str) -> Q:
        """Cases (``case_path`` "") or tasks ("case__") overseen."""
        parts: list[Q] = []
        if self.head_departments:
            parts.append(Q(department_id__in=self.head_departments))
        if self.divisions:
            parts.append(Q(**{f"{case_path}division_id__in": self.division_ids}))
        return _any(parts)

    def departments(self) -> Q:
        """Departments of the overseen divisions, and the head's departments."""
        return Q(pk__in=self.head_departments) | Q(division_id__in=self.division_ids)

    def below(self, division_id: int) -> list[int]:
        """``division_id`` and the overseen divisions below it."""
        children: dict[int | None, list[int]] = defaultdict(list)
        for division in self.divisions:
            children[division.parent_id].append(division.pk)
        found = [division_id]
        for pk in found:
            found.extend(children.get(pk, []))
        return found


def scope_of(oversight: Oversight) -> Scope:
    """The scope of ``oversight`` (one query when the actor supervises a division)."""
    divisions: tuple[Division, ...] = ()
    if oversight.supervisor_departments:
        supervised = Department.objects.filter(pk__in=oversight.supervisor_departments).values(
            "division_id"
        )
        divisions = tuple(Division.objects.filter(at_or_below("", supervised)).order_by("code"))
    return Scope(oversight.head_departments, divisions)


def oversight_of(actor: Any) -> Oversight | None:
    """What ``actor`` oversees; None for anyone who is neither supervisor nor department head."""
    if not is_staff_member(actor):
        return None
    grants = staff_role_grants(actor)
    supervisor = tuple(sorted(d for role, d in grants if role == Role.SUPERVISOR))
    heads = tuple(sorted(d for role, d in grants if role == Role.DEPARTMENT_HEAD))
    if not supervisor and not heads:
        return None
    return Oversight(supervisor, heads)


def may_oversee(actor: Any) -> bool:
    return oversight_of(actor) is not None


def check_oversight(actor: Any) -> Oversight:
    found = oversight_of(actor)
    if found is None:
        raise PermissionDenied(
            "只有督办人员和部门负责人可以查看督办总览", code="supervision_not_allowed"
        )
    return found


def at_or_below(path: str, ids: Any) -> Q:
    """Rows whose division (the foreign key ``path``; "" for divisions themselves) is one of
    ``ids`` (a list or a subquery) or below it."""
    query = Q(**{f"{path}_id__in" if path else "pk__in": ids})
    node = path
    for _level in range(_DIVISION_DEPTH - 1):
        node = f"{node}__parent" if node else "parent"
        query |= Q(**{f"{node}_id__in": ids})
    return query


def _any(parts: Sequence[Q]) -> Q:
    if not parts:
        return Q(pk__in=[])
    query = parts[0]
    for part in parts[1:]:
        query |= part
    return query


# --- the overview -------------------------------------------------------------------------------


def _filtered(scope: Scope, filters: OverviewFilters, case_path: str) -> Q:
    query = scope.rows(case_path)
    if filters.division is not None:
        query &= Q(**{f"{case_path}division_id__in": scope.below(filters.division)})
    if filters.department is not None:
        query &= Q(department_id=filters.department)
    if filters.item:
        query &= Q(**{f"{case_path}item_code__startswith": filters.item}) | Q(
            **{f"{case_path}item_name__contains": filters.item}
        )
    return query


def _check_filters(scope: Scope, filters: OverviewFilters) -> None:
    """A division or department outside the actor's oversight is refused (a department costs
    one query)."""
    if filters.division is not None and filters.division not in scope.division_ids:
        raise PermissionDenied(
            "该区划不在您的督办范围内",
            code="division_not_overseen",
            errors=[FieldError("division", "该区划不在您的督办范围内")],
        )
    if filters.department is not None:
        cases = Case.objects.filter(scope.rows("")).values("department_id")
        tasks = CaseTask.objects.filter(scope.rows("case__")).values("department_id")
        allowed = (
            Department.objects.filter(pk=filters.department)
            .filter(scope.departments() | Q(pk__in=cases) | Q(pk__in=tasks))
            .exists()
        )
        if not allowed:
            raise PermissionDenied(
                "该部门不在您的督办范围内",
                code="department_not_overseen",
                errors=[FieldError("department", "该部门不在您的督办范围内")],
            )


def _stopped(case_ref: str) -> Exists:
    return Exists(ClockStop.objects.filter(case_id=OuterRef(case_ref), ended_on__isnull=True))


def _timed_cases(scope: Q) -> QuerySet[Case]:
    return (
        Case.objects.filter(scope, state__in=TIMED_CASE_STATES, due_date__isnull=False)
        .annotate(stopped=_stopped("pk"), limit=F("promised_limit_days") + F("extended_days"))
        .order_by()
    )


def _timed_tasks(scope: Q) -> QuerySet[CaseTask]:
    """Open review tasks of cases under review and open 核查 tasks of cases approved on the
    commitment (one queryset: ``kind`` tells them apart)."""
    timed = Q(kind=TaskKind.REVIEW, case__state__in=TIMED_TASK_CASE_STATES) | Q(
        kind=TaskKind.VERIFICATION, case__state__in=VERIFICATION_CASE_STATES
    )
    return (
        CaseTask.objects.filter(scope, timed, state=TaskState.OPEN, due_date__isnull=False)
        .annotate(stopped=_stopped("case_id"), limit=F("limit_days"))
        .order_by()
    )


def _with_light(
    rows: QuerySet[Any],
    case_path: str,
    today: dt.date,
    calendar: WorkingCalendar,
) -> QuerySet[Any]:
    """``rows`` annotated with ``light``: paused, red, yellow, green — or ``check`` for rows
    not yet overdue in a division with calendar days of its own."""
    max_limit = rows.aggregate(top=Max("limit"))["top"] or 0
    whens = [
        When(stopped=True, then=Value("paused")),
        When(due_date__lt=today, then=Value("red")),
    ]
    if calendar.overrides:
        local = at_or_below(f"{case_path}division", sorted(calendar.overrides))
        whens.append(When(local, then=Value(_CHECK)))
    whens.append(
        When(_yellow_q("due_date", "limit", today, calendar, max_limit), then=Value("yellow"))
    )
    return rows.annotate(light=SqlCase(*whens, default=Value("green"), output_field=CharField()))


def _signal(obj: Any, today: dt.date, calendar: WorkingCalendar) -> Signal:
    case = obj.case if isinstance(obj, CaseTask) else obj
    chain = _chain(case.division)
    return classify(
        obj.due_date,
        obj.limit,
        today,
        lambda a, b: calendar.workdays_between(a, b, chain),
        paused=obj.stopped,
    )


def _chain(division: Division | None) -> tuple[int, ...]:
    chain: list[int] = []
    node = division
    while node is not None and len(chain) < 8:
        chain.append(node.pk)
        node = node.parent
    return tuple(chain)


def _count(
    rows: QuerySet[Any],
    lines: dict[int, DepartmentLine],
    case_path: str,
    today: dt.date,
    calendar: WorkingCalendar,
) -> None:
    """Add the light counts of ``rows`` (annotated by ``_with_light``): cases (``case_path``
    "") or tasks ("case__", counted by kind) to ``lines``."""
    tasks = bool(case_path)
    group = ("department_id", "kind", "light") if tasks else ("department_id", "light")
    grouped = rows.values(*group).annotate(n=Count("pk")).order_by()
    checks = False
    for *keys, light, n in grouped.values_list(*group, "n"):
        if light == _CHECK:
            checks = True
            continue
        _line(lines, keys[0]).work(keys[1] if tasks else None).add(light, n)
    if not checks:
        return
    for obj in rows.filter(light=_CHECK).select_related(f"{case_path}{_CHAIN}"):
        light = _signal(obj, today, calendar).light
        counts = _line(lines, obj.department_id).work(obj.kind if tasks else None)
        counts.add(light if light in LIGHTS else "green")


def _line(lines: dict[int, DepartmentLine], department_id: int) -> DepartmentLine:
    line = lines.get(department_id)
    if line is None:
        line = lines[department_id] = DepartmentLine(None)
    return line


def _escalated_ids(templates: Sequence[str], prefix: str, since: dt.datetime) -> QuerySet[Any]:
    """Ids of the cases (``prefix`` "deadline") or tasks ("task") a 红牌 督办 message of
    ``templates`` was sent about since ``since``, read from the message's dedupe key
    ``<prefix>:<id>:…`` (a subquery; no query of its own)."""
    keys = messages_with_templates(templates, since=since).filter(
        dedupe_key__regex=rf"^{prefix}:[0-9]+:"
    )
    rest = Substr("dedupe_key", len(prefix) + 2)
    return keys.annotate(
        ref=Cast(Substr(rest, 1, StrIndex(rest, Value(":")) - 1), output_field=BigIntegerField())
    ).values("ref")


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _decided_on_time(since: dt.date, today: dt.date) -> Q:
    """Of the cases decided from ``since`` to ``today``: decided on or before the due date (local
    days), without converting each timestamp to a date in SQL. A due date from today on was met
    and one before ``since`` was missed; for each day ``d`` in between, decided before the start
    of the day after ``d``."""
    query = Q(due_date__isnull=True) | Q(due_date__gte=today)
    day = since
    while day < today:
        query |= Q(due_date=day, decided_at__lt=_start_of(day + dt.timedelta(days=1)))
        day += dt.timedelta(days=1)
    return query


def _lists(
    cases: QuerySet[Any],
    tasks: QuerySet[Any],
    lights: Iterable[str],
    wanted: str,
    today: dt.date,
    calendar: WorkingCalendar,
) -> tuple[list[QueueRow], bool]:
    """The first ``LIST_LIMIT`` rows of light ``wanted`` (SQL lights ``lights``), cases and
    tasks (review and 核查) together, earliest deadline first; and whether there are more."""
    picked: list[tuple[dt.date, int, int, QueueRow]] = []
    more = False
    sources: list[tuple[QuerySet[Any], int]] = [
        (
            cases.filter(light__in=list(lights)).select_related("department", _CHAIN),
            0,
        ),
        (
            tasks.filter(light__in=list(lights)).select_related(
                "department", "case__department", f"case__{_CHAIN}"
            ),
            1,
        ),
    ]
    for rows, order in sources:
        batch = list(rows.order_by("due_date", "pk")[: LIST_LIMIT + 1])
        more = more or len(batch) > LIST_LIMIT
        for obj in batch[:LIST_LIMIT]:
            signal = _signal(obj, today, calendar)
            if signal.light != wanted:
                continue
            case = obj.case if order else obj
            key = f"{obj.due_date.isoformat()}|{obj.pk}"
            row = QueueRow(case, obj if order else None, signal, encode_cursor(key))
            picked.append((obj.due_date, order, obj.pk, row))
    picked.sort(key=lambda p: p[:3])
    more = more or len(picked) > LIST_LIMIT
    return [p[3] for p in picked[:LIST_LIMIT]], more


def overview(
    actor: Any, filters: OverviewFilters | None = None, *, today: dt.date | None = None
) -> Overview:
    """The 督办 overview as ``actor`` may see it; ``PermissionDenied`` for anyone else."""
    scope = scope_of(check_oversight(actor))
    filters = filters or OverviewFilters()
    _check_filters(scope, filters)
    today = today or timezone.localdate()
    since = today - dt.timedelta(days=WINDOW_DAYS - 1)
    since_start = _start_of(since)
    calendar = working_calendar()
    case_scope = _filtered(scope, filters, "")
    task_scope = _filtered(scope, filters, "case__")

    lines: dict[int, DepartmentLine] = {}
    cases = _with_light(_timed_cases(case_scope), "", today, calendar)
    tasks = _with_light(_timed_tasks(task_scope), "case__", today, calendar)
    _count(cases, lines, "", today, calendar)
    _count(tasks, lines, "case__", today, calendar)

    # 督办 sent: each case and each task once, by the department answering for the deadline
    escalated_tasks = (
        CaseTask.objects.filter(task_scope)
        .filter(
            Q(escalated_at__gte=since_start)
            | Q(pk__in=_escalated_ids(TASK_ESCALATION_TEMPLATES, "task", since_start))
        )
        .values("department_id")
        .annotate(
            review=Count("pk", filter=~Q(kind=TaskKind.VERIFICATION)),
            verification=Count("pk", filter=Q(kind=TaskKind.VERIFICATION)),
        )
        .order_by()
    )
    for department_id, review, verification in escalated_tasks.values_list(
        "department_id", "review", "verification"
    ):
        line = _line(lines, department_id)
        line.escalated_tasks += review
        line.escalated_verifications += verification
    escalated_cases = (
        Case.objects.filter(
            case_scope, pk__in=_escalated_ids(CASE_ESCALATION_TEMPLATES, "deadline", since_start)
        )
        .values("department_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for department_id, n in escalated_cases.values_list("department_id", "n"):
        _line(lines, department_id).escalated_cases += n

    on_time = _decided_on_time(since, today)
    decided = (
        Case.objects.filter(case_scope, decided_at__gte=since_start)
        .values("department_id")
        .annotate(n=Count("pk"), on_time=Count("pk", filter=on_time))
        .order_by()
    )
    for department_id, n, in_time in decided.values_list("department_id", "n", "on_time"):
        line = _line(lines, department_id)
        line.decided += n
        line.decided_on_time += in_time

    # every department with figures, and (unless narrowed to one) every department overseen
    shown = Q(pk__in=sorted(lines))
    if filters.department is None and not filters.item:
        listed = scope.departments()
        if filters.division is not None:
            listed &= Q(division_id__in=scope.below(filters.division))
        shown |= listed
    elif filters.department is not None:
        shown |= Q(pk=filters.department)
    departments = list(
        Department.objects.filter(shown)
        .select_related("division")
        .order_by("division__code", "code")
    )
    result: list[DepartmentLine] = []
    totals = DepartmentLine(None)
    for department in departments:
        line = lines.get(department.pk) or DepartmentLine(None)
        line.department = department
        result.append(line)
        totals.absorb(line)

    overdue, more_overdue = _lists(cases, tasks, ["red"], "red", today, calendar)
    at_risk, more_at_risk = _lists(cases, tasks, ["yellow", _CHECK], "yellow", today, calendar)
    divisions = [d for d in scope.divisions if d.level != DivisionLevel.STREET]
    choices = list(
        Department.objects.filter(scope.departments())
        .select_related("division")
        .order_by("division__code", "code")
    )
    extra = {d.pk for d in departments} - {d.pk for d in choices}
    choices += [d for d in departments if d.pk in extra]
    return Overview(
        today=today,
        since=since,
        filters=filters,
        lines=result,
        totals=totals,
        overdue=overdue,
        at_risk=at_risk,
        more_overdue=more_overdue,
        more_at_risk=more_at_risk,
        divisions=divisions,
        departments=choices,
    )


def row_kind(row: QueueRow) -> str:
    """What a listed row is: ``case``, ``task`` (a review) or ``verification`` (a 核查 task)."""
    if row.task is not None and row.task.kind == TaskKind.VERIFICATION:
        return "verification"
    return row.kind


def chart_data(result: Overview) -> dict[str, Any]:
    """The bar chart's data: open work (cases, review and 核查 tasks) by light per department."""
    names = [
        (line.department.short_name or line.department.name) if line.department else ""
        for line in result.lines
    ]
    series = defaultdict(list)
    for line in result.lines:
        together = line.open_work
        for light in LIGHTS:
            series[light].append(getattr(together, light))
    return {
        "departments": names,
        "series": {light: series[light] for light in LIGHTS},
        "labels": {light: str(LIGHT_LABELS[light]) for light in LIGHTS},
    }


def filters_from_codes(
    *, division: str | None = None, department: str | None = None, item: str = ""
) -> OverviewFilters:
    """Filters given by GB/T 2260 division code and department code (the API's way); an
    unknown code is a 422 naming the parameter."""
    division_id = department_id = None
    if division:
        division_id = Division.objects.filter(code=division).values_list("pk", flat=True).first()
        if division_id is None:
            message = f"没有代码为 {division} 的行政区划"
            raise ValidationFailed(
                message, code="division_not_found", errors=[FieldError("division", message)]
            )
    if department:
        department_id = (
            Department.objects.filter(code=department).values_list("pk", flat=True).first()
        )
        if department_id is None:
            message = f"没有编码为 {department} 的部门"
            raise ValidationFailed(
                message, code="department_not_found", errors=[FieldError("department", message)]
            )
    return OverviewFilters(division=division_id, department=department_id, item=item.strip())
