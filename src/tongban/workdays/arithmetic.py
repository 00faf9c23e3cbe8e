"""Working-day arithmetic over an in-memory calendar (pure Python, no database).

``WorkingCalendar`` is a frozen snapshot of the known years, their exception days and the
division overrides; ``workdays.selectors`` builds and caches one. The conventions, fixed here once:

* A period starts **the day after** the triggering act (行政许可法 第八十二条: 期间开始的日不计算在
  期间内). ``add_workdays(start, n)`` for ``n ≥ 1`` is the n-th working day after ``start``.
* ``add_workdays(start, 0)`` is ``start`` when it is a working day, else the first working day
  after it (a same-day 即办 act done on a rest day is due on the next working day). So the answer
  is always a working day.
* ``workdays_between(start, end)`` counts the working days in ``(start, end]`` — ``start`` is not
  counted, ``end`` is — so ``workdays_between(s, add_workdays(s, n)) == n`` for every ``n ≥ 1``.
* A day whose year is not known raises ``CalendarUnknown``; nothing is ever guessed. For
  ``add_workdays`` that includes ``start`` itself.
* With a division, the nearest override in its chain (itself, then its parent, …) wins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from tongban.core.errors import FieldError, ValidationFailed
from tongban.workdays.errors import CalendarUnknown

ONE_DAY = dt.timedelta(days=1)
SATURDAY = 5
MAX_WORKDAYS = 3650
"""The longest period accepted (about 14 years): anything longer is an input mistake."""
HORIZON_WARNING_DAYS = 60
"""Warn when fewer days than this remain before the known calendar ends."""

HOLIDAY = "holiday"
MAKEUP_WORKDAY = "makeup_workday"


class CalendarHorizon(NamedTuple):
    """How far the known calendar reaches from ``today``.

    ``last_known_date`` is 31 December of the last year in the unbroken run of known years that
    starts with today's year (``None`` when no year is known at all); ``days_left`` is the number
    of days from today to it (negative once it has passed); ``warn`` is true when fewer than
    ``HORIZON_WARNING_DAYS`` remain, and ``missing_year`` is the year an administrator must enter.
    """

    last_known_date: dt.date | None
    days_left: int
    warn: bool
    missing_year: int


@dataclass(frozen=True)
class WorkingCalendar:
    """A snapshot: known ``years``, exception ``days`` (date → (kind, name)) and ``overrides``
    (division id → date → is_workday)."""

    years: frozenset[int]
    days: Mapping[dt.date, tuple[str, str]] = field(default_factory=dict)
    overrides: Mapping[int, Mapping[dt.date, bool]] = field(default_factory=dict)

    # --- single days ------------------------------------------------------------------------

    def knows(self, day: dt.date) -> bool:
        return day.year in self.years

    def require(self, day: dt.date, path: str) -> None:
        """Raise ``CalendarUnknown`` (naming ``path``) unless ``day``'s year is known."""
        if day.year not in self.years:
            raise CalendarUnknown(day.year, path=path)

    def is_workday(self, day: dt.date, chain: Sequence[int] = (), *, path: str = "date") -> bool:
        """Whether ``day`` is a working day (in the division whose id chain is ``chain``)."""
        self.require(day, path)
        for division_id in chain:
            local = self.overrides.get(division_id)
            if local is not None and day in local:
                return local[day]
        exception = self.days.get(day)
        if exception is not None:
            return exception[0] == MAKEUP_WORKDAY
        return day.weekday() < SATURDAY

    def day_name(self, day: dt.date) -> str:
        """The festival a holiday or make-up workday belongs to ('' for an ordinary day)."""
        exception = self.days.get(day)
        return exception[1] if exception else ""

    # --- periods ----------------------------------------------------------------------------

    def add_workdays(
        self, start: dt.date, days: int, chain: Sequence[int] = (), *, path: str = "start"
    ) -> dt.date:
        """The ``days``-th working day after ``start`` (see the module docstring for 0)."""
        check_days(days)
        self.require(start, path)
        day = start
        if days == 0:
            while not self.is_workday(day, chain, path=path):
                day += ONE_DAY
            return day
        counted = 0
        while counted < days:
            day += ONE_DAY
            if self.is_workday(day, chain, path=path):
                counted += 1
        return day

    def workdays_between(self, start: dt.date, end: dt.date, chain: Sequence[int] = ()) -> int:
        """The number of working days in ``(start, end]``."""
        if end < start:
            message = "结束日期不能早于开始日期"
            raise ValidationFailed(
                message, code="end_before_start", errors=[FieldError("end", message)]
            )
        self.require(start, "start")  # even an empty span says nothing about an unknown year
        self.require(end, "end")
        count = 0
        day = start
        while day < end:
            day += ONE_DAY
            path = "start" if day.year == start.year else "end"
            if self.is_workday(day, chain, path=path):
                count += 1
        return count

    # --- how far it reaches -----------------------------------------------------------------

    def horizon(self, today: dt.date) -> CalendarHorizon:
        year = today.year
        if year in self.years:
            while year + 1 in self.years:
                year += 1
            last: dt.date | None = dt.date(year, 12, 31)
        else:
            earlier = [y for y in self.years if y < today.year]
            last = dt.date(max(earlier), 12, 31) if earlier else None
        days_left = (last - today).days if last is not None else 0
        missing = last.year + 1 if last is not None else today.year
        if last is not None and last < today:
            missing = today.year
        return CalendarHorizon(last, days_left, days_left < HORIZON_WARNING_DAYS, missing)


def check_days(days: int) -> None:
    """A period length must be a whole number of working days in ``0..MAX_WORKDAYS``."""
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_WORKDAYS:
        message = f"工作日数必须是 0 到 {MAX_WORKDAYS} 之间的整数"
        raise ValidationFailed(
            message, code="days_out_of_range", errors=[FieldError("days", message)]
        )
