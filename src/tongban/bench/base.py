"""The benchmark plugin contract, the registry, and what every benchmark reports.

A benchmark is a class registered with ``@benchmarks.register("name")``: it declares its
options (name → type, default, help), says whether a run needs the throw-away database
(``uses_database``: not when it only starts other processes that make their own), builds its
data and returns a flat dict of figures; ``BenchmarkFailed`` carries the figures measured
before something could not be.
``percentiles`` turns latencies into p50/p95/p99, ``machine_info`` records where the figures
were measured (cores, CPU, load, Python, Django, database vendor and version, date), and ``Stopwatch``
times a callable repeatedly with ``time.perf_counter_ns``.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import django
from django.core.management.base import CommandError
from django.db import connection

from tongban.core.plugins import Registry

Log = Callable[[str], None]


@dataclass(frozen=True)
class Option:
    """A command-line option of a benchmark (``--items 10000``)."""

    type: type
    default: Any
    help: str


class Benchmark:
    """Subclass, set ``summary`` and ``options``, implement ``run`` and register it."""

    summary: ClassVar[str] = ""
    options: ClassVar[dict[str, Option]] = {}

    def uses_database(self, options: dict[str, Any]) -> bool:
        """Whether this run needs the command's throw-away database. A run that only starts
        worker processes (each making its own) says no, and the command creates none."""
        return True

    def run(self, options: dict[str, Any], log: Log) -> dict[str, Any]:
        """Build data, measure, and return the figures (JSON-serialisable)."""
        raise NotImplementedError

    def report(self, result: dict[str, Any]) -> list[str]:
        """Human-readable lines for ``result`` (default: one ``key: value`` per figure)."""
        return [f"{key}: {value}" for key, value in result.items() if key != "machine"]


benchmarks: Registry[type[Benchmark]] = Registry("benchmark")


class BenchmarkFailed(CommandError):
    """Part of a benchmark could not be measured (or a target check could not run);
    ``result`` holds the figures that were. ``tongban bench NAME --json`` still prints them,
    with the error, and exits non-zero."""

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result


def seeded_random(seed: int) -> random.Random:
    """A reproducible generator for benchmark data (never for anything secret)."""
    return random.Random(seed)  # noqa: S311 - synthetic data, not security


def percentiles(samples_ms: Sequence[float], prefix: str = "") -> dict[str, float]:
    """p50/p95/p99, mean and max of latencies in milliseconds, rounded to 3 decimals."""
    if not samples_ms:
        return {}
    if len(samples_ms) == 1:
        cuts = [samples_ms[0]] * 99
    else:
        cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    figures = {
        "p50_ms": cuts[49],
        "p95_ms": cuts[94],
        "p99_ms": cuts[98],
        "mean_ms": statistics.fmean(samples_ms),
        "max_ms": max(samples_ms),
    }
    return {f"{prefix}{key}": round(value, 3) for key, value in figures.items()}


class Stopwatch:
    """Collects the duration of each call in milliseconds."""

    def __init__(self) -> None:
        self.samples_ms: list[float] = []

    def time(self, fn: Callable[[], Any]) -> Any:
        started = time.perf_counter_ns()
        result = fn()
        self.samples_ms.append((time.perf_counter_ns() - started) / 1e6)
        return result


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def database_info() -> dict[str, str]:
    vendor = connection.vendor
    if vendor == "sqlite":
        import sqlite3

        version = sqlite3.sqlite_version
    else:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            row = cursor.fetchone()
        version = str(row[0]) if row else ""
    return {"db_vendor": vendor, "db_version": version}


def machine_info(*, with_database: bool = True) -> dict[str, Any]:
    """Where a figure was measured; recorded with every result. Without ``with_database``
    (no throw-away database was made) the configured database is not asked its version."""
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cores": _usable_cores(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "django": django.get_version(),
        "platform": platform.platform(),
        "load_avg_1m": _load_average(),
        **(database_info() if with_database else {"db_vendor": None, "db_version": None}),
    }


def _load_average() -> float | None:
    """The 1-minute load average when the figures were taken: shared machines are noisy."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # not available on this platform
        return None
