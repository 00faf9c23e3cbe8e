"""Working-day arithmetic: exact deadlines across Chinese holidays with 调休, the end of the known
calendar (never a guess), per-division overrides, the horizon warning, the cache, the data
migration and the package sync; properties checked with Hypothesis on the pure calendar."""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import chinese_calendar
import pytest
from django.apps import apps
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import DivisionFactory
from tongban.core.errors import NotFound, ValidationFailed
from tongban.identity.models import Division, DivisionLevel
from tongban.workdays import selectors, services
from tongban.workdays.arithmetic import WorkingCalendar
from tongban.workdays.document import parse_year_file
from tongban.workdays.errors import CalendarUnknown
from tongban.workdays.library import library_schedules
from tongban.workdays.models import CalendarDay, CalendarSource, CalendarYear, DayKind

# these tests are about the shipped calendar and its end: no test years after it
pytestmark = pytest.mark.shipped_calendar

D = dt.date

SAMPLE_2027 = """\
# sample data for tests: the 2027 schedule is not published yet
year: 2027
notice: 国办发明电〔2026〕样例号
holidays:
  - {from: 2027-01-01, to: 2027-01-03, name: 元旦}
  - {from: 2027-02-06, to: 2027-02-12, name: 春节}
makeup_workdays:
  - {date: 2027-02-13, name: 春节}
"""


def _library_calendar() -> WorkingCalendar:
    schedules = library_schedules()
    return WorkingCalendar(
        frozenset(s.year for s in schedules),
        {d.date: (d.kind, d.name) for s in schedules for d in s.days},
    )


LIBRARY = _library_calendar()
FIRST, LAST = D(2004, 1, 1), D(2026, 12, 31)


@pytest.fixture
def calendar(db: None) -> None:
    """The package years, also after a transactional test elsewhere flushed the tables."""
    services.do_sync_chinese_calendar()


@pytest.fixture
def year_2027(tmp_path: Path, calendar: None) -> Path:
    path = tmp_path / "2027.yaml"
    path.write_text(SAMPLE_2027, encoding="utf-8")
    return path


# --- exact deadlines across 调休 ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "deadline"),
    [
        # Friday before 春节 2025: Sat 25 Jan rests, Sun 26 Jan is a make-up workday (1),
        # Mon 27 Jan (2), 28 Jan–4 Feb 春节, then 5, 6, 7 Feb (3, 4, 5).
        (D(2025, 1, 24), 1, D(2025, 1, 26)),
        (D(2025, 1, 24), 2, D(2025, 1, 27)),
        (D(2025, 1, 24), 3, D(2025, 2, 5)),
        (D(2025, 1, 24), 5, D(2025, 2, 7)),
        (D(2025, 1, 24), 6, D(2025, 2, 8)),  # Saturday 8 Feb is a make-up workday
        (D(2025, 1, 24), 7, D(2025, 2, 10)),
        # 国庆 2025: 1–8 Oct off, Sun 28 Sep and Sat 11 Oct worked.
        (D(2025, 9, 26), 1, D(2025, 9, 28)),
        (D(2025, 9, 26), 3, D(2025, 9, 30)),
        (D(2025, 9, 26), 4, D(2025, 10, 9)),
        (D(2025, 9, 26), 5, D(2025, 10, 10)),
        (D(2025, 9, 26), 6, D(2025, 10, 11)),
        (D(2025, 9, 26), 7, D(2025, 10, 13)),
        (D(2025, 9, 30), 1, D(2025, 10, 9)),
        # 春节 2026: 15–23 Feb off, Sat 14 Feb and Sat 28 Feb worked.
        (D(2026, 2, 12), 1, D(2026, 2, 13)),
        (D(2026, 2, 12), 2, D(2026, 2, 14)),
        (D(2026, 2, 12), 3, D(2026, 2, 24)),
        (D(2026, 2, 12), 5, D(2026, 2, 26)),
        (D(2026, 2, 12), 7, D(2026, 2, 28)),
        (D(2026, 2, 12), 8, D(2026, 3, 2)),
        # 20 working days from an ordinary Monday
        (D(2025, 3, 3), 20, D(2025, 3, 31)),
    ],
)
def test_add_workdays_across_holidays(
    calendar: None, start: dt.date, days: int, deadline: dt.date
) -> None:
    assert selectors.add_workdays(start, days) == deadline
    assert selectors.workdays_between(start, deadline) == days


