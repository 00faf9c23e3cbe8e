"""The task API (``tongban.core.tasks``), the periodic-job scheduler and ``tongban worker``'s
choice of worker — everything that needs no worker process. Worker processes themselves (the
embedded queue and RQ on Redis) are exercised end to end in ``test_tasks_workers.py``.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django_tasks_db.models import DBTaskResult
from structlog.testing import capture_logs

from tongban.core.plugins import Registry
from tongban.core.tasks import (
    EPOCH,
    PeriodicJob,
    enqueue,
    enqueue_on_commit,
    periodic_jobs,
    queue_name,
)
from tongban.notifications import tasks as notification_tasks
from tongban.notifications.management.commands.worker import backend_kind, worker_argv
from tongban.notifications.models import PeriodicRun
from tongban.notifications.scheduler import prune, schedule_due_jobs

ROOT = Path(__file__).resolve().parent.parent
UTC = dt.UTC
RQ = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}


def test_periods_are_aligned_to_a_fixed_epoch() -> None:
    minute = PeriodicJob(task=notification_tasks.deliver_due, every=dt.timedelta(minutes=1))
    moment = dt.datetime(2026, 11, 23, 9, 30, 59, 999999, tzinfo=UTC)
    assert minute.period_start(moment) == dt.datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    day = PeriodicJob(task=notification_tasks.deliver_due, every=dt.timedelta(days=1))
    assert day.period_start(moment) == dt.datetime(2026, 11, 23, tzinfo=UTC)
    week = PeriodicJob(task=notification_tasks.deliver_due, every=dt.timedelta(weeks=1))
    assert week.period_start(moment).weekday() == EPOCH.weekday() == 0
    with pytest.raises(ValueError, match="once a second"):
        PeriodicJob(task=notification_tasks.deliver_due, every=dt.timedelta(milliseconds=10))


def test_the_notification_sweep_is_a_registered_periodic_job() -> None:
    job = periodic_jobs.get("notifications.deliver_due")
    assert job.task is notification_tasks.deliver_due
    assert job.every == dt.timedelta(seconds=60)
    assert "notifications.prune_history" in periodic_jobs
    assert job.task.queue_name == queue_name() == "default"
    with pytest.raises(ValueError, match="registered twice"):
        periodic_jobs.register("notifications.deliver_due")(job)


@pytest.mark.django_db
def test_enqueue_on_commit_enqueues_after_commit_and_never_on_rollback() -> None:
    def rolled_back() -> None:
        with transaction.atomic():
            enqueue_on_commit(notification_tasks.deliver_notification, 1)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        rolled_back()
    assert DBTaskResult.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_enqueue_on_commit_runs_once_committed() -> None:
    with transaction.atomic():
        enqueue_on_commit(notification_tasks.deliver_notification, 7)
        # the embedded queue's row is part of the transaction: no other connection sees it yet
        assert _rows_seen_by_another_connection() == 0
    assert _rows_seen_by_another_connection() == 1
    (job,) = DBTaskResult.objects.all()
    assert job.args_kwargs["args"] == [7]
    assert job.queue_name == "default"


def _rows_seen_by_another_connection() -> int:
    from concurrent.futures import ThreadPoolExecutor

    def count() -> int:
        try:
            return DBTaskResult.objects.count()
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(count).result()


@pytest.mark.django_db
def test_on_an_external_queue_the_task_is_enqueued_after_commit(
    settings: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.TASKS = RQ
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        "tongban.core.tasks.enqueue", lambda task_, *args, **kwargs: sent.append(args)
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        enqueue_on_commit(notification_tasks.deliver_notification, 9)
    assert sent == []
    (callback,) = callbacks
    callback()
    assert sent == [(9,)]


def test_an_unreachable_queue_is_logged_not_raised(settings: Any) -> None:
    """After a commit, a queue outage must not turn a committed change into an error."""
    settings.TASKS = RQ
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0", "SOCKET_TIMEOUT": 1}}
    with capture_logs() as logs:
        assert enqueue(notification_tasks.deliver_notification, 5) is False
    (entry,) = [e for e in logs if e["event"] == "tasks.enqueue_failed"]
    assert entry["task"] == "tongban.notifications.tasks.deliver_notification"
    assert entry["args"] == [5]
    assert "ConnectionError" in entry["error"]


# --- the scheduler -----------------------------------------------------------------------------


@pytest.fixture
def test_jobs(monkeypatch: pytest.MonkeyPatch) -> Registry[PeriodicJob]:
    """The scheduler sees only these two jobs (other apps register their own)."""
    jobs: Registry[PeriodicJob] = Registry("periodic job")
    jobs.register("every.minute")(
        PeriodicJob(task=notification_tasks.deliver_due, every=dt.timedelta(minutes=1))
    )
    jobs.register("every.day")(
        PeriodicJob(task=notification_tasks.prune_history, every=dt.timedelta(days=1))
    )
    monkeypatch.setattr("tongban.notifications.scheduler.periodic_jobs", jobs)
    return jobs


@pytest.mark.django_db
@pytest.mark.usefixtures("test_jobs")
def test_scheduler_enqueues_each_job_once_per_period(
    django_capture_on_commit_callbacks: Any,
) -> None:
    t0 = dt.datetime(2026, 11, 23, 9, 30, 10, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        assert schedule_due_jobs(t0) == ["every.day", "every.minute"]
        assert schedule_due_jobs(t0 + dt.timedelta(seconds=40)) == []  # same minute, same day
        assert schedule_due_jobs(t0 + dt.timedelta(seconds=50)) == ["every.minute"]
    paths = sorted(DBTaskResult.objects.values_list("task_path", flat=True))
    assert paths == [
        "tongban.notifications.tasks.deliver_due",
        "tongban.notifications.tasks.deliver_due",
        "tongban.notifications.tasks.prune_history",
    ]
    assert PeriodicRun.objects.count() == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("test_jobs")
def test_racing_schedulers_never_double_enqueue() -> None:
    moment = dt.datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    barrier = threading.Barrier(4)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def scheduler() -> None:
        try:
            barrier.wait()
            results.append(schedule_due_jobs(moment))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    enqueued = sorted(key for keys in results for key in keys)
    assert enqueued == ["every.day", "every.minute"]
    assert DBTaskResult.objects.count() == 2


@pytest.mark.django_db
def test_prune_forgets_old_ledger_rows_and_old_task_results() -> None:
    now = dt.datetime(2026, 11, 23, tzinfo=UTC)
    PeriodicRun.objects.create(job="x", period_start=now - dt.timedelta(days=8))
    PeriodicRun.objects.create(job="x", period_start=now - dt.timedelta(days=1))
    assert prune(now) == {"periodic_runs": 1, "task_results": 0}
    assert PeriodicRun.objects.count() == 1


@pytest.mark.django_db
def test_scheduler_command_lists_and_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    out = StringIO()
    call_command("scheduler", "--list", stdout=out)
    assert "notifications.deliver_due\tevery 0:01:00" in out.getvalue()
    weekly: Registry[PeriodicJob] = Registry("periodic job")
    weekly.register("every.week")(
        PeriodicJob(task=notification_tasks.prune_history, every=dt.timedelta(weeks=1))
    )
    monkeypatch.setattr("tongban.notifications.scheduler.periodic_jobs", weekly)
    out = StringIO()
    call_command("scheduler", "--once", stdout=out)
    assert out.getvalue().strip() == "enqueued: every.week"
    out = StringIO()
    call_command("scheduler", "--once", stdout=out)
    assert out.getvalue().strip() == "enqueued: nothing"


# --- tongban worker: which worker for which backend ---------------------------------------------


def test_worker_runs_db_worker_for_the_embedded_queue() -> None:
    assert backend_kind() == "database"
    assert worker_argv("database", burst=False) == [
        "db_worker",
        "--skip-checks",
        "--queue-name",
        "default",
        "--no-reload",
    ]
    assert worker_argv("database", burst=True)[-2:] == ["--batch", "--no-startup-delay"]


def test_worker_runs_rqworker_for_rq(settings: Any) -> None:
    settings.TASKS = RQ
    settings.TONGBAN_TASK_QUEUE = "tb-a"
    assert backend_kind() == "rq"
    assert worker_argv("rq", burst=True) == [
        "rqworker",
        "--skip-checks",
        "--job-class",
        "django_tasks_rq.Job",
        "--with-scheduler",
        "--burst",
        "tb-a",
    ]


def test_worker_refuses_a_backend_without_workers(settings: Any) -> None:
    from django.core.management.base import CommandError

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with pytest.raises(CommandError, match="no worker"):
        backend_kind()


def _tongban(var_dir: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "TONGBAN_TESTING": "true", "TONGBAN_VAR_DIR": str(var_dir), **env}
    environment.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "tongban.cli", *argv],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_settings_select_the_backend_by_name(tmp_path: Path) -> None:
    probe = (
        "from django.conf import settings as s; "
        "print(s.TASKS['default']['BACKEND'], s.TASKS['default']['QUEUES'], "
        "'django_rq' in s.INSTALLED_APPS, s.RQ_QUEUES)"
    )
    rq = _tongban(
        tmp_path,
        "shell",
        "--no-imports",
        "-c",
        probe,
        TONGBAN_TASK_BACKEND="rq",
        TONGBAN_TASK_QUEUE="city-a",
        TONGBAN_REDIS_URL="redis://redis.internal:6380/2",
    )
    assert rq.returncode == 0, rq.stderr
    assert rq.stdout.split(" ", 3)[:3] == ["django_tasks_rq.RQBackend", "['city-a']", "True"]
    assert "'URL': 'redis://redis.internal:6380/2'" in rq.stdout
    bad = _tongban(tmp_path, "check", TONGBAN_TASK_BACKEND="celery")
    assert bad.returncode != 0
    assert "TONGBAN_TASK_BACKEND='celery'" in bad.stderr


def test_worker_on_rq_without_redis_fails_with_a_clear_message(tmp_path: Path) -> None:
    result = _tongban(
        tmp_path,
        "worker",
        "--burst",
        TONGBAN_TASK_BACKEND="rq",
        TONGBAN_REDIS_URL="redis://127.0.0.1:1/0",
    )
    assert result.returncode != 0
    assert "Redis is not reachable at redis://127.0.0.1:1/0" in result.stderr
