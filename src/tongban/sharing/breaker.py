"""A circuit breaker (熔断) for a remote data source.

Closed: calls go through; each failed lookup (after its retries) counts, a success resets the
count. After ``failures`` consecutive failed lookups the breaker *opens*: for ``cooldown``
seconds no call is made and lookups answer "circuit open" at once, so an outage costs the
applicant no waiting. When the cool-down has passed the breaker is *half-open*: one trial call
goes through (others still answer "circuit open"); its success closes the breaker, its failure
opens it for another cool-down.

State is kept per process, per remote endpoint, in ``breaker_for`` (one object shared by every
connector instance that talks to the same URL). The clock is injectable for tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Final

CLOSED: Final = "closed"
OPEN: Final = "open"
HALF_OPEN: Final = "half_open"


class CircuitBreaker:
    def __init__(
        self, failures: int, cooldown: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if failures < 1 or cooldown < 0:
            raise ValueError("failures must be ≥ 1 and cooldown ≥ 0")
        self.failures = failures
        self.cooldown = cooldown
        self.clock = clock
        self._lock = threading.Lock()
        self._count = 0
        self._opened_at: float | None = None
        self._trial = False  # a half-open trial call is under way

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return CLOSED
        if self.clock() - self._opened_at >= self.cooldown:
            return HALF_OPEN
        return OPEN

    def allow(self) -> bool:
        """Whether a call may be made now (in half-open, only the first caller may)."""
        with self._lock:
            state = self._state()
            if state == CLOSED:
                return True
            if state == HALF_OPEN and not self._trial:
                self._trial = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._count = 0
            self._opened_at = None
            self._trial = False

    def record_failure(self) -> None:
        with self._lock:
            if self._trial or self._opened_at is not None:
                self._opened_at = self.clock()  # the trial failed: another cool-down
                self._trial = False
                return
            self._count += 1
            if self._count >= self.failures:
                self._opened_at = self.clock()

    def release_trial(self) -> None:
        """The trial call ended without a verdict on the remote side (e.g. a 4xx answer)."""
        with self._lock:
            self._trial = False


_breakers: dict[tuple[str, int, float], CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(endpoint: str, failures: int, cooldown: float) -> CircuitBreaker:
    """The breaker of one remote endpoint in this process (same settings → same object)."""
    key = (endpoint, failures, cooldown)
    with _breakers_lock:
        found = _breakers.get(key)
        if found is None:
            found = _breakers[key] = CircuitBreaker(failures, cooldown)
        return found


def reset_breakers() -> None:
    """Forget every breaker's state (tests; an operator after fixing a source)."""
    with _breakers_lock:
        _breakers.clear()
