"""The project's one task API: how apps define background tasks, enqueue them after commit and
register periodic jobs.

Tasks are ``django-tasks`` tasks (the backport of Django 6's ``django.tasks``), so a task is a
module-level function decorated with :func:`task` and runs on whichever backend the deployment
configured: the embedded database queue (``make demo``, no external service) or RQ on Redis in
production (see docs/adr/0002-background-work.md). Rules every task follows:

* **Idempotent.** Backends deliver at least once: a task may run twice, or two workers may run it
  at the same time. A task decides what to do from database state (lock the row, check its
  status), never from the fact that it was called.
* **Enqueued after commit.** A service that changes state schedules its side effects with
  :func:`enqueue_on_commit`, so a rolled-back change never runs a task and a task never runs
  before the row it reads is visible.
* **Periodic jobs are registered, not hard-wired.** An app registers its sweeps (deadline
  warnings, 超时默认, the notification sweep …) in :data:`periodic_jobs` from its
  ``AppConfig.ready``; ``tongban worker`` (or ``tongban scheduler``) enqueues each one once per
  period, however many schedulers run.
* **One unit's failure does not stop a sweep.** A periodic sweep runs each unit of its work
  (one task, one message, one reminder) through :func:`run_sweep_unit`: in its own
  transaction, rolled back alone, logged and retried on the next run if it fails.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import structlog
from django.conf import settings
from django.db import OperationalError, transaction
from django_tasks import task as _django_task
from django_tasks import task_backends
from django_tasks.base import Task

from tongban.core.plugins import Registry

P = ParamSpec("P")
T = TypeVar("T")

logger = structlog.get_logger(__name__)

EPOCH = dt.datetime(2000, 1, 3, tzinfo=dt.UTC)  # a Monday: weekly periods start on Mondays (UTC)


def queue_name() -> str:
    """The queue this deployment's tasks go to (``TONGBAN_TASK_QUEUE``)."""
    return str(getattr(settings, "TONGBAN_TASK_QUEUE", "default"))


def task(function: Callable[P, T]) -> Task[P, T]:
    """Declare a background task on the deployment's queue (use as ``@task``).

    Use this instead of ``django_tasks.task`` so every task lands on the queue the workers of this
    deployment listen to (several deployments may share one Redis, each with its own queue).
    """
    return _django_task(queue_name=queue_name())(function)


def supports_run_after(task_: Task[Any, Any]) -> bool:
    """Whether the configured backend can hold a task until a later time (``run_after``)."""
    return bool(task_backends[task_.backend].supports_defer)


def enqueue(task_: Task[P, Any], *args: P.args, **kwargs: P.kwargs) -> bool:
    """Enqueue now; log and return False instead of raising when the queue is unreachable.

    Used for side effects whose state is in the database: a lost enqueue is picked up by the
    owning app's periodic sweep, so a queue outage must not break the request that caused it.
    """
    try:
        task_.enqueue(*args, **kwargs)
    except Exception as exc:
        logger.error(
            "tasks.enqueue_failed",
            task=task_.module_path,
            args=list(args),
            error=f"{type(exc).__name__}: {exc}",
        )
        return False
    return True


def enqueue_on_commit(task_: Task[P, Any], *args: P.args, **kwargs: P.kwargs) -> None:
    """Enqueue ``task_`` so that it runs only if the current transaction commits.

    On the embedded database queue the task row is written in the transaction itself: it
    commits or rolls back with the change, and no worker sees it before the commit (a
    transactional outbox, one statement and no extra commit). On an external queue (RQ) the
    task is enqueued after the commit; a failure to reach the queue then is logged, not raised:
    the change is already committed, and the task's sweep finds the work from database state.
    Outside a transaction the task is enqueued at once.
    """
    if _queue_in_database(task_) and transaction.get_connection().in_atomic_block:
        task_.enqueue(*args, **kwargs)
        return
    transaction.on_commit(lambda: enqueue(task_, *args, **kwargs))


def _queue_in_database(task_: Task[Any, Any]) -> bool:
    from django_tasks_db.backend import DatabaseBackend

    return isinstance(task_backends[task_.backend], DatabaseBackend)


def write_transaction(fn: Callable[[], T], *, using: str | None = None) -> T:
    """Run ``fn`` in its own short transaction; on SQLite, wait for the write lock instead of
    failing.

    Tasks run concurrently. PostgreSQL locks rows and ``SKIP LOCKED`` never waits; SQLite has one
    writer at a time: a file database waits ``busy_timeout`` by itself, but the shared-cache
    in-memory database of the test suite reports "table is locked" at once. There, and for a
    file database busy longer than its timeout, retry for up to about five seconds. Inside an
    outer transaction nothing is retried (the outer block decides).
    """
    delay = 0.01
    deadline = time.monotonic() + 5
    while True:
        try:
            with transaction.atomic(using=using):
                return fn()
        except OperationalError as exc:
            conn = transaction.get_connection(using)
            retry = conn.vendor == "sqlite" and "locked" in str(exc) and not conn.in_atomic_block
            if not retry or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


SWEEP_UNIT_FAILED = "failed"


def run_sweep_unit(
    report: Counter[str], event: str, unit: Callable[[], str | None], **context: Any
) -> None:
    """Run one unit of a periodic sweep in its own transaction (:func:`write_transaction`) and
    count its outcome in ``report`` (``None``: nothing to count).

    A unit failing with an ordinary exception is rolled back on its own — nothing of it is
    written, so the next run tries it again — logged as ``event`` at error level with the
    traceback and ``context`` (say the case number and ids), and counted as ``failed``; the
    sweep goes on with the next unit. A ``BaseException`` (a worker killed or interrupted)
    is not caught: it rolls the unit back and ends the sweep, as it must.
    """
    try:
        outcome = write_transaction(unit)
    except Exception:
        logger.exception(event, **context)
        outcome = SWEEP_UNIT_FAILED
    if outcome is not None:
        report[outcome] += 1


@dataclass(frozen=True)
class PeriodicJob:
    """A task the scheduler enqueues once per period of length ``every``.

    Periods are aligned to a fixed epoch (UTC), so every scheduler computes the same period for
    the same moment and the run ledger can refuse a second enqueue. The task takes no arguments
    and must be idempotent: it works out what is due from the database, so a skipped period is
    caught up by the next one.
    """

    task: Task[[], Any]
    every: dt.timedelta
    description: str = ""

    def __post_init__(self) -> None:
        if self.every < dt.timedelta(seconds=1):
            raise ValueError("a periodic job runs at most once a second")

    def period_start(self, now: dt.datetime) -> dt.datetime:
        """Start of the period that contains ``now``."""
        elapsed = now - EPOCH
        periods = elapsed // self.every
        return EPOCH + periods * self.every


periodic_jobs: Registry[PeriodicJob] = Registry("periodic job")
"""Every periodic job, by a stable key such as ``notifications.deliver_due``."""


def register_periodic_job(
    key: str, task_: Task[[], Any], *, every: dt.timedelta, description: str = ""
) -> PeriodicJob:
    """Register ``task_`` to run once per ``every``; call from ``AppConfig.ready``."""
    job = PeriodicJob(task=task_, every=every, description=description)
    periodic_jobs.register(key)(job)
    return job
