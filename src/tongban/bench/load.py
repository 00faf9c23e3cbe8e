"""``tongban bench load``: a mixed read/write load against the real server on loopback.

In the throw-away PostgreSQL database the command made, the demo sample is loaded (``tongban
demo_data``: the sample catalog, synthetic registries, the demo accounts) and ``--cases``
applications are filed and half of them accepted through the case services. Then the real
server starts — gunicorn with ``scripts/gunicorn.conf.py`` and ``--workers`` (≥ 2) worker
processes on a free 127.0.0.1 port — and locust (headless, ``tongban/bench/locustfile.py``)
drives it for ``--duration`` seconds with ``--users`` closed-loop users: applicants search
items, run an item's 情形引导, open their cases, and start and submit drafts; a 综合窗口 reads
the intake queue, opens cases and accepts the cases submitted during the run. Sessions are
made beforehand for the demo accounts (``citizen`` and ``window``) and sent as cookies with
the CSRF token, so the API is used exactly as a browser session uses it.

Reported: requests/s, p50/p95/p99 overall and per endpoint, the error rate (any error fails
the benchmark, with the figures and the errors in the JSON), and the cases the run submitted
and accepted, read back from the database. The server is stopped (SIGTERM, then SIGKILL after
``STOP_TIMEOUT_S``) before the database is dropped, whatever happens.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import secrets
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client

from tongban.bench.base import Benchmark, BenchmarkFailed, Log, Option, benchmarks

ITEM = "330106-SCJG.food-business-licence"
DIVISION = "330106"
ANSWERS = {
    "subject_type": "individual",
    "business_form": "retail",
    "area": 60,
    "online_sales": False,
    "by_agent": False,
}
# what the applicant types on the form and uploads (a complete application; sample values)
MATERIALS = ("application", "business_licence", "layout", "safety_rules")
SAMPLE_PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
QUERIES = ("开饭店", "食品经营许可", "个体工商户", "出生登记", "居住证", "spxk", "社保", "公积金")
APPLICANT, WINDOW = "citizen", "window"
STOP_TIMEOUT_S = 30
READY_TIMEOUT_S = 120
LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def _database_url() -> str:
    """The URL of the throw-away database the command made (the configured server)."""
    configured = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(configured)
    name = str(connection.settings_dict["NAME"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(cases: int, log: Log) -> dict[str, Any]:
    """Demo data, ``cases`` applications (half accepted), sessions and a CSRF token."""
    from tongban.cases.services import check_create_draft, perform, submit_draft
    from tongban.identity.models import Enterprise, User

    call_command(
        "demo_data", "--no-table", "--persons", "50", "--enterprises", "10", stdout=StringIO()
    )
    applicant = User.objects.get(username=APPLICANT)
    window = User.objects.get(username=WINDOW)
    numbers = []
    for n in range(cases):
        draft = check_create_draft(
            applicant, item_code=ITEM, division_code=DIVISION, answers=ANSWERS
        )
        case = submit_draft(applicant, draft.pk)
        numbers.append(case.number or "")
        if n % 2:
            perform(window, case.number or "", "accept")
    log(f"demo data loaded; {cases} applications filed by {APPLICANT}, half accepted by {WINDOW}")
    sessions = {}
    for role, user in (("applicant", applicant), ("window", window)):
        client = Client()
        client.force_login(user)
        sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
    alphabet = string.ascii_letters + string.digits
    enterprise = Enterprise.objects.order_by("pk").first()
    if enterprise is None or applicant.person is None:
        raise CommandError("the demo data has no enterprise or no person for the applicant")
    form = {
        "operator_name": f"{applicant.person.name}食品店",
        "uscc": enterprise.uscc,
        "legal_rep": applicant.person.name,
        "premises": "杭州市西湖区文三路 100 号",
        "area": 60,
        "business_items": "预包装食品销售",
        "contact_mobile": "13800000000",
    }
    return {
        "sessions": sessions,
        "csrf": "".join(secrets.choice(alphabet) for _ in range(32)),
        "item": ITEM,
        "division": DIVISION,
        "answers": ANSWERS,
        "form": form,
        "materials": list(MATERIALS),
        "pdf": SAMPLE_PDF.decode("ascii"),
        "queries": list(QUERIES),
        "cases": numbers,
        "submitted": [n for i, n in enumerate(numbers) if i % 2 == 0],
        "seed": 20261123,
    }


@contextmanager
def server(workers: int, log: Log) -> Iterator[str]:
    """gunicorn on a free loopback port against the throw-away database; stopped at the end."""
    port = _free_port()
    config = Path(settings.BASE_DIR) / "scripts" / "gunicorn.conf.py"
    command = [sys.executable, "-m", "gunicorn", "tongban.wsgi:application"]
    if config.exists():
        command += ["--config", str(config)]
    command += ["--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    env = {**os.environ, "DATABASE_URL": _database_url(), "TONGBAN_SEARCH_REFRESH_MS": "1000"}
    connection.close()  # the server's workers open their own connections
    log_file = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - closed below
    process = subprocess.Popen(  # noqa: S603 - our own server with our own arguments
        command, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(process, base, log_file)
        log(f"gunicorn with {workers} workers on {base} (pid {process.pid})")
        yield base
    finally:
        _stop(process, log)
        log_file.close()


def _wait_ready(process: subprocess.Popen[bytes], base: str, log_file: Any) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log_file.seek(0)
            raise CommandError(
                f"gunicorn exited with {process.returncode}:\n{log_file.read()[-2000:]}"
            )
        try:
            with urllib.request.urlopen(f"{base}/api/v1/items/search?q=x", timeout=5) as answer:  # noqa: S310 - loopback
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise CommandError(f"gunicorn did not answer on {base} within {READY_TIMEOUT_S} s")


def _stop(process: subprocess.Popen[bytes], log: Log) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # gunicorn's graceful stop, workers included
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    log(f"gunicorn stopped (exit code {process.returncode})")


def run_locust(base: str, plan_path: Path, options: dict[str, Any], folder: Path, log: Log) -> Path:
    prefix = folder / "locust"
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        base,
        "--users",
        str(options["users"]),
        "--spawn-rate",
        str(options["users"]),
        "--run-time",
        f"{options['duration']}s",
        "--stop-timeout",
        "10",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    env = {**os.environ, "TONGBAN_LOAD_PLAN": str(plan_path)}
    log(f"locust: {options['users']} users for {options['duration']} s …")
    done = subprocess.run(  # noqa: S603 - our own locustfile
        command,
        env=env,
        capture_output=True,
        text=True,
        timeout=options["duration"] + 120,
        check=False,
    )
    stats = folder / "locust_stats.csv"
    if not stats.exists():
        raise CommandError(
            f"locust wrote no statistics (exit {done.returncode}):\n{done.stderr[-2000:]}"
        )
    return folder


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0


def read_stats(folder: Path, duration: int) -> dict[str, Any]:
    """The locust CSV as figures: overall and per endpoint; the failures with their messages."""
    endpoints: dict[str, Any] = {}
    total: dict[str, Any] = {}
    with open(folder / "locust_stats.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            figures = {
                "requests": int(_number(row["Request Count"])),
                "failures": int(_number(row["Failure Count"])),
                "requests_per_s": round(_number(row["Requests/s"]), 1),
                "p50_ms": _number(row["50%"]),
                "p95_ms": _number(row["95%"]),
                "p99_ms": _number(row["99%"]),
                "mean_ms": round(_number(row["Average Response Time"]), 2),
                "max_ms": _number(row["Max Response Time"]),
            }
            if row["Name"] == "Aggregated":
                total = figures
            else:
                endpoints[row["Name"]] = figures
    failures = []
    path = folder / "locust_failures.csv"
    if path.exists():
        with open(path, encoding="utf-8", newline="") as handle:
            failures = [
                {
                    "endpoint": r["Name"],
                    "error": r["Error"],
                    "occurrences": int(_number(r["Occurrences"])),
                }
                for r in csv.DictReader(handle)
            ]
    requests = total.get("requests", 0)
    return {
        **total,
        "error_rate": round(total.get("failures", 0) / requests, 6) if requests else None,
        "endpoints": endpoints,
        "failures_seen": failures,
    }


def _written() -> dict[str, int]:
    from tongban.cases.models import Case

    submitted = Case.objects.filter(submitted_by__username=APPLICANT).exclude(state="draft")
    return {
        "cases_submitted_total": submitted.count(),
        "cases_accepted_total": submitted.filter(
            state__in=("in_review", "awaiting_decision")
        ).count(),
    }


def measure(options: dict[str, Any], log: Log) -> dict[str, Any]:
    if connection.vendor != "postgresql":
        raise CommandError(
            "tongban bench load needs PostgreSQL: set DATABASE_URL=postgres://… (the server's "
            f"workers share the database; the configured one is {connection.vendor})"
        )
    if options["workers"] < 2 or options["users"] < 1 or options["duration"] < 1:
        raise CommandError("--workers must be at least 2, --users and --duration at least 1")
    logging.getLogger("axes").setLevel(logging.WARNING)  # one line per force_login otherwise
    plan = prepare(options["cases"], log)
    before = _written()
    with tempfile.TemporaryDirectory(prefix="tongban-bench-load-") as folder_name:
        folder = Path(folder_name)
        plan_path = folder / "plan.json"
        plan_path.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
        with server(options["workers"], log) as base:
            run_locust(base, plan_path, options, folder, log)
        figures = read_stats(folder, options["duration"])
    after = _written()
    result: dict[str, Any] = {
        "benchmark": "load",
        "server": f"gunicorn, {options['workers']} sync workers, 127.0.0.1",
        "client": f"locust (FastHttpUser), {options['users']} closed-loop users",
        "duration_s": options["duration"],
        **figures,
        "cases_submitted_in_run": after["cases_submitted_total"] - before["cases_submitted_total"],
        "cases_accepted_in_run": after["cases_accepted_total"] - before["cases_accepted_total"],
    }
    if not result.get("requests"):
        raise BenchmarkFailed("locust sent no requests", result)
    if result["failures"]:
        first = result["failures_seen"][0] if result["failures_seen"] else {}
        raise BenchmarkFailed(
            f"{result['failures']} of {result['requests']} requests failed "
            f"(first: {first.get('endpoint')}: {first.get('error')})",
            result,
        )
    return result


@benchmarks.register("load")
class LoadBenchmark(Benchmark):
    summary = (
        "mixed read/write load on the real server (gunicorn, ≥ 2 workers) with locust on "
        "loopback: requests/s, p50/p99 per endpoint, error rate (PostgreSQL)"
    )
    options = {
        "users": Option(int, 8, "concurrent closed-loop locust users (3 applicants : 1 window)"),
        "duration": Option(int, 30, "seconds of load"),
        "workers": Option(int, 2, "gunicorn worker processes (at least 2)"),
        "cases": Option(int, 200, "applications filed before the run (half accepted)"),
    }

    def run(self, options: dict[str, Any], log: Log) -> dict[str, Any]:
        return measure(options, log)

    def report(self, result: dict[str, Any]) -> list[str]:
        lines = [
            f"{result['server']}; {result['client']}; {result['duration_s']} s",
            f"all: {result['requests']} requests, {result['requests_per_s']} requests/s, "
            f"p50 {result['p50_ms']:.0f} ms, p95 {result['p95_ms']:.0f} ms, "
            f"p99 {result['p99_ms']:.0f} ms; errors {result['failures']} "
            f"(rate {result['error_rate']})",
        ]
        for name, figures in result["endpoints"].items():
            lines.append(
                f"  {name}: {figures['requests']} ({figures['requests_per_s']}/s), p50 "
                f"{figures['p50_ms']:.0f} ms, p99 {figures['p99_ms']:.0f} ms, "
                f"{figures['failures']} errors"
            )
        lines.append(
            f"written in the run: {result['cases_submitted_in_run']} cases submitted, "
            f"{result['cases_accepted_in_run']} accepted"
        )
        return lines
