"""Working-day calendar writes: load the package's years, enter a new year, local overrides.

``do_sync_chinese_calendar`` stores every year of the pinned ``chinese-calendar`` package in one
transaction and is idempotent: a year already stored with the same days is left alone, a package
year whose days changed (after an upgrade) is rewritten, and a year an administrator entered or
corrected is never overwritten. ``check_import_year_file`` reads and checks an administrator's
YAML/CSV year file (every problem with file and line) and stores it atomically;
``do_save_year`` is the trusted part. ``do_set_division_day``/``do_remove_division_day`` keep
local overrides. Each write bumps ``updated_at`` of what it touches, which is how the cached
calendar in ``workdays.selectors`` notices the change (also after a rollback).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from django.db import transaction
from django.utils import timezone

from tongban.identity.models import Division
from tongban.workdays.document import Problem, YearSchedule, parse_year_file
from tongban.workdays.errors import CalendarYearExists
from tongban.workdays.library import library_schedules, package_label
from tongban.workdays.models import CalendarDay, CalendarSource, CalendarYear, DivisionCalendarDay

logger = structlog.get_logger(__name__)


@dataclass
class SyncReport:
    """What ``do_sync_chinese_calendar`` did, year by year."""

    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    kept_administrator: list[int] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"新增 {len(self.created)} 年",
            f"更新 {len(self.updated)} 年",
            f"未变 {len(self.unchanged)} 年",
        ]
        if self.kept_administrator:
            kept = "、".join(str(y) for y in self.kept_administrator)
            parts.append(f"保留管理员录入的 {kept} 年")
        return "，".join(parts)


def _day_rows(schedule: YearSchedule, year: CalendarYear) -> list[CalendarDay]:
    return [CalendarDay(year=year, date=d.date, kind=d.kind, name=d.name) for d in schedule.days]


def _replace_days(year: CalendarYear, schedule: YearSchedule) -> None:
    CalendarDay.objects.filter(year=year).delete()
    CalendarDay.objects.bulk_create(_day_rows(schedule, year))


@transaction.atomic
def do_sync_chinese_calendar() -> SyncReport:
    """Store every year the ``chinese-calendar`` package knows (idempotent, one transaction)."""
    report = SyncReport()
    label = package_label()
    schedules = library_schedules()
    existing = {
        y.year: y
        for y in CalendarYear.objects.select_for_update().filter(
            year__in=[s.year for s in schedules]
        )
    }
    stored: dict[int, set[tuple[dt.date, str, str]]] = {}
    for date, kind, name, year in CalendarDay.objects.filter(
        year__in=list(existing.values())
    ).values_list("date", "kind", "name", "year__year"):
        stored.setdefault(year, set()).add((date, kind, name))
    for schedule in schedules:
        row = existing.get(schedule.year)
        wanted = {(d.date, d.kind, d.name) for d in schedule.days}
        if row is None:
            row = CalendarYear.objects.create(
                year=schedule.year, source=CalendarSource.CHINESE_CALENDAR, entered_by=label
            )
            CalendarDay.objects.bulk_create(_day_rows(schedule, row))
            report.created.append(schedule.year)
        elif row.source != CalendarSource.CHINESE_CALENDAR:
            report.kept_administrator.append(schedule.year)
        elif stored.get(schedule.year, set()) == wanted:
            report.unchanged.append(schedule.year)
        else:
            _replace_days(row, schedule)
            row.entered_by = label
            row.entered_at = timezone.now()
            row.save(update_fields=["entered_by", "entered_at", "updated_at"])
            report.updated.append(schedule.year)
    if report.created or report.updated:
        logger.info("workdays synced from chinese-calendar", summary=report.summary())
    return report


@transaction.atomic
def do_save_year(
    schedule: YearSchedule,
    *,
    entered_by: str,
    source: str = CalendarSource.ADMINISTRATOR,
    replace: bool = False,
) -> CalendarYear:
    """Store ``schedule`` as a known year. An existing year is rewritten only with ``replace``
    (else ``CalendarYearExists``); its days are replaced as a whole."""
    row = CalendarYear.objects.select_for_update().filter(year=schedule.year).first()
    if row is not None and not replace:
        raise CalendarYearExists(schedule.year)
    if row is None:
        row = CalendarYear.objects.create(
            year=schedule.year, source=source, notice=schedule.notice, entered_by=entered_by
        )
        CalendarDay.objects.bulk_create(_day_rows(schedule, row))
    else:
        row.source = source
        row.notice = schedule.notice
        row.entered_by = entered_by
        row.entered_at = timezone.now()
        row.save(update_fields=["source", "notice", "entered_by", "entered_at", "updated_at"])
        _replace_days(row, schedule)
    logger.info(
        "workdays year saved",
        year=schedule.year,
        notice=schedule.notice,
        days=len(schedule.days),
        entered_by=entered_by,
        replaced=replace,
    )
    return row


@dataclass
class YearImport:
    """A stored year and the warnings its file raised."""

    year: CalendarYear
    schedule: YearSchedule

    @property
    def warnings(self) -> list[Problem]:
        return self.schedule.warnings


def check_import_year_file(
    path: Path,
    *,
    entered_by: str,
    replace: bool = False,
    year: int | None = None,
    notice: str | None = None,
    display_name: str | None = None,
) -> YearImport:
    """Read ``path`` (YAML, or CSV with ``notice``/``year`` given), check every rule and store
    the year atomically. Raises ``CalendarFileInvalid`` (nothing stored) or
    ``CalendarYearExists``."""
    schedule = parse_year_file(path, year=year, notice=notice, display_name=display_name)
    row = do_save_year(schedule, entered_by=entered_by, replace=replace)
    return YearImport(row, schedule)


def do_mark_year_edited(year: CalendarYear, *, entered_by: str) -> None:
    """An administrator changed ``year`` by hand: it is theirs now (a later package sync keeps
    it), and the change is attributed to them."""
    year.source = CalendarSource.ADMINISTRATOR
    year.entered_by = entered_by
    year.entered_at = timezone.now()
    year.save(update_fields=["source", "entered_by", "entered_at", "updated_at"])


@transaction.atomic
def do_set_division_day(
    division: Division, date: dt.date, *, is_workday: bool, reason: str, entered_by: str
) -> DivisionCalendarDay:
    """Make ``date`` a working day (or a day off) in ``division`` and the divisions under it."""
    row, created = DivisionCalendarDay.objects.select_for_update().get_or_create(
        division=division,
        date=date,
        defaults={"is_workday": is_workday, "reason": reason, "entered_by": entered_by},
    )
    if not created:
        row.is_workday = is_workday
        row.reason = reason
        row.entered_by = entered_by
        row.save(update_fields=["is_workday", "reason", "entered_by", "updated_at"])
    return row


def do_remove_division_day(division: Division, date: dt.date) -> bool:
    """Drop a local override; the national schedule applies again. True if one existed."""
    deleted, _ = DivisionCalendarDay.objects.filter(division=division, date=date).delete()
    return deleted > 0


@transaction.atomic
def do_enter_weekday_years(until_year: int, *, notice: str, entered_by: str) -> list[int]:
    """Enter every year after the last known one up to ``until_year`` as a plain calendar —
    Monday to Friday worked, no holidays, no 调休 — and return the years entered.

    Only for sample and throw-away data (``make demo``, benchmarks), where a case accepted
    today must get a deadline after the shipped years end; ``notice`` says so in the admin and
    the log. A real deployment enters the State Council's schedule (``check_import_year_file``),
    which replaces such a year with ``--replace``."""
    known = set(CalendarYear.objects.select_for_update().values_list("year", flat=True))
    if not known:
        return []
    missing = [y for y in range(max(known) + 1, until_year + 1) if y not in known]
    CalendarYear.objects.bulk_create(
        CalendarYear(
            year=y, source=CalendarSource.ADMINISTRATOR, notice=notice, entered_by=entered_by
        )
        for y in missing
    )
    return missing
