"""Work queues (工作台待办) per staff role, each row with a traffic light (红黄牌).

* ``intake`` — 综合窗口: cases waiting for 预审 (``submitted``) filed in a division where the user
  holds the window role, or below it. Their deadline is the 行政许可法 第三十二条 intake period:
  ``INTAKE_LIMIT_WORKDAYS`` working days after the materials arrived (submission, or the
  answer to the latest 补正告知).
* ``delivery`` — 综合窗口: decided cases to deliver (送达) and delivered ones to close (办结),
  of the same divisions. Their deadline is the 行政许可法 第四十四条 period:
  ``DELIVERY_LIMIT_WORKDAYS`` working days after the decision.
* ``review`` — 审查人员: open review tasks of the user's departments.
* ``decision`` — 部门负责人: cases ``awaiting_decision`` of the user's departments.
* ``verification`` — 审查人员 and 部门负责人: open 告知承诺 核查 tasks of the user's departments
  (cases approved on a commitment, due by their verification date).
* ``risk_cases`` / ``risk_tasks`` — overdue and at-risk work: for a department head, the cases
  and tasks of their departments; for a supervisor (督办), those of every department in their
  division and below, filterable by department.

A light is red when the deadline is before today, yellow when the working days left
(``workdays_between(today, due)``, counting ``(today, due]``) are at most
``TONGBAN_YELLOW_WORKDAYS`` (default 2) or at most 20 % of the row's limit, green otherwise;
``paused`` while the case's clock is stopped (中止) and ``unknown`` when the deadline falls in a
year whose calendar nobody has entered yet. A deadline already passed is red even when today is
in such a year; only its working days overdue are then not counted (``None``). Lists page by keyset on ``(due date, id)`` (the
intake queue on ``(received_at, id)``, when the materials arrived, and the delivery queue on
``(decided_at, id)``, which order the same way because their deadlines only grow with that
time) and never count rows. A light filter is applied in SQL with the boundary dates of the national calendar, so a page costs a fixed number of queries; only when
some division has its own calendar days are rows checked again in Python, scanning at most
``MAX_CHUNKS`` chunks per page (a page may then come back short, with a cursor to go on).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings
from django.db.models import F, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongban.cases.models import Case, CaseState, CaseTask, TaskKind, TaskState
from tongban.core.errors import FieldError, ValidationFailed
from tongban.identity.models import Department, Division, Role
from tongban.identity.selectors import staff_role_grants
from tongban.workdays.arithmetic import WorkingCalendar
from tongban.workdays.errors import CalendarUnknown
from tongban.workdays.selectors import add_workdays, workdays_between, working_calendar

INTAKE_LIMIT_WORKDAYS = 5  # 行政许可法 第三十二条：五日内一次告知补正，逾期即为受理
DELIVERY_LIMIT_WORKDAYS = 10  # 行政许可法 第四十四条：自作出决定之日起十日内颁发、送达


@dataclass(frozen=True)
class ActPeriod:
    """A period timed from an act of the case instead of a stored due date: 预审 from when the
    materials arrived (行政许可法 第三十二条), 送达 from the decision (第四十四条). The queue of
    the same name pages on ``act``; the 红黄牌 sweep watches the cases ``waiting`` in it."""

    waiting: str  # the state a case is in while the period runs
    act: str  # the case's time field the period runs from
    limit_days: int

    def due(self, case: Case) -> dt.date | None:
        """The period's deadline for ``case`` (None without the act, or past the calendar)."""
        return _act_due(getattr(case, self.act), self.limit_days, case.division)


# queues (and sweeps) timed from an act
ACT_PERIODS: dict[str, ActPeriod] = {
    "intake": ActPeriod(CaseState.SUBMITTED, "received_at", INTAKE_LIMIT_WORKDAYS),
    "delivery": ActPeriod(CaseState.DECIDED, "decided_at", DELIVERY_LIMIT_WORKDAYS),
}
YELLOW_SHARE_PERCENT = 20
PAGE_SIZE = 20
MAX_CHUNKS = 5
_DIVISION_DEPTH = 4  # province → city → district → street
_CHAIN = "division__parent__parent__parent"