def test_zero_days_is_the_same_working_day_or_the_next_one(calendar: None) -> None:
    assert selectors.add_workdays(D(2025, 1, 24), 0) == D(2025, 1, 24)  # Friday
    assert selectors.add_workdays(D(2025, 1, 25), 0) == D(2025, 1, 26)  # Sat → 调休 Sunday
    assert selectors.add_workdays(D(2025, 10, 1), 0) == D(2025, 10, 9)  # 国庆 → Thursday


def test_is_workday_knows_makeup_days_and_holidays(calendar: None) -> None:
    assert selectors.is_workday(D(2025, 1, 26))  # Sunday, 调休上班
    assert not selectors.is_workday(D(2025, 1, 25))  # Saturday
    assert not selectors.is_workday(D(2025, 1, 28))  # Tuesday, 春节
    assert selectors.is_workday(D(2025, 1, 27))  # Monday
    assert not selectors.is_workday(D(2025, 10, 6))  # Monday, 中秋节 inside 国庆
    assert CalendarDay.objects.get(date=D(2025, 10, 6)).name == "中秋节"
    assert CalendarDay.objects.get(date=D(2025, 9, 28)).name == "国庆节"


def test_workdays_between_counts_start_exclusive_end_inclusive(calendar: None) -> None:
    assert selectors.workdays_between(D(2025, 1, 24), D(2025, 1, 24)) == 0
    assert selectors.workdays_between(D(2025, 1, 24), D(2025, 2, 7)) == 5
    assert selectors.workdays_between(D(2025, 1, 23), D(2025, 1, 24)) == 1
    assert selectors.workdays_between(D(2025, 1, 28), D(2025, 2, 4)) == 0  # all 春节
    with pytest.raises(ValidationFailed) as caught:
        selectors.workdays_between(D(2025, 2, 7), D(2025, 1, 24))
    assert caught.value.errors[0].path == "end"


def test_deadline_for_uses_the_local_day_of_the_act(calendar: None) -> None:
    # 23:30 Beijing time on Friday 24 Jan is 15:30 UTC the same day; 00:30 on Saturday 25 Jan
    # Beijing time is still Friday in UTC — the local day counts.
    friday_night = dt.datetime(2025, 1, 24, 15, 30, tzinfo=dt.UTC)
    saturday_early = dt.datetime(2025, 1, 24, 16, 30, tzinfo=dt.UTC)
    assert selectors.deadline_for(friday_night, 5) == D(2025, 2, 7)
    assert selectors.deadline_for(saturday_early, 5) == D(2025, 2, 7)  # Sat: same period
    assert selectors.deadline_for(saturday_early, 1) == D(2025, 1, 26)
    assert selectors.deadline_for(dt.datetime(2025, 1, 26, 2, tzinfo=dt.UTC), 1) == D(2025, 1, 27)


def test_extend_deadline_by_paused_workdays(calendar: None) -> None:
    assert selectors.extend_deadline(D(2025, 9, 30), 0) == D(2025, 9, 30)
    assert selectors.extend_deadline(D(2025, 9, 30), 1) == D(2025, 10, 9)
    assert selectors.extend_deadline(D(2025, 9, 30), 3) == D(2025, 10, 11)


@pytest.mark.parametrize("days", [-1, 3651, True])
def test_days_out_of_range_are_refused(calendar: None, days: int) -> None:
    with pytest.raises(ValidationFailed) as caught:
        selectors.add_workdays(D(2025, 1, 24), days)
    assert caught.value.errors[0].path == "days"


