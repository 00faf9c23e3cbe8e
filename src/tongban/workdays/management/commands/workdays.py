"""``tongban workdays import|validate|sync|years|horizon|add``: the working-day calendar from the
command line.

``import FILE`` is how an administrator enters a year when the State Council publishes it
(YAML, or CSV with ``--notice``); problems are printed one per line as ``file:line: path:
message`` and nothing is stored. ``sync`` stores the years of the installed ``chinese-calendar``
package (after upgrading it). ``horizon`` says how far the known calendar reaches and exits with
status 1 when fewer than 60 days remain, so a monitoring job can run it.
"""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.core.errors import DomainError
from tongban.workdays import selectors, services
from tongban.workdays.document import parse_year_file
from tongban.workdays.errors import CalendarFileInvalid


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {text}") from exc


class Command(BaseCommand):
    help = "Enter, check and use the working-day calendar (工作日历)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for name, text in (
            ("import", "check a year file and store it atomically"),
            ("validate", "check a year file without storing anything"),
        ):
            cmd = sub.add_parser(name, help=text)
            cmd.add_argument("file", type=Path)
            cmd.add_argument("--notice", help="通知文号 (required for CSV)")
            cmd.add_argument("--year", type=int, help="the year of a CSV file")
            if name == "import":
                cmd.add_argument(
                    "--replace", action="store_true", help="rewrite a year that is already known"
                )
                cmd.add_argument("--by", help="who enters it (default: the login name)")
        sub.add_parser("sync", help="store the years of the installed chinese-calendar package")
        sub.add_parser("years", help="list the known years")
        horizon = sub.add_parser("horizon", help="how far the known calendar reaches")
        horizon.add_argument("--today", type=_date)
        add = sub.add_parser("add", help="the N-th working day after a date")
        add.add_argument("start", type=_date)
        add.add_argument("days", type=int)
        add.add_argument("--division", help="GB/T 2260 code")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            getattr(self, f"_{action}")(options)
        except CalendarFileInvalid as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(
                f"calendar file invalid: {len(exc.problems)} problem(s); nothing was stored"
            ) from exc
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def _import(self, options: dict[str, Any]) -> None:
        by = options["by"] or f"cli:{getpass.getuser()}"
        result = services.check_import_year_file(
            options["file"],
            entered_by=by,
            replace=options["replace"],
            year=options["year"],
            notice=options["notice"],
        )
        for warning in result.warnings:
            self.stderr.write(str(warning))
        schedule = result.schedule
        self.stdout.write(
            f"imported {schedule.year}: {len(schedule.holidays)} holiday(s), "
            f"{len(schedule.makeup_workdays)} make-up workday(s), notice {schedule.notice}"
        )

    def _validate(self, options: dict[str, Any]) -> None:
        schedule = parse_year_file(options["file"], year=options["year"], notice=options["notice"])
        for warning in schedule.warnings:
            self.stderr.write(str(warning))
        self.stdout.write(
            f"OK: {schedule.year}, {len(schedule.holidays)} holiday(s), "
            f"{len(schedule.makeup_workdays)} make-up workday(s)"
        )

    def _sync(self, options: dict[str, Any]) -> None:
        report = services.do_sync_chinese_calendar()
        self.stdout.write(report.summary())

    def _years(self, options: dict[str, Any]) -> None:
        for year in selectors.list_years():
            self.stdout.write(
                f"{year.year}\t{year.source}\t{year.holiday_count}\t{year.makeup_count}\t"
                f"{year.notice or '-'}"
            )

    def _horizon(self, options: dict[str, Any]) -> None:
        horizon = selectors.calendar_horizon(options["today"])
        last = horizon.last_known_date.isoformat() if horizon.last_known_date else "-"
        self.stdout.write(f"last known day {last}, {horizon.days_left} day(s) left")
        if horizon.warn:
            raise CommandError(
                f"the working-day calendar ends soon: enter {horizon.missing_year} "
                "(tongban workdays import FILE)"
            )

    def _add(self, options: dict[str, Any]) -> None:
        deadline = selectors.add_workdays(options["start"], options["days"], options["division"])
        self.stdout.write(deadline.isoformat())
