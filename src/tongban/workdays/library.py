"""The years the pinned ``chinese-calendar`` package knows, as ``YearSchedule`` values.

The package holds every State Council schedule from 2004 to its last year (2026 for 1.11.0):
``holidays`` (every day off, weekend days of a break included) and ``workdays`` (调休 make-up
workdays), each labelled with an English festival name that is translated here to Chinese.
The first migration of this app stores the same data (it reads the package itself, so that it
never depends on this module changing); ``services.do_sync_chinese_calendar`` brings an existing
database up to date after the package is upgraded.
"""

from __future__ import annotations

from collections import defaultdict
from importlib.metadata import PackageNotFoundError, version

import chinese_calendar

from tongban.workdays.document import ScheduledDay, YearSchedule
from tongban.workdays.models import DayKind

NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


def package_label() -> str:
    """``chinese-calendar 1.11.0``: who entered a year loaded from the package."""
    try:
        return f"chinese-calendar {version('chinese-calendar')}"
    except PackageNotFoundError:  # pragma: no cover - installed from a checkout
        return f"chinese-calendar {getattr(chinese_calendar, '__version__', '?')}"


def _name(english: str) -> str:
    if english in NAMES:
        return NAMES[english]
    try:
        return str(chinese_calendar.Holiday(english).chinese)
    except ValueError:
        return english


def library_schedules() -> list[YearSchedule]:
    """Every year in the package, oldest first, days sorted by date."""
    by_year: dict[int, list[ScheduledDay]] = defaultdict(list)
    for day, english in chinese_calendar.holidays.items():
        by_year[day.year].append(ScheduledDay(day, DayKind.HOLIDAY, _name(english)))
    for day, english in chinese_calendar.workdays.items():
        by_year[day.year].append(ScheduledDay(day, DayKind.MAKEUP_WORKDAY, _name(english)))
    return [
        YearSchedule(year, "", sorted(days, key=lambda d: d.date))
        for year, days in sorted(by_year.items())
    ]