# --- the end of the known calendar -------------------------------------------------------------


def test_a_period_past_2026_is_unknown_until_2027_is_entered(year_2027: Path) -> None:
    start = D(2026, 12, 25)  # Friday; 28–31 Dec are working days 1–4
    with pytest.raises(CalendarUnknown) as caught:
        selectors.add_workdays(start, 5)
    error = caught.value
    assert (error.code, error.year) == ("calendar_unknown", 2027)
    assert "2027 年的工作日历尚未录入" in error.message
    assert "国务院办公厅" in error.message
    assert error.errors[0].path == "start"
    assert selectors.add_workdays(start, 4) == D(2026, 12, 31)  # still inside 2026
    with pytest.raises(CalendarUnknown):
        selectors.is_workday(D(2027, 1, 4))
    with pytest.raises(CalendarUnknown) as between:
        selectors.workdays_between(start, D(2027, 1, 8))
    assert between.value.errors[0].path == "end"
    with pytest.raises(CalendarUnknown):
        selectors.add_workdays(D(2003, 12, 30), 1)

    services.check_import_year_file(year_2027, entered_by="admin")

    # 1 Jan (Fri) 元旦, 2–3 Jan weekend: the 5th working day is Monday 4 Jan 2027.
    assert selectors.add_workdays(start, 5) == D(2027, 1, 4)
    assert selectors.workdays_between(start, D(2027, 1, 8)) == 9  # 28–31 Dec, 4–8 Jan
    assert selectors.add_workdays(D(2027, 2, 5), 1) == D(2027, 2, 13)  # 调休 Saturday


def test_no_weekday_guess_even_for_a_single_day(calendar: None) -> None:
    with pytest.raises(CalendarUnknown):
        selectors.add_workdays(D(2027, 3, 1), 0)  # a Monday, but 2027 is not known


# --- per-division overrides --------------------------------------------------------------------


@pytest.fixture
def guangxi(calendar: None) -> dict[str, Division]:
    region = DivisionFactory(code="450000", name="广西壮族自治区", level=DivisionLevel.PROVINCE)
    city = DivisionFactory(code="450100", name="南宁市", level=DivisionLevel.CITY, parent=region)
    district = DivisionFactory(
        code="450102", name="兴宁区", level=DivisionLevel.DISTRICT, parent=city
    )
    other = DivisionFactory(code="330100", name="杭州市", level=DivisionLevel.CITY)
    for day in (D(2025, 3, 31), D(2025, 4, 1)):  # 壮族三月三 (sample dates)
        services.do_set_division_day(
            region, day, is_workday=False, reason="壮族三月三（示例）", entered_by="admin"
        )
    return {"region": region, "city": city, "district": district, "other": other}


def test_division_override_applies_below_the_division(guangxi: dict[str, Division]) -> None:
    friday = D(2025, 3, 28)
    assert selectors.add_workdays(friday, 1) == D(2025, 3, 31)
    assert selectors.add_workdays(friday, 1, "330100") == D(2025, 3, 31)
    assert selectors.add_workdays(friday, 1, "450000") == D(2025, 4, 2)
    assert selectors.add_workdays(friday, 1, "450102") == D(2025, 4, 2)
    assert selectors.add_workdays(friday, 1, guangxi["district"]) == D(2025, 4, 2)
    # 2 and 3 Apr only: 4 Apr is 清明 everywhere
    assert selectors.workdays_between(friday, D(2025, 4, 4), "450100") == 2
    assert selectors.workdays_between(friday, D(2025, 4, 4)) == 4
    assert not selectors.is_workday(D(2025, 4, 1), "450100")


