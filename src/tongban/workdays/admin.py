"""Django admin for the working-day calendar: years with their holiday/调休 days, and local
(per-division) overrides.

Only 系统管理员 open these pages (``identity.permissions.can_administer_system``, through
``RoleGatedAdmin``). Days are edited on their year's page, where each is checked against the year:
it must lie in that year, and a 调休上班 day on a Saturday or Sunday; the list of all days is
for searching. A year added or changed here becomes
administrator-maintained (``source = administrator``, attributed to the editor), so a later
``tongban workdays sync`` never overwrites a correction. Whole new years are usually entered with
``tongban workdays import FILE``, which checks the same rules.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from tongban.identity.admin import RoleGated, RoleGatedAdmin
from tongban.workdays import services
from tongban.workdays.models import (
    CalendarDay,
    CalendarSource,
    CalendarYear,
    DayKind,
    DivisionCalendarDay,
    check_day,
)

WEEKDAYS = "一二三四五六日"


def _weekday(day: dt.date) -> str:
    return f"周{WEEKDAYS[day.weekday()]}"


class CalendarDayFormSet(BaseInlineFormSet):
    """Checks each day against the year being edited (also while the year is being added)."""

    def clean(self) -> None:
        super().clean()
        year = getattr(self.instance, "year", None)
        if not year:
            return
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or not data.get("date") or not data.get("kind"):
                continue
            problem = check_day(year, data["date"], data["kind"])
            if problem:
                form.add_error("date", problem)


class CalendarDayInline(RoleGated, admin.TabularInline):
    model = CalendarDay
    formset = CalendarDayFormSet
    fields = ("date", "weekday", "kind", "name")
    readonly_fields = ("weekday",)
    extra = 0
    ordering = ("date",)

    @admin.display(description=_("星期"))
    def weekday(self, obj: CalendarDay) -> str:
        return _weekday(obj.date) if obj.date else "-"


@admin.register(CalendarYear)
class CalendarYearAdmin(RoleGatedAdmin):
    list_display = (
        "year", "source", "notice", "holiday_count", "makeup_count", "entered_by", "entered_at",
    )  # fmt: skip
    list_filter = ("source",)
    search_fields = ("year", "notice", "days__name")
    readonly_fields = ("source", "entered_by", "entered_at", "updated_at")
    fields = ("year", "notice", "source", "entered_by", "entered_at", "updated_at")
    inlines = (CalendarDayInline,)
    ordering = ("-year",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[CalendarYear]:
        queryset: QuerySet[CalendarYear] = super().get_queryset(request)
        return queryset.annotate(
            _holidays=Count("days", filter=Q(days__kind=DayKind.HOLIDAY)),
            _makeups=Count("days", filter=Q(days__kind=DayKind.MAKEUP_WORKDAY)),
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[CalendarYear], search_term: str
    ) -> tuple[QuerySet[CalendarYear], bool]:
        queryset, _duplicates = super().get_search_results(request, queryset, search_term)
        return queryset.distinct(), False

    @admin.display(description=_("放假天数"), ordering="_holidays")
    def holiday_count(self, obj: CalendarYear) -> int:
        return int(getattr(obj, "_holidays", 0))

    @admin.display(description=_("调休上班天数"), ordering="_makeups")
    def makeup_count(self, obj: CalendarYear) -> int:
        return int(getattr(obj, "_makeups", 0))

    def save_model(self, request: HttpRequest, obj: CalendarYear, form: Any, change: bool) -> None:
        if not change:
            obj.source = CalendarSource.ADMINISTRATOR
            obj.entered_by = request.user.get_username()
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if change and (form.has_changed() or any(fs.has_changed() for fs in formsets)):
            services.do_mark_year_edited(form.instance, entered_by=request.user.get_username())


@admin.register(CalendarDay)
class CalendarDayAdmin(RoleGatedAdmin):
    """All days of all years, to search and filter; a day is edited on its year's page, where the
    year's days are checked together."""

    list_display = ("date", "weekday", "kind", "name", "year")
    list_filter = ("kind", "year__source", "name", "year")
    search_fields = ("name", "year__notice")
    date_hierarchy = "date"
    list_select_related = ("year",)
    ordering = ("-date",)

    @admin.display(description=_("星期"), ordering="date")
    def weekday(self, obj: CalendarDay) -> str:
        return _weekday(obj.date)

    def may_edit(self, user: Any) -> bool:
        return False


@admin.register(DivisionCalendarDay)
class DivisionCalendarDayAdmin(RoleGatedAdmin):
    list_display = ("date", "weekday", "division", "is_workday", "reason", "entered_by")
    list_filter = ("is_workday", ("division", admin.RelatedOnlyFieldListFilter))
    search_fields = ("division__code", "division__name", "reason")
    date_hierarchy = "date"
    list_select_related = ("division",)
    autocomplete_fields = ("division",)
    readonly_fields = ("entered_by", "updated_at")
    ordering = ("-date",)

    @admin.display(description=_("星期"), ordering="date")
    def weekday(self, obj: DivisionCalendarDay) -> str:
        return _weekday(obj.date)

    def save_model(
        self, request: HttpRequest, obj: DivisionCalendarDay, form: Any, change: bool
    ) -> None:
        obj.entered_by = request.user.get_username()
        super().save_model(request, obj, form, change)
