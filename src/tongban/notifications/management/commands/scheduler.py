"""``tongban scheduler``: enqueue the registered periodic jobs, once per period each.

``tongban worker`` already runs the scheduler beside its workers; this command is for deployments
that want it as its own process (or a cron line: ``tongban scheduler --once`` every minute).
Several schedulers may run at once: the run ledger lets only one enqueue a job per period.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from tongban.core.tasks import periodic_jobs
from tongban.notifications.scheduler import schedule_due_jobs


class Command(BaseCommand):
    help = "Enqueue due periodic jobs (once per period, however many schedulers run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one tick, then exit")
        parser.add_argument(
            "--interval", type=float, default=5.0, help="seconds between ticks (default 5)"
        )
        parser.add_argument("--list", action="store_true", help="list the periodic jobs")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for key, job in periodic_jobs.items():
                self.stdout.write(f"{key}\tevery {job.every}\t{job.description}")
            return
        while True:
            enqueued = schedule_due_jobs()
            if options["once"]:
                self.stdout.write(f"enqueued: {', '.join(enqueued) or 'nothing'}")
                return
            time.sleep(max(0.5, options["interval"]))
            close_old_connections()  # a long-lived process: drop connections past their age