def test_nearest_override_wins(guangxi: dict[str, Division]) -> None:
    city = guangxi["city"]
    services.do_set_division_day(
        city,
        D(2025, 4, 1),
        is_workday=True,
        reason="南宁市照常上班（示例）",
        entered_by="admin",
    )
    assert selectors.is_workday(D(2025, 4, 1), "450102")
    assert not selectors.is_workday(D(2025, 4, 1), "450000")
    services.do_set_division_day(
        city,
        D(2025, 4, 5),
        is_workday=True,
        reason="周六补班（示例）",
        entered_by="admin",
    )
    assert selectors.is_workday(D(2025, 4, 5), "450100")  # a Saturday and 清明 nationally
    assert services.do_remove_division_day(city, D(2025, 4, 5))
    assert not selectors.is_workday(D(2025, 4, 5), "450100")


def test_unknown_division_code(calendar: None) -> None:
    with pytest.raises(NotFound) as caught:
        selectors.add_workdays(D(2025, 1, 24), 1, "999999")
    assert caught.value.errors[0].path == "division"


# --- horizon -------------------------------------------------------------------------------------


def test_horizon_warns_when_fewer_than_60_days_remain(year_2027: Path) -> None:
    horizon = selectors.calendar_horizon(D(2026, 11, 23))
    assert horizon == (D(2026, 12, 31), 38, True, 2027)
    assert selectors.calendar_horizon(D(2026, 11, 1)) == (D(2026, 12, 31), 60, False, 2027)
    assert selectors.calendar_horizon(D(2026, 11, 2)) == (D(2026, 12, 31), 59, True, 2027)
    assert selectors.calendar_horizon(D(2027, 1, 5)) == (D(2026, 12, 31), -5, True, 2027)
    services.check_import_year_file(year_2027, entered_by="admin")
    assert selectors.calendar_horizon(D(2026, 11, 23)) == (D(2027, 12, 31), 403, False, 2028)


def test_horizon_with_no_calendar_at_all(calendar: None) -> None:
    CalendarYear.objects.all().delete()
    assert selectors.calendar_horizon(D(2026, 11, 23)) == (None, 0, True, 2026)


# --- cache ----------------------------------------------------------------------------------------


def test_cached_calendar_notices_every_change(
    calendar: None, django_assert_num_queries: Any
) -> None:
    selectors.working_calendar()
    with django_assert_num_queries(1):  # only the fingerprint
        assert selectors.add_workdays(D(2025, 1, 24), 5) == D(2025, 2, 7)
    day = CalendarDay.objects.get(date=D(2025, 2, 4))
    day.kind = DayKind.MAKEUP_WORKDAY  # an (absurd) edit, to see it picked up at once
    day.save(update_fields=["kind", "updated_at"])
    assert selectors.add_workdays(D(2025, 1, 24), 5) == D(2025, 2, 6)
    day.delete()
    assert selectors.add_workdays(D(2025, 1, 24), 5) == D(2025, 2, 6)  # 4 Feb is a Tuesday
    CalendarYear.objects.filter(year=2025).delete()
    with pytest.raises(CalendarUnknown):
        selectors.add_workdays(D(2025, 1, 24), 5)


# --- loading -----------------------------------------------------------------------------------


def test_database_calendar_matches_chinese_calendar_for_every_day(calendar: None) -> None:
    snapshot = selectors.working_calendar()
    assert set(range(2004, 2027)) <= snapshot.years
    day = FIRST
    while day <= LAST:
        assert snapshot.is_workday(day) == chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)


def test_data_migration_loads_2004_to_2026(calendar: None) -> None:
    CalendarYear.objects.all().delete()
    migration = importlib.import_module("tongban.workdays.migrations.0002_chinese_calendar_years")
    editor = SimpleNamespace(connection=connection)  # all ``load`` uses of a schema editor
    migration.load(apps, editor)
    migration.load(apps, editor)  # a second run adds nothing
    assert list(CalendarYear.objects.order_by("year").values_list("year", flat=True)) == list(
        range(2004, 2027)
    )
    assert CalendarDay.objects.count() == len(chinese_calendar.holidays) + len(
        chinese_calendar.workdays
    )
    year = CalendarYear.objects.get(year=2026)
    assert (year.source, year.entered_by) == (
        CalendarSource.CHINESE_CALENDAR,
        "chinese-calendar 1.11.0",
    )
    assert selectors.add_workdays(D(2026, 2, 12), 3) == D(2026, 2, 24)


