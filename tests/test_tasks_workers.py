"""Worker processes end to end: real ``tongban worker`` / ``rqworker`` processes deliver
notifications from a real queue — the embedded database queue, and the production backend, RQ on
Redis, with two worker processes, duplicate jobs and a worker killed with SIGKILL mid-job.

Worker processes cannot see the suite's own test database (SQLite runs it in memory), so this
module makes a private one of the same kind — a SQLite file, or a throw-away database on the
PostgreSQL server of ``DATABASE_URL`` — migrates it and runs every process against it. SMS goes
to an HTTP gateway served by this test, which counts what arrives and can hold a request open.

**Redis is required.** These tests are the proof that the production backend works (CI runs them
with two worker processes); without Redis they fail with a message saying so — never skipped.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TONGBAN_REDIS_URL", "redis://127.0.0.1:6379/0")
LEASE_SECONDS = 2
PRELUDE = (
    "import os, json, django\n"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'tongban.settings')\n"
    "django.setup()\n"
)


# --- an SMS gateway that counts what arrives ---------------------------------------------------


@dataclass
class SmsGateway:
    """Records every POST; ``hold_next()`` makes the next request wait, unanswered."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    holding: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hold_next(self, key: str) -> None:
        """Leave the next request for ``key`` unanswered until ``release`` is set."""
        self.held.clear()
        self.release.clear()
        self.holding = key

    def received_for(self, key: str) -> int:
        return sum(1 for r in self.received if r["client_message_id"] == key)


@pytest.fixture(scope="module")
def sms_gateway() -> Iterator[SmsGateway]:
    gateway = SmsGateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with gateway.lock:
                gateway.received.append(body)
                hold = gateway.holding == body["client_message_id"]
                if hold:
                    gateway.holding = ""
            if hold:
                gateway.held.set()
                gateway.release.wait(60)
                return  # the client is gone: never answered
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")
            with gateway.lock:
                gateway.acknowledged.append(body["client_message_id"])

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}/sms"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield gateway
    gateway.release.set()
    server.shutdown()
    server.server_close()


# --- a private database and queue for worker processes -----------------------------------------


