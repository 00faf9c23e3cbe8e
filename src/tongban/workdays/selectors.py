"""Working-day reads: is a day worked, statutory deadlines, days between, the calendar horizon.

Every function works on a ``WorkingCalendar`` snapshot kept in process memory and rebuilt when the
calendar changed. Whether it changed is asked with one small query (row count and latest
``updated_at`` of the three calendar tables), so an edit in the admin, an import, another worker
process or a rolled-back test transaction is always noticed; nothing has to remember to clear
the cache. Callers with many dates (a case list) take ``working_calendar()`` once and use the
snapshot's methods. Conventions (day after the act, N=0, ``(start, end]``) are in
``workdays.arithmetic``; an unknown year raises ``CalendarUnknown``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from tongban.core.errors import FieldError, NotFound
from tongban.identity import selectors as identity_selectors
from tongban.identity.models import Division
from tongban.workdays.arithmetic import CalendarHorizon, WorkingCalendar
from tongban.workdays.models import CalendarDay, CalendarYear, DayKind, DivisionCalendarDay

DivisionArg = Division | str | None
"""A division, its GB/T 2260 code, or ``None`` for the national calendar."""

_lock = threading.Lock()
_cached: tuple[tuple[Any, ...], WorkingCalendar] | None = None


def _revision() -> tuple[Any, ...]:
    """A cheap fingerprint of the calendar tables (one query)."""
    parts = []
    for model in (CalendarYear, CalendarDay, DivisionCalendarDay):
        table = connection.ops.quote_name(model._meta.db_table)
        column = connection.ops.quote_name("updated_at")
        parts.append(f"(SELECT COUNT(*) FROM {table})")  # noqa: S608 - table names from models
        parts.append(f"(SELECT MAX({column}) FROM {table})")  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts))
        row = cursor.fetchone()
    return (connection.alias, *(str(v) for v in row))


def _load() -> WorkingCalendar:
    years = frozenset(CalendarYear.objects.values_list("year", flat=True))
    days = {
        date: (kind, name)
        for date, kind, name in CalendarDay.objects.values_list("date", "kind", "name")
    }
    overrides: dict[int, dict[dt.date, bool]] = defaultdict(dict)
    for division_id, date, is_workday in DivisionCalendarDay.objects.values_list(
        "division_id", "date", "is_workday"
    ):
        overrides[division_id][date] = is_workday
    return WorkingCalendar(years, days, dict(overrides))


# Inside ``one_calendar()`` the first snapshot taken is kept for the rest of the block.
_scoped: ContextVar[list[WorkingCalendar] | None] = ContextVar("workdays_scope", default=None)


@contextmanager
def one_calendar() -> Iterator[None]:
    """Use one calendar snapshot for the whole block (one fingerprint query at most).

    A service computing several deadlines in one transaction wraps itself in this: its dates
    then come from the same calendar, and the tables are asked only once whether they changed.
    """
    if _scoped.get() is not None:  # nested: the outer block's snapshot holds
        yield
        return
    token = _scoped.set([])
    try:
        yield
    finally:
        _scoped.reset(token)


def working_calendar() -> WorkingCalendar:
    """The current calendar snapshot (rebuilt only when the tables changed)."""
    scope = _scoped.get()
    if scope:
        return scope[0]
    snapshot = _current()
    if scope is not None:
        scope.append(snapshot)
    return snapshot


def _current() -> WorkingCalendar:
    global _cached
    key = _revision()  # before loading: a write in between only causes one more rebuild
    cached = _cached
    if cached is not None and cached[0] == key:
        return cached[1]
    snapshot = _load()
    with _lock:
        _cached = (key, snapshot)
    return snapshot


def forget_calendar() -> None:
    """Drop the cached snapshot (tests and benchmarks; correctness never needs it)."""
    global _cached
    with _lock:
        _cached = None


# --- divisions -----------------------------------------------------------------------------------


def division_chain(division: DivisionArg) -> tuple[int, ...]:
    """Ids of ``division`` and its ancestors, nearest first; raises ``NotFound`` for an unknown
    code."""
    if division is None:
        return ()
    if isinstance(division, str):
        try:
            division = Division.objects.select_related("parent__parent__parent").get(code=division)
        except Division.DoesNotExist:
            message = f"没有代码为 {division} 的行政区划"
            raise NotFound(
                message, code="division_not_found", errors=[FieldError("division", message)]
            ) from None
    return tuple(identity_selectors.division_chain(division))


def _as_date(value: dt.date) -> dt.date:
    """A ``datetime`` counts as the local calendar day it happened on."""
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            return timezone.localtime(value).date()
        return value.date()
    return value


# --- arithmetic ----------------------------------------------------------------------------------


def is_workday(date: dt.date, division: DivisionArg = None) -> bool:
    """Whether ``date`` is a working day (in ``division``); raises ``CalendarUnknown``."""
    return working_calendar().is_workday(_as_date(date), division_chain(division))


def add_workdays(start: dt.date, days: int, division: DivisionArg = None) -> dt.date:
    """The ``days``-th working day after ``start`` (the period starts the next day);
    ``days == 0`` gives ``start`` if worked, else the next working day."""
    return working_calendar().add_workdays(_as_date(start), days, division_chain(division))


def workdays_between(start: dt.date, end: dt.date, division: DivisionArg = None) -> int:
    """Working days in ``(start, end]``: ``start`` not counted, ``end`` counted."""
    return working_calendar().workdays_between(
        _as_date(start), _as_date(end), division_chain(division)
    )


def deadline_for(
    acted_at: dt.date | dt.datetime, limit_days: int, division: DivisionArg = None
) -> dt.date:
    """The statutory deadline of an act (受理, 补正告知 …) done at ``acted_at`` with a limit of
    ``limit_days`` working days: the local day of the act, then ``add_workdays``."""
    return add_workdays(_as_date(acted_at), limit_days, division)


def extend_deadline(
    deadline: dt.date, paused_workdays: int, division: DivisionArg = None
) -> dt.date:
    """The deadline after the clock stood still (中止, 补正, 专家评审 …) for ``paused_workdays``
    working days: that many working days later."""
    return add_workdays(_as_date(deadline), paused_workdays, division)


def calendar_horizon(today: dt.date | None = None) -> CalendarHorizon:
    """How far the known calendar reaches; ``warn`` when fewer than 60 days remain."""
    return working_calendar().horizon(_as_date(today) if today else timezone.localdate())


# --- the years themselves -----------------------------------------------------------------------


@dataclass(frozen=True)
class YearSummary:
    year: int
    source: str
    notice: str
    entered_by: str
    entered_at: dt.datetime
    holiday_count: int
    makeup_count: int


def list_years() -> list[YearSummary]:
    """Known years, newest first, with their numbers of holidays and make-up workdays."""
    rows = (
        CalendarYear.objects.annotate(
            holidays=Count("days", filter=Q(days__kind=DayKind.HOLIDAY)),
            makeups=Count("days", filter=Q(days__kind=DayKind.MAKEUP_WORKDAY)),
        )
        .order_by("-year")
        .values_list("year", "source", "notice", "entered_by", "entered_at", "holidays", "makeups")
    )
    return [YearSummary(*row) for row in rows]


def get_year(year: int) -> CalendarYear:
    """One known year with its days prefetched; ``NotFound`` if it is not known."""
    try:
        return CalendarYear.objects.prefetch_related("days").get(year=year)
    except CalendarYear.DoesNotExist:
        message = f"{year} 年的工作日历尚未录入"
        raise NotFound(
            message, code="calendar_year_not_found", errors=[FieldError("year", message)]
        ) from None