def test_sync_is_idempotent_and_keeps_administrator_years(calendar: None, tmp_path: Path) -> None:
    report = services.do_sync_chinese_calendar()
    assert report.created == []
    assert report.updated == []
    assert report.unchanged == list(range(2004, 2027))
    # a lost day is restored; an administrator's correction is kept
    CalendarDay.objects.filter(date=D(2025, 1, 26)).delete()
    path = tmp_path / "2024.yaml"
    path.write_text(
        "year: 2024\nnotice: 国办发明电〔2023〕7号\nholidays:\n  - {date: 2024-01-01, name: 元旦}\n",
        encoding="utf-8",
    )
    services.check_import_year_file(path, entered_by="admin", replace=True)
    report = services.do_sync_chinese_calendar()
    assert report.updated == [2025]
    assert report.kept_administrator == [2024]
    assert selectors.is_workday(D(2025, 1, 26))
    assert CalendarDay.objects.filter(year__year=2024).count() == 1
    assert "保留管理员录入的 2024 年" in report.summary()
    CalendarYear.objects.filter(year=2010).delete()
    assert services.do_sync_chinese_calendar().created == [2010]


def test_every_package_year_passes_the_year_file_rules(tmp_path: Path) -> None:
    """The rules an administrator's file must meet hold for every published year."""
    for schedule in library_schedules():
        lines = [f"year: {schedule.year}", "notice: 样例", "holidays:"]
        lines += [f"  - {{date: {d.date}, name: {d.name}}}" for d in schedule.holidays]
        lines += ["makeup_workdays:" if schedule.makeup_workdays else "makeup_workdays: []"]
        lines += [f"  - {{date: {d.date}, name: {d.name}}}" for d in schedule.makeup_workdays]
        path = tmp_path / f"{schedule.year}.yaml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        parsed = parse_year_file(path)
        assert parsed.days == schedule.days


# --- properties (pure calendar of the package years) ------------------------------------------

starts = st.dates(min_value=FIRST, max_value=D(2026, 6, 30))
counts = st.integers(min_value=1, max_value=60)


@given(start=starts, n=st.integers(min_value=0, max_value=60))
def test_result_is_always_a_working_day(start: dt.date, n: int) -> None:
    assert LIBRARY.is_workday(LIBRARY.add_workdays(start, n))


@given(start=starts, n=counts)
def test_between_inverts_add(start: dt.date, n: int) -> None:
    assert LIBRARY.workdays_between(start, LIBRARY.add_workdays(start, n)) == n


@given(start=starts, n=counts)
def test_monotonic_in_n(start: dt.date, n: int) -> None:
    assert LIBRARY.add_workdays(start, n + 1) > LIBRARY.add_workdays(start, n) > start
    # 0 and 1 coincide when ``start`` is a rest day (both are the next working day)
    assert LIBRARY.add_workdays(start, 1) >= LIBRARY.add_workdays(start, 0) >= start


@given(start=starts, n=counts)
def test_add_matches_chinese_calendar(start: dt.date, n: int) -> None:
    day, left = start, n
    while left:
        day += dt.timedelta(days=1)
        left -= chinese_calendar.is_workday(day)
    assert LIBRARY.add_workdays(start, n) == day


@given(start=starts, a=counts, b=counts)
def test_periods_compose(start: dt.date, a: int, b: int) -> None:
    assert LIBRARY.add_workdays(LIBRARY.add_workdays(start, a), b) == LIBRARY.add_workdays(
        start, a + b
    )