Light = Literal["red", "yellow", "green", "paused", "unknown"]
LIGHT_LABELS: dict[str, Any] = {
    "red": _("已超期"),
    "yellow": _("临近到期"),
    "green": _("正常"),
    "paused": _("中止计时"),
    "unknown": _("日历未录入"),
}
RISK = ("red", "yellow")


def yellow_workdays() -> int:
    """``TONGBAN_YELLOW_WORKDAYS`` (settings; 2 by default)."""
    return max(0, int(settings.TONGBAN_YELLOW_WORKDAYS))


def yellow_threshold(limit_days: int, yellow: int | None = None) -> int:
    """The most working days left at which a row of ``limit_days`` is yellow."""
    base = yellow_workdays() if yellow is None else yellow
    return max(base, limit_days * YELLOW_SHARE_PERCENT // 100)


@dataclass(frozen=True)
class Signal:
    """A deadline seen from today: its light, working days left, working days overdue."""

    light: Light
    due_date: dt.date | None
    limit_days: int
    workdays_left: int | None = None
    overdue_workdays: int | None = None

    @property
    def label(self) -> str:
        return str(LIGHT_LABELS[self.light])


def classify(
    due: dt.date | None,
    limit_days: int,
    today: dt.date,
    left_of: Callable[[dt.date, dt.date], int],
    *,
    paused: bool = False,
) -> Signal:
    """The light of a deadline; ``left_of(start, end)`` counts working days in ``(start, end]``."""
    if paused:
        return Signal("paused", due, limit_days)
    if due is None:
        return Signal("unknown", due, limit_days)
    if due < today:  # overdue whatever the calendar says; counting the days past may not be
        try:
            overdue: int | None = left_of(due, today)
        except CalendarUnknown:  # today is in a year nobody has entered: not counted, not guessed
            overdue = None
        return Signal("red", due, limit_days, overdue_workdays=overdue)
    try:
        left = left_of(today, due)
    except CalendarUnknown:
        return Signal("unknown", due, limit_days)
    light: Light = "yellow" if left <= yellow_threshold(limit_days) else "green"
    return Signal(light, due, limit_days, workdays_left=left)


def signal_for(
    due: dt.date | None,
    limit_days: int,
    division: Division | None,
    *,
    paused: bool = False,
    today: dt.date | None = None,
    calendar: WorkingCalendar | None = None,
) -> Signal:
    """The light of one deadline, with ``workdays.selectors.workdays_between`` (or with the
    snapshot ``calendar`` when several deadlines are shown together)."""
    day = today or timezone.localdate()
    if calendar is None:
        return classify(
            due, limit_days, day, lambda a, b: workdays_between(a, b, division), paused=paused
        )
    chain = _chain(division)
    return classify(
        due, limit_days, day, lambda a, b: calendar.workdays_between(a, b, chain), paused=paused
    )


@dataclass(frozen=True)
class CaseSignals:
    """The lights of one case page: the case's own deadline and each open task's."""

    case: Signal | None
    tasks: dict[int, Signal]


def decision_signal(
    case: Case,
    *,
    paused: bool = False,
    today: dt.date | None = None,
    calendar: WorkingCalendar | None = None,
) -> Signal:
    """The light of an accepted case's own due date (the decision), over its promised limit
    and any extension."""
    return signal_for(
        case.due_date,
        case.promised_limit_days + case.extended_days,
        case.division,
        paused=paused,
        today=today,
        calendar=calendar,
    )


def case_signals(
    case: Case,
    tasks: Sequence[CaseTask],
    *,
    stopped: bool,
    today: dt.date | None = None,
) -> CaseSignals:
    """A submitted case is timed by its intake period (from ``received_at``, when the latest
    materials arrived); an accepted one by its due date until the decision; open tasks by
    theirs. One calendar snapshot for the whole page."""
    calendar = working_calendar()
    signal: Signal | None = None
    period = (
        ACT_PERIODS["intake"]
        if case.state == CaseState.SUBMITTED
        else ACT_PERIODS["delivery"]
        if case.state in (CaseState.DECIDED, CaseState.DELIVERED)
        else None
    )
    if period is not None:
        signal = signal_for(
            period.due(case), period.limit_days, case.division, today=today, calendar=calendar
        )
    elif case.state in (CaseState.IN_REVIEW, CaseState.AWAITING_DECISION):
        signal = decision_signal(case, paused=stopped, today=today, calendar=calendar)
    task_signals = {
        task.pk: signal_for(
            task.due_date,
            task.limit_days,
            case.division,
            paused=stopped,
            today=today,
            calendar=calendar,
        )
        for task in tasks
        if task.state == TaskState.OPEN
    }
    return CaseSignals(signal, task_signals)


def _act_due(at: dt.datetime | None, days: int, division: Division | None) -> dt.date | None:
    """The deadline ``days`` working days after the day of the act at ``at`` (None without an
    act, or past the known calendar)."""
    if at is None:
        return None
    try:
        return add_workdays(_day_of(at), days, division)
    except CalendarUnknown:
        return None


def _day_of(at: dt.datetime) -> dt.date:
    return timezone.localdate(at) if timezone.is_aware(at) else at.date()


# --- rows and pages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    """One line of a queue: a case, or a task (review or 核查) of a case."""

    case: Case
    task: CaseTask | None
    signal: Signal
    key: str  # the keyset position of this row, as it goes into a cursor

    @property
    def kind(self) -> str:
        return "task" if self.task is not None else "case"

    @property
    def due_date(self) -> dt.date | None:
        return self.signal.due_date

    @property
    def light(self) -> Light:
        return self.signal.light


@dataclass(frozen=True)
class QueuePage:
    queue: str
    rows: list[QueueRow]
    next_cursor: str | None
    partial: bool = False  # the scan limit was reached before the page filled

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


@dataclass(frozen=True)
class QueueFilters:
    item: str = ""
    light: str = ""
    state: str = ""
    department: int | None = None


@dataclass(frozen=True)
class QueueSpec:
    name: str
    label: Any
    roles: tuple[str, ...]
    kind: Literal["case", "task"]
    states: tuple[str, ...]
    lights: tuple[str, ...]  # the light filters offered; "" (all) comes first when offered
    default_lights: tuple[str, ...] = ()  # shown when no light is chosen (empty: all)
    task_kind: str = TaskKind.REVIEW  # the tasks a task queue lists


QUEUES: dict[str, QueueSpec] = {
    spec.name: spec
    for spec in (
        QueueSpec(
            "intake",
            _("待预审"),
            (Role.WINDOW,),
            "case",
            (CaseState.SUBMITTED,),
            ("", "red", "yellow", "green", "unknown"),
        ),
        QueueSpec(
            "review",
            _("待审查"),
            (Role.REVIEWER,),
            "task",
            (CaseState.IN_REVIEW,),
            ("", "red", "yellow", "green", "paused"),
        ),
        QueueSpec(
            "decision",
            _("待决定"),
            (Role.DEPARTMENT_HEAD,),
            "case",
            (CaseState.AWAITING_DECISION,),
            ("", "red", "yellow", "green", "paused"),
        ),
        QueueSpec(
            "delivery",
            _("待送达与办结"),
            (Role.WINDOW,),
            "case",
            (CaseState.DECIDED, CaseState.DELIVERED),
            ("",),
        ),
        QueueSpec(
            "verification",
            _("待核查"),
            (Role.REVIEWER, Role.DEPARTMENT_HEAD),
            "task",
            (CaseState.DECIDED, CaseState.DELIVERED, CaseState.CLOSED),
            ("", "red", "yellow", "green"),
            task_kind=TaskKind.VERIFICATION,
        ),
        QueueSpec(
            "risk_cases",
            _("超期与临期办件"),
            (Role.DEPARTMENT_HEAD, Role.SUPERVISOR),
            "case",
            (CaseState.IN_REVIEW, CaseState.AWAITING_DECISION),
            ("", "red", "yellow"),
            RISK,
        ),
        QueueSpec(
            "risk_tasks",
            _("超期与临期审查任务"),
            (Role.DEPARTMENT_HEAD, Role.SUPERVISOR),
            "task",
            (CaseState.IN_REVIEW,),
            ("", "red", "yellow"),
            RISK,
        ),
    )
}


def queues_for(actor: Any) -> list[QueueSpec]:
    """The queues a staff account has, in the order the workbench shows them."""
    held = {role for role, _department in staff_role_grants(actor)}
    return [spec for spec in QUEUES.values() if held & set(spec.roles)]


# --- scope ------------------------------------------------------------------------------------


def _departments(actor: Any, role: str) -> set[int]:
    return {department for held, department in staff_role_grants(actor) if held == role}


def _under(prefix: str, department_ids: set[int]) -> Q:
    """Rows whose division (``prefix``) is the division of one of ``department_ids`` or below
    it — one ``IN`` over a subquery of those divisions, so the scope costs no query of its own
    and the rows' table is not joined to the division chain to be filtered."""
    divisions = Department.objects.filter(pk__in=sorted(department_ids)).values("division_id")
    below = Q(pk__in=divisions)
    path = "parent"
    for _level in range(_DIVISION_DEPTH - 1):
        below |= Q(**{f"{path}_id__in": divisions})
        path = f"{path}__parent"
    return Q(**{f"{prefix}_id__in": Division.objects.filter(below).values("pk")})


def _scope(actor: Any, spec: QueueSpec, case_path: str) -> Q | None:
    """Which rows of queue ``spec`` the actor may see (``case_path`` leads from a row to its
    case: "" for cases, "case__" for tasks); None when the actor has no role for it."""
    if spec.name in ("intake", "delivery"):
        windows = _departments(actor, Role.WINDOW)
        return _under(f"{case_path}division", windows) if windows else None
    if spec.name == "review":
        reviewers = _departments(actor, Role.REVIEWER)
        return Q(department_id__in=sorted(reviewers)) if reviewers else None
    heads = _departments(actor, Role.DEPARTMENT_HEAD)
    if spec.name == "decision":
        return Q(department_id__in=sorted(heads)) if heads else None
    if spec.name == "verification":
        verifiers = heads | _departments(actor, Role.REVIEWER)
        return Q(department_id__in=sorted(verifiers)) if verifiers else None
    parts: list[Q] = []
    if heads:
        parts.append(Q(department_id__in=sorted(heads)))
    supervisors = _departments(actor, Role.SUPERVISOR)
    if supervisors:
        parts.append(_under(f"{case_path}division", supervisors))
    if not parts:
        return None
    return _any(parts)


def supervised_departments(actor: Any) -> list[Department]:
    """Departments whose work a supervisor or head may filter the risk queues by."""
    heads = _departments(actor, Role.DEPARTMENT_HEAD)
    supervisors = _departments(actor, Role.SUPERVISOR)
    query = Q(pk__in=sorted(heads))
    if supervisors:
        query |= _under("division", supervisors)
    return list(Department.objects.filter(query).select_related("division").order_by("code"))


# --- cursors ----------------------------------------------------------------------------------


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        str(_("翻页位置无效，请从第一页重新开始")),
        code="invalid_cursor",
        errors=[FieldError("cursor", str(_("不是本队列给出的翻页位置")))],
    )


