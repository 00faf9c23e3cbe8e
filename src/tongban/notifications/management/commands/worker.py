"""``tongban worker``: run the background workers of the configured task backend, and the
periodic-job scheduler beside them.

* embedded backend (``TONGBAN_TASK_BACKEND=database``, the default): ``db_worker`` processes that
  take tasks from the database queue — nothing else to install (``make demo``);
* production backend (``TONGBAN_TASK_BACKEND=rq``): ``rqworker`` processes on Redis (with
  django-tasks-rq's job class, and RQ's own scheduler for retries that run later).

``--processes N`` starts N worker processes (default: 2 on RQ, 1 on the embedded queue) and
restarts one that dies. Unless ``--no-scheduler`` is given, this process also runs the periodic
job scheduler every few seconds; running it in every worker host is safe because the run ledger
lets only one scheduler enqueue a job per period. ``--burst`` runs the scheduler once, lets the
workers process what is queued, and exits (tests, one-off catch-up).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import Any

import structlog
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connections

from tongban.notifications.scheduler import schedule_due_jobs

logger = structlog.get_logger(__name__)

RQ_BACKEND = "django_tasks_rq.RQBackend"
DATABASE_BACKEND = "django_tasks_db.DatabaseBackend"


def backend_kind() -> str:
    """``database`` or ``rq`` for the default task backend; CommandError for anything else."""
    path = str(settings.TASKS["default"]["BACKEND"])
    if path == RQ_BACKEND:
        return "rq"
    if path == DATABASE_BACKEND:
        return "database"
    raise CommandError(
        f"task backend {path!r} has no worker to run (set TONGBAN_TASK_BACKEND to database or rq)"
    )


def worker_argv(kind: str, *, burst: bool) -> list[str]:
    """The management command (after ``tongban``) one worker process runs."""
    queue = str(settings.TONGBAN_TASK_QUEUE)
    # the supervising `tongban worker` has run the system checks already
    if kind == "rq":
        argv = ["rqworker", "--skip-checks", "--job-class", "django_tasks_rq.Job"]
        argv.append("--with-scheduler")  # RQ's own scheduler: retries that wait (run_after)
        return [*argv, "--burst", queue] if burst else [*argv, queue]
    argv = ["db_worker", "--skip-checks", "--queue-name", queue, "--no-reload"]
    return [*argv, "--batch", "--no-startup-delay"] if burst else argv


def check_redis() -> None:
    """Fail with a clear message when Redis cannot be reached."""
    import redis

    url = str(settings.TONGBAN_REDIS_URL)
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        raise CommandError(
            f"Redis is not reachable at {url} ({exc}); the rq task backend needs it. "
            "Start Redis or set TONGBAN_REDIS_URL."
        ) from exc


class Command(BaseCommand):
    help = "Run background workers for the configured task backend, and the periodic scheduler."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--processes",
            type=int,
            default=None,
            help="worker processes (default: 2 on rq, 1 on the embedded database queue)",
        )
        parser.add_argument(
            "--burst", action="store_true", help="process what is queued, then exit"
        )
        parser.add_argument(
            "--no-scheduler",
            action="store_true",
            help="do not run the periodic-job scheduler in this process",
        )
        parser.add_argument(
            "--scheduler-interval",
            type=float,
            default=5.0,
            help="seconds between scheduler ticks (default 5)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kind = backend_kind()
        processes = options["processes"] or (2 if kind == "rq" else 1)
        if processes < 1:
            raise CommandError("--processes must be at least 1")
        if kind == "rq":
            check_redis()
        burst: bool = options["burst"]
        scheduling = not options["no_scheduler"]
        interval: float = max(0.5, options["scheduler_interval"])
        if scheduling:
            self._tick()
        connections.close_all()  # never share a connection with the children

        supervisor = _Supervisor(worker_argv(kind, burst=burst), processes, restart=not burst)
        logger.info(
            "worker.start",
            backend=kind,
            processes=processes,
            queue=settings.TONGBAN_TASK_QUEUE,
            burst=burst,
            scheduler=scheduling,
        )
        supervisor.start()
        next_tick = time.monotonic() + interval
        while supervisor.running():
            time.sleep(0.2)
            if scheduling and not burst and time.monotonic() >= next_tick:
                close_old_connections()  # long-lived: drop connections past their age
                self._tick()
                next_tick = time.monotonic() + interval
        code = supervisor.exit_code()
        logger.info("worker.stop", exit_code=code)
        if code:
            raise SystemExit(code)

    def _tick(self) -> None:
        try:
            schedule_due_jobs()
        except Exception as exc:  # a database hiccup must not stop the workers
            logger.error("scheduler.tick_failed", error=f"{type(exc).__name__}: {exc}")


def _die_with_parent() -> None:
    """In a new worker process (Linux): get SIGTERM if the supervisor dies, never outlive it."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class _Supervisor:
    """Starts N copies of one worker command, restarts those that die (unless in burst mode),
    and passes SIGTERM/SIGINT on so workers finish their current task before stopping."""

    def __init__(self, argv: list[str], count: int, *, restart: bool) -> None:
        self.command = [sys.executable, "-m", "tongban.cli", *argv]
        self.count = count
        self.restart = restart
        self.children: list[subprocess.Popen[bytes] | None] = [None] * count
        self.codes: list[int] = [0] * count
        self.stopping = False
        self.delay = [1.0] * count
        self.restart_at = [0.0] * count
        self.started_at = [0.0] * count

    def start(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for slot in range(self.count):
            self._spawn(slot)

    def _spawn(self, slot: int) -> None:
        # Each worker in a process group of its own: a Ctrl-C or `kill 0` reaches only this
        # supervisor, which passes on exactly one SIGTERM (a second one makes RQ and db_worker
        # abandon the task they are running).
        self.children[slot] = subprocess.Popen(  # noqa: S603
            self.command, env=os.environ.copy(), process_group=0, preexec_fn=_die_with_parent
        )
        self.started_at[slot] = time.monotonic()

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:
            return
        self.stopping = True
        logger.info("worker.stopping", signal=signal.Signals(signum).name)
        for child in self.children:
            if child is not None and child.poll() is None:
                child.send_signal(signal.SIGTERM)

    def running(self) -> bool:
        now = time.monotonic()
        alive = False
        for slot, child in enumerate(self.children):
            if child is None:
                if self.stopping:
                    continue
                if now >= self.restart_at[slot]:
                    self._spawn(slot)
                alive = True
                continue
            code = child.poll()
            if code is None:
                alive = True
                continue
            self.codes[slot] = code
            if self.restart and not self.stopping:
                logger.error("worker.process_exited", pid=child.pid, exit_code=code)
                self.children[slot] = None
                if now - self.started_at[slot] > 60:
                    self.delay[slot] = 1.0  # it ran fine for a while: restart promptly
                self.restart_at[slot] = now + self.delay[slot]
                self.delay[slot] = min(self.delay[slot] * 2, 30.0)
                alive = True
        if self.stopping and alive:
            self._wait_or_kill()
            return False
        return alive

    def _wait_or_kill(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        for slot, child in enumerate(self.children):
            if child is None:
                continue
            try:
                self.codes[slot] = child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                self.codes[slot] = child.wait()

    def exit_code(self) -> int:
        if self.stopping:
            return 0
        return max((abs(code) for code in self.codes), default=0)
