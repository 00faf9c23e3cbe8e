"""Working-day years for a benchmark's throw-away database when today nears the shipped end.

The migrations load the years ``chinese-calendar`` knows; near the end of the last one, a
case accepted today gets a deadline in a year nobody has entered and the services refuse it, as
they must. A benchmark measures speed, not the calendar, so it enters the missing years up to
``today + 1`` into its own throw-away database — weekends off, no holidays, notice
``基准测试数据`` — and says so in its log. The configured database is never touched: the
command only ever runs a benchmark inside ``throwaway_database``.
"""

from __future__ import annotations

from django.utils import timezone

from tongban.bench.base import Log

NOTICE = "基准测试数据（非国务院公布的安排）"


def enter_missing_years(log: Log) -> list[int]:
    """Enter every year after the last known one up to next year; return those entered."""
    from tongban.workdays.selectors import forget_calendar
    from tongban.workdays.services import do_enter_weekday_years

    entered = do_enter_weekday_years(
        timezone.localdate().year + 1, notice=NOTICE, entered_by="bench"
    )
    if entered:
        forget_calendar()
        log(
            f"entered {', '.join(map(str, entered))} as benchmark calendar data (weekends off, "
            "no holidays) in the throw-away database"
        )
    return entered