@dataclass
class Stack:
    """Environment for processes sharing one private database and one private queue."""

    env: dict[str, str]
    logs: Path
    queue: str
    user_id: int = 0

    def environment(self, **extra: str) -> dict[str, str]:
        return {**self.env, **extra}

    def python(self, code: str, **extra: str) -> str:
        """Run ``code`` in a fresh Django process; return what it printed."""
        result = subprocess.run(
            [sys.executable, "-c", PRELUDE + code],
            cwd=ROOT,
            env=self.environment(**extra),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def tongban(self, *argv: str, timeout: float = 180, **extra: str) -> str:
        """Run ``tongban ARGV`` to completion; return its combined output."""
        log = self.logs / f"{argv[0]}-{time.monotonic_ns()}.log"
        with log.open("w") as out:
            result = subprocess.run(
                [sys.executable, "-m", "tongban.cli", *argv],
                cwd=ROOT,
                env=self.environment(**extra),
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        text = log.read_text()
        assert result.returncode == 0, text[-3000:]
        return text

    def start(self, *argv: str, **extra: str) -> subprocess.Popen[bytes]:
        """Start ``tongban ARGV`` in its own process group (so it can be killed whole)."""
        log = (self.logs / f"{argv[0]}-{time.monotonic_ns()}.log").open("w")
        return subprocess.Popen(
            [sys.executable, "-m", "tongban.cli", *argv],
            cwd=ROOT,
            env=self.environment(**extra),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def queue_sms(self, key: str, **extra: str) -> int:
        """Queue an SMS for the test applicant in a committed transaction; return the row id."""
        return int(
            self.python(
                "from django.db import transaction\n"
                "from tongban.identity.models import User\n"
                "from tongban.notifications.services import queue_notification\n"
                "with transaction.atomic():\n"
                f"    user = User.objects.get(pk={self.user_id})\n"
                "    (row,) = queue_notification(user, 'notifications.test', "
                f"{{'name': '张三'}}, ['sms'], {key!r})\n"
                "print(row.pk)\n",
                **extra,
            ).split()[-1]
        )

    def row(self, pk: int) -> dict[str, Any]:
        out = self.python(
            "from tongban.notifications.models import Notification\n"
            f"row = Notification.objects.values('status', 'attempts', 'leased_until').get(pk={pk})\n"
            "print(json.dumps(row, default=str))\n"
        )
        return dict(json.loads(out.splitlines()[-1]))


def _private_postgres(url: str) -> tuple[str, str]:
    import psycopg

    name = f"tongban_workers_{os.getpid()}_{secrets.token_hex(3)}"
    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, urlunsplit(parts._replace(path=f"/{name}"))


def _drop_postgres(url: str, name: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, sms_gateway: SmsGateway) -> Iterator[Stack]:
    var_dir = tmp_path_factory.mktemp("workers")
    logs = var_dir / "logs"
    logs.mkdir()
    queue = f"tongban-test-{secrets.token_hex(4)}"
    env = {
        **os.environ,
        "TONGBAN_TESTING": "true",
        "TONGBAN_VAR_DIR": str(var_dir),
        "TONGBAN_TASK_BACKEND": "rq",
        "TONGBAN_TASK_QUEUE": queue,
        "TONGBAN_REDIS_URL": REDIS_URL,
        "TONGBAN_SMS_GATEWAY": "http",
        "TONGBAN_SMS_HTTP_URL": sms_gateway.url,
        "TONGBAN_SMS_HTTP_TIMEOUT": "30",
        "TONGBAN_NOTIFICATION_LEASE_SECONDS": str(LEASE_SECONDS),
        "TONGBAN_NOTIFICATION_SWEEP_SECONDS": "1",
        "TONGBAN_LOG_JSON": "true",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(ROOT),  # the processes import tests.factories
    }
    suite_url = os.environ.get("DATABASE_URL", "")
    private_db = ""
    if suite_url.startswith(("postgres://", "postgresql://")):
        private_db, env["DATABASE_URL"] = _private_postgres(suite_url)
    else:
        env.pop("DATABASE_URL", None)  # a SQLite file under TONGBAN_VAR_DIR
    built = Stack(env=env, logs=logs, queue=queue)
    try:
        built.tongban("migrate", "--no-input", "-v0", TONGBAN_TASK_BACKEND="database")
        built.user_id = int(
            built.python(
                "from tests.factories import ApplicantFactory\n"
                "user = ApplicantFactory(email='e2e@example.org')\n"
                "user.person.mobile = '13812345678'\n"
                "user.person.save(update_fields=['mobile'])\n"
                "print(user.pk)\n",
                TONGBAN_TASK_BACKEND="database",
            ).split()[-1]
        )
        yield built
    finally:
        if private_db:
            _drop_postgres(suite_url, private_db)


@pytest.fixture(scope="module")
def redis_queue(stack: Stack) -> Iterator[str]:
    """Redis must answer; the test queue's keys are removed afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
        problem = ""
    except redis.RedisError as exc:
        problem = str(exc)
    if problem:
        pytest.fail(
            f"Redis is not reachable at {REDIS_URL} ({problem}). These tests run the production "
            "task backend (RQ on Redis) with real worker processes and are never skipped: start "
            "Redis (e.g. `redis-server --daemonize yes`) or set TONGBAN_REDIS_URL.",
            pytrace=False,
        )
    yield stack.queue
    jobs: set[bytes] = set()
    for key in client.scan_iter(match=f"rq:*{stack.queue}*"):
        if client.type(key) == b"zset":
            jobs.update(m.split(b":")[0] for m in client.zrange(key, 0, -1))
        client.delete(key)
    for job in jobs:
        client.delete(b"rq:job:" + job, b"rq:results:" + job)


def _descendants(pid: int) -> list[int]:
    """Child processes of ``pid``, recursively (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *_descendants(int(child))]
    return found


# --- the tests ---------------------------------------------------------------------------------


def test_embedded_queue_worker_delivers_once(stack: Stack, sms_gateway: SmsGateway) -> None:
    """``tongban worker`` on the embedded database queue: no Redis, no other service."""
    embedded = {"TONGBAN_TASK_BACKEND": "database"}
    pk = stack.queue_sms("embedded:1", **embedded)
    output = stack.tongban("worker", "--burst", "--processes", "2", **embedded)
    assert '"backend": "database"' in output
    assert sms_gateway.received_for("embedded:1:sms") == 1
    assert stack.row(pk)["status"] == "sent"


def test_two_rq_workers_run_each_job_once_and_send_once(
    stack: Stack, sms_gateway: SmsGateway, redis_queue: str
) -> None:
    """A committed notification plus three duplicate jobs for it, drained by two RQ worker
    processes: every job runs exactly once, and the phone gets one message."""
    pk = stack.queue_sms("rq:1")  # enqueued to Redis by on_commit
    out = stack.python(
        "import django_rq\n"
        "from tongban.notifications.tasks import deliver_notification\n"
        f"duplicates = [deliver_notification.enqueue({pk}).id for _ in range(3)]\n"
        f"queued = django_rq.get_queue({redis_queue!r}).job_ids\n"
        "print(json.dumps([duplicates, queued]))\n"
    )
    duplicates, job_ids = json.loads(out.splitlines()[-1])
    assert len(job_ids) == 4
    assert set(duplicates) <= set(job_ids)

    output = stack.tongban("worker", "--burst", "--processes", "2", "--no-scheduler")
    assert '"backend": "rq", "processes": 2' in output

    assert sms_gateway.received_for("rq:1:sms") == 1
    assert sms_gateway.acknowledged.count("rq:1:sms") == 1
    out = stack.python(
        "import django_rq\n"
        "from django_tasks import default_task_backend\n"
        "from tongban.notifications.models import Notification\n"
        f"row = Notification.objects.values('status', 'attempts', 'leased_until').get(pk={pk})\n"
        "results = []\n"
        f"for job in {job_ids!r}:\n"
        "    r = default_task_backend.get_result(job)\n"
        "    results.append([str(r.status), r.worker_ids, r.return_value])\n"
        f"left = django_rq.get_queue({redis_queue!r}).count\n"
        "print(json.dumps([row, results, left], default=str))\n"
    )
    row, results, left = json.loads(out.splitlines()[-1])
    assert (row["status"], row["attempts"], row["leased_until"]) == ("sent", 1, None)
    assert [status for status, _, _ in results] == ["SUCCESSFUL"] * 4
    assert all(len(workers) == 1 for _, workers, _ in results)  # each job ran once, on one worker
    values = sorted(value for _, _, value in results)
    assert values.count("sent") == 1
    assert set(values) - {"sent"} <= {"skipped", "in_progress"}
    assert left == 0


def test_rq_worker_killed_mid_job_is_rerun_and_applied_once(
    stack: Stack, sms_gateway: SmsGateway, redis_queue: str
) -> None:
    """SIGKILL the worker while the gateway has the message but has not answered. The row stays
    leased, the lease runs out, the scheduler's sweep runs it again on fresh workers, and the row
    ends ``sent`` once — the gateway saw the same client_message_id twice and acknowledged one."""
    sms_gateway.hold_next("rq:killed:sms")
    pk = stack.queue_sms("rq:killed")
    worker = stack.start("rqworker", "--burst", "--job-class", "django_tasks_rq.Job", redis_queue)
    try:
        assert sms_gateway.held.wait(60), "the worker never reached the gateway"
    finally:
        # the worker and its work horse (RQ forks it into a session of its own), mid-request
        for pid in [*_descendants(worker.pid), worker.pid]:
            os.kill(pid, signal.SIGKILL)
        worker.wait(30)
    sms_gateway.release.set()
    row = stack.row(pk)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["leased_until"] is not None  # claimed by the dead worker

    time.sleep(LEASE_SECONDS + 0.5)
    output = stack.tongban("worker", "--burst", "--processes", "2")
    assert "scheduler.enqueued" in output

    row = stack.row(pk)
    assert (row["status"], row["attempts"], row["leased_until"]) == ("sent", 2, None)
    assert sms_gateway.received_for("rq:killed:sms") == 2  # at least once: the boundary
    assert sms_gateway.acknowledged.count("rq:killed:sms") == 1