def decode_cursor(cursor: str | None) -> str | None:
    """The row key inside a cursor; None for no cursor. A cursor that does not decode (edited
    by hand, cut short) is a 422 at ``cursor`` — never silently the first page again."""
    if not cursor:
        return None
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid_cursor() from None


def _after(sort_field: str, key: str | None, from_act: bool) -> Q:
    """Rows after the row whose key is ``key`` in ``(sort_field, id)`` order; a key that does
    not parse as this queue's (a cursor of another queue, or made up) is a 422."""
    if key is None:
        return Q()
    value, _sep, pk = key.rpartition("|")
    try:
        parsed: Any = dt.datetime.fromisoformat(value) if from_act else dt.date.fromisoformat(value)
        number = int(pk)
    except ValueError:
        raise invalid_cursor() from None
    # ``(sort, id) > (value, pk)``; the redundant ``>=`` gives the index scan its start, so a
    # page deep in the queue costs what the first one does
    return Q(**{f"{sort_field}__gte": parsed}) & (
        Q(**{f"{sort_field}__gt": parsed}) | Q(**{sort_field: parsed, "pk__gt": number})
    )


def _any(parts: Sequence[Q]) -> Q:
    query = parts[0]
    for part in parts[1:]:
        query |= part
    return query


# --- light filters in SQL -------------------------------------------------------------------------


def _boundaries(calendar: WorkingCalendar, today: dt.date, upto: int) -> list[dt.date]:
    """``b[k]`` is the k-th working day after today (national calendar), k = 0 … upto."""
    days = [today]
    day = today
    try:
        for _k in range(upto):
            day = calendar.add_workdays(day, 1)
            days.append(day)
    except CalendarUnknown:
        pass
    return days


def _yellow_q(due: str, limit: str, today: dt.date, calendar: WorkingCalendar, max_limit: int) -> Q:
    """Rows with at most ``yellow_threshold(limit)`` working days left (and not overdue).

    ``left <= k`` holds exactly when ``due`` comes before the (k+1)-th working day after today,
    and the threshold only grows with the limit, so one term per threshold value is enough."""
    base = yellow_workdays()
    top = yellow_threshold(max_limit, base)
    bounds = _boundaries(calendar, today, top + 1)

    def before(k: int) -> Q:
        if k + 1 < len(bounds):
            return Q(**{f"{due}__lt": bounds[k + 1]})
        return Q(**{f"{due}__gte": today})  # the year after is unknown: every later day counts

    query = before(base)
    share = 100 // YELLOW_SHARE_PERCENT
    for k in range(base + 1, top + 1):
        query |= Q(**{f"{limit}__gte": k * share}) & before(k)
    return Q(**{f"{due}__gte": today}) & query


