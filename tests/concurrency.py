"""Running calls at the same moment on separate database connections (one thread each), for the
tests of row locks on PostgreSQL and the write lock on SQLite."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def at_once(calls: list[Callable[[], Any]], *, expected: type[Exception]) -> list[Any]:
    """Start every call together; return each result, or the ``expected`` error it raised."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = []

    def run(call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            outcomes.append(call())
        except expected as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes
