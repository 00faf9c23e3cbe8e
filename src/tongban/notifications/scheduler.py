"""The periodic-job scheduler: enqueue each registered periodic job once per period.

Every job in ``tongban.core.tasks.periodic_jobs`` has a period length; periods are aligned to a
fixed epoch, so all schedulers agree on "the current period". Before enqueueing a job for a
period the scheduler inserts a ``PeriodicRun`` row for (job, period start); the unique constraint
lets exactly one scheduler win, and the task is enqueued after that row commits. Any number of
schedulers may therefore run — ``tongban worker`` runs one beside its worker processes by default
— and none double-enqueues.

If the queue is unreachable right after the ledger row committed, that period is skipped (and
logged); periodic jobs are sweeps that work out what is due from the database, so the next period
catches up.
"""

from __future__ import annotations

import datetime as dt

import structlog
from django.db import IntegrityError
from django.utils import timezone

from tongban.core.tasks import PeriodicJob, enqueue_on_commit, periodic_jobs, write_transaction
from tongban.notifications.models import PeriodicRun

logger = structlog.get_logger(__name__)

LEDGER_KEEP = dt.timedelta(days=7)
TASK_RESULTS_KEEP = dt.timedelta(days=14)


def schedule_due_jobs(now: dt.datetime | None = None) -> list[str]:
    """Enqueue every periodic job whose current period has not been enqueued yet.

    Returns the keys of the jobs this call enqueued (another scheduler may have taken the rest).
    """
    moment = now or timezone.now()
    enqueued: list[str] = []
    for key, job in periodic_jobs.items():
        start = job.period_start(moment)

        def claim_period(
            key: str = key, start: dt.datetime = start, job: PeriodicJob = job
        ) -> None:
            PeriodicRun.objects.create(job=key, period_start=start, enqueued_at=moment)
            enqueue_on_commit(job.task)

        try:
            write_transaction(claim_period)
        except IntegrityError:
            continue  # another scheduler enqueued this period
        enqueued.append(key)
    if enqueued:
        logger.info("scheduler.enqueued", jobs=enqueued)
    return enqueued


def prune(now: dt.datetime | None = None) -> dict[str, int]:
    """Forget old ledger rows, and old finished results of the embedded task queue."""
    moment = now or timezone.now()
    removed, _ = PeriodicRun.objects.filter(period_start__lt=moment - LEDGER_KEEP).delete()
    counts = {"periodic_runs": removed}

    from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
    from django_tasks_db.backend import DatabaseBackend

    if isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend):
        from django_tasks_db.models import DBTaskResult

        results, _ = (
            DBTaskResult.objects.finished()
            .filter(finished_at__lt=moment - TASK_RESULTS_KEEP)
            .delete()
        )
        counts["task_results"] = results
    return counts