# --- the queues -------------------------------------------------------------------------------


def _stopped(case_ref: str) -> F:
    """Whether the case's clock is stopped (中止): a flag the case keeps."""
    return F("case__clock_stopped" if case_ref == "case_id" else "clock_stopped")


# what a queue row never shows of its case: the applicant's answers and form, the 秒办
# explanation — JSON documents that would be read and decoded for every row of a page (the
# intake queue reads them: its page works out what each case still misses)
_UNSHOWN = ("answers", "form_data", "instant_explanation")


def _base(spec: QueueSpec) -> QuerySet[Any]:
    if spec.kind == "task":
        return (
            CaseTask.objects.filter(
                state=TaskState.OPEN, kind=spec.task_kind, case__state__in=spec.states
            )
            .select_related(
                "department",
                "case__department",
                "case__applicant_person",
                "case__applicant_enterprise",
                f"case__{_CHAIN}",
            )
            .defer(*(f"case__{name}" for name in _UNSHOWN))
            .annotate(stopped=_stopped("case_id"), limit=F("limit_days"))
        )
    cases = Case.objects.filter(state__in=spec.states).select_related(
        "department", "applicant_person", "applicant_enterprise", _CHAIN
    )
    if spec.name == "intake":  # its page works out each case's missing materials (bulk 受理)
        cases = cases.select_related("item_version")
    else:
        cases = cases.defer(*_UNSHOWN)
    if spec.name in ACT_PERIODS:
        return cases
    return cases.annotate(
        stopped=_stopped("pk"), limit=F("promised_limit_days") + F("extended_days")
    )


