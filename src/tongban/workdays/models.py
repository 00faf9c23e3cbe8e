"""Working-day calendar models: which years are known, their exception days, local overrides.

A year is *known* only when its ``CalendarYear`` row exists; deadline arithmetic refuses any date
in a year without one. Within a known year a day is a working day when it is Monday–Friday, unless
a ``CalendarDay`` says otherwise: ``holiday`` (放假, with the festival name; weekend days inside a
break are stored too so the whole break carries its name) or ``makeup_workday`` (调休上班, a
Saturday or Sunday worked in exchange). ``DivisionCalendarDay`` lets one division (and everything
under it) differ from the national schedule, e.g. a local 民族节日. Every row carries
``updated_at``: the in-memory calendar cache is keyed on these, so writes must touch it.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongban.identity.models import Division

SATURDAY = 5
MIN_YEAR = 2000
MAX_YEAR = 2199


class CalendarSource(models.TextChoices):
    CHINESE_CALENDAR = "chinese_calendar", _("chinese-calendar 数据包")
    ADMINISTRATOR = "administrator", _("管理员录入")


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("放假")
    MAKEUP_WORKDAY = "makeup_workday", _("调休上班")


class CalendarYear(models.Model):
    """One year of the State Council holiday schedule (国务院办公厅关于部分节假日安排的通知)."""

    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    source = models.CharField(
        _("来源"),
        max_length=32,
        choices=CalendarSource.choices,
        default=CalendarSource.ADMINISTRATOR,
    )
    notice = models.CharField(
        _("通知文号"), max_length=128, blank=True, help_text=_("例如 国办发明电〔2025〕7号")
    )
    entered_by = models.CharField(_("录入人"), max_length=150, blank=True)
    entered_at = models.DateTimeField(_("录入时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering: ClassVar = ["-year"]
        verbose_name = _("日历年度")
        verbose_name_plural = _("日历年度")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(year__gte=MIN_YEAR, year__lte=MAX_YEAR),
                name="workdays_calendar_year_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.year} 年"


def check_day(year: int, day: dt.date, kind: str) -> str | None:
    """Why ``day`` of ``kind`` cannot belong to ``year`` (a message), or ``None`` if it can."""
    if day.year != year:
        return f"{day.isoformat()} 不在 {year} 年内"
    if kind == DayKind.MAKEUP_WORKDAY and day.weekday() < SATURDAY:
        return f"{day.isoformat()} 是工作日（周{'一二三四五'[day.weekday()]}），调休上班日必须是周六或周日"
    return None


class CalendarDay(models.Model):
    """A day that differs from the Monday–Friday rule, or a weekend day inside a named break."""

    year = models.ForeignKey(
        CalendarYear, on_delete=models.CASCADE, related_name="days", verbose_name=_("年度")
    )
    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类别"), max_length=16, choices=DayKind.choices)
    name = models.CharField(_("节日名称"), max_length=64, help_text=_("例如 春节、国庆节"))
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering: ClassVar = ["date"]
        verbose_name = _("节假日安排")
        verbose_name_plural = _("节假日安排")

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.name}（{self.get_kind_display()}）"

    def clean(self) -> None:
        try:
            year = self.year
        except ObjectDoesNotExist:
            return
        if self.date is None or not self.kind or year.year is None:
            return
        problem = check_day(year.year, self.date, self.kind)
        if problem:
            raise ValidationError({"date": problem})


class DivisionCalendarDay(models.Model):
    """A local exception: in ``division`` and the divisions under it, ``date`` is (not) worked."""

    division = models.ForeignKey(
        Division,
        on_delete=models.CASCADE,
        related_name="calendar_days",
        verbose_name=_("行政区划"),
    )
    date = models.DateField(_("日期"))
    is_workday = models.BooleanField(_("是否上班"), default=False)
    reason = models.CharField(_("原因"), max_length=128, help_text=_("例如 本地民族节日放假"))
    entered_by = models.CharField(_("录入人"), max_length=150, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering: ClassVar = ["division__code", "date"]
        verbose_name = _("地方日历调整")
        verbose_name_plural = _("地方日历调整")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["division", "date"], name="workdays_division_day_unique"
            )
        ]

    def __str__(self) -> str:
        state = "上班" if self.is_workday else "放假"
        return f"{self.date.isoformat()} {state}（{self.reason}）"
