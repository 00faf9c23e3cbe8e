"""Per-step timing of a benchmark lifecycle: durations, and SQL statements when counting.

``timed_step(times, "accept")`` around one step adds its duration in ms to ``times``; when
``times.queries`` is a dict, it counts the statements Django sends instead (one untimed
lifecycle per engine).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection
from django.test.utils import CaptureQueriesContext


@dataclass
class StepTimes:
    """Per-step durations (ms) and, when counting, per-step query counts."""

    samples_ms: dict[str, list[float]] = field(default_factory=dict)
    queries: dict[str, int] | None = None
    calls: dict[str, int] = field(default_factory=dict)

    def add(self, step: str, ms: float) -> None:
        self.samples_ms.setdefault(step, []).append(ms)

    def clear(self) -> None:
        self.samples_ms.clear()

    def all_ms(self) -> list[float]:
        return [ms for samples in self.samples_ms.values() for ms in samples]

    def queries_per_call(self) -> dict[str, float]:
        return {
            step: round(count / self.calls[step], 1) for step, count in (self.queries or {}).items()
        }


@contextmanager
def timed_step(times: StepTimes, step: str) -> Iterator[None]:
    if times.queries is None:
        started = time.perf_counter_ns()
        yield
        times.add(step, (time.perf_counter_ns() - started) / 1e6)
        return
    with CaptureQueriesContext(connection) as captured:
        yield
    times.queries[step] = times.queries.get(step, 0) + len(captured.captured_queries)
    times.calls[step] = times.calls.get(step, 0) + 1