def _case_of(obj: Any) -> Case:
    return obj.case if isinstance(obj, CaseTask) else obj


def _chain(division: Division | None) -> tuple[int, ...]:
    chain: list[int] = []
    node = division
    while node is not None and len(chain) < 8:
        chain.append(node.pk)
        node = node.parent
    return tuple(chain)


def queue_page(
    actor: Any,
    name: str,
    *,
    filters: QueueFilters | None = None,
    cursor: str | None = None,
    page_size: int = PAGE_SIZE,
    today: dt.date | None = None,
) -> QueuePage:
    """One page of queue ``name`` as ``actor`` sees it (empty when they have no role for it)."""
    spec = QUEUES[name]
    filters = filters or QueueFilters()
    case_path = "case__" if spec.kind == "task" else ""
    scope = _scope(actor, spec, case_path)
    if scope is None:
        return QueuePage(name, [], None)
    today = today or timezone.localdate()
    rows = _base(spec).filter(scope)
    if filters.item:
        rows = rows.filter(
            Q(**{f"{case_path}item_code__startswith": filters.item})
            | Q(**{f"{case_path}item_name__contains": filters.item})
        )
    if filters.state and filters.state in spec.states:
        rows = rows.filter(**{f"{case_path}state": filters.state})
    if filters.department is not None:
        rows = rows.filter(department_id=filters.department)

    calendar = working_calendar()
    wanted: tuple[str, ...] = (filters.light,) if filters.light else spec.default_lights
    period = ACT_PERIODS.get(spec.name)  # timed from an act: the materials' arrival, the decision
    from_act = period is not None
    sort_field, act_limit = (period.act, period.limit_days) if period else ("due_date", 0)
    exact = True
    if not from_act:
        rows = rows.filter(due_date__isnull=False)
        if wanted:
            rows, exact = _light_filter(rows, wanted, today, calendar)
    else:
        rows = rows.filter(**{f"{sort_field}__isnull": False})
        exact = not wanted
    rows = rows.order_by(sort_field, "pk")

    def signal(obj: Any) -> Signal:
        case = _case_of(obj)
        chain = _chain(case.division)

        def left_of(a: dt.date, b: dt.date) -> int:
            return calendar.workdays_between(a, b, chain)

        if from_act:
            due = _act_due_in(calendar, getattr(obj, sort_field), chain, act_limit)
            return classify(due, act_limit, today, left_of)
        return classify(obj.due_date, obj.limit, today, left_of, paused=obj.stopped)

    def key(obj: Any) -> str:
        value = getattr(obj, sort_field).isoformat()
        return f"{value}|{obj.pk}"

    chunk = page_size + 1 if exact else max(3 * page_size, 60)
    found: list[QueueRow] = []
    last_scanned: str | None = decode_cursor(cursor)
    for _round in range(1 if exact else MAX_CHUNKS):
        # the page's keys from the narrow rows alone, then those rows with everything they
        # show. Sorting thousands of candidates already joined to applicants and divisions is
        # what made a page slow whenever the planner misjudged how many would match (open rows
        # cluster around today, which whole-table statistics do not show), and a key subquery
        # inside the wide query is planned badly past join_collapse_limit.
        after = _after(sort_field, last_scanned, from_act)
        keys = list(rows.filter(after).values_list("pk", flat=True)[:chunk])
        batch = list(_base(spec).filter(pk__in=keys).order_by(sort_field, "pk")) if keys else []
        for obj in batch:
            row_signal = signal(obj)
            last_scanned = key(obj)
            if wanted and row_signal.light not in wanted:
                continue
            found.append(
                QueueRow(
                    _case_of(obj),
                    obj if spec.kind == "task" else None,
                    row_signal,
                    last_scanned,
                )
            )
            if len(found) > page_size:
                page = found[:page_size]
                return QueuePage(name, page, encode_cursor(page[-1].key))
        if len(batch) < chunk:
            return QueuePage(name, found, None)
    # the scan limit was reached: go on from the last row looked at
    return QueuePage(
        name, found, encode_cursor(last_scanned) if last_scanned else None, partial=True
    )


def _act_due_in(
    calendar: WorkingCalendar, at: dt.datetime | None, chain: Sequence[int], days: int
) -> dt.date | None:
    """``_act_due`` with the page's calendar snapshot and the row's division chain."""
    if at is None:
        return None
    try:
        return calendar.add_workdays(_day_of(at), days, chain)
    except CalendarUnknown:
        return None


def _largest_limit(model: type[Any]) -> int:
    """The largest limit of any running row of ``model`` — an upper bound of the rows in view,
    which is all the yellow filter needs (a larger bound only adds terms nothing matches); read
    from a partial index in one step, where the rows in view would have to be scanned."""
    if model is CaseTask:
        top = CaseTask.objects.filter(state=TaskState.OPEN).aggregate(top=Max("limit_days"))
    else:
        running = Case.objects.filter(state__in=(CaseState.IN_REVIEW, CaseState.AWAITING_DECISION))
        top = running.aggregate(top=Max(F("promised_limit_days") + F("extended_days")))
    return int(top["top"] or 0)


def _light_filter(
    rows: QuerySet[Any], wanted: tuple[str, ...], today: dt.date, calendar: WorkingCalendar
) -> tuple[QuerySet[Any], bool]:
    """Narrow ``rows`` to the wanted lights in SQL; the bool says whether that is exact (no
    division has calendar days of its own), else rows are checked again one by one."""
    exact = not calendar.overrides
    parts: list[Q] = []
    if "paused" in wanted:
        parts.append(Q(stopped=True))
    running = [light for light in wanted if light != "paused"]
    if running:
        terms: list[Q] = []
        yellow = None
        if exact and ({"yellow", "green"} & set(running)):
            yellow = _yellow_q("due_date", "limit", today, calendar, _largest_limit(rows.model))
        for light in running:
            if light == "red":
                terms.append(Q(due_date__lt=today))
            elif light in ("yellow", "green"):
                if yellow is None:
                    terms.append(Q(due_date__gte=today))
                elif light == "yellow":
                    terms.append(yellow)
                else:
                    terms.append(Q(due_date__gte=today) & ~yellow)
            else:  # "unknown": a running deadline is always inside the known calendar
                exact = False
        if terms:
            parts.append(Q(stopped=False) & _any(terms))
    if not parts:
        return rows.none(), True
    return rows.filter(_any(parts)), exact


# --- access -----------------------------------------------------------------------------------


def check_queue_access(actor: Any, name: str) -> QueueSpec:
    """The queue ``name`` if ``actor`` may open it: staff holding one of its roles (the
    workbench's rule). Unknown queue → ``NotFound``; an applicant account, or staff without
    the role → ``PermissionDenied``."""
    from tongban.core.errors import NotFound, PermissionDenied
    from tongban.identity.permissions import is_staff_member

    spec = QUEUES.get(name)
    if spec is None:
        raise NotFound(f"没有名为 {name} 的待办队列", code="queue_not_found")
    if not is_staff_member(actor):
        raise PermissionDenied("只有工作人员可以查看待办队列", code="staff_only")
    if spec not in queues_for(actor):
        raise PermissionDenied(f"您没有{spec.label}队列的角色", code="queue_not_yours")
    return spec
