"""Where the CPU of a concurrent benchmark run goes.

``CpuMeter`` reads the machine's busy time (``/proc/stat``) and the CPU time of the client
processes (``RUSAGE_CHILDREN``, counted once they are joined) before and after a run. The
clients' part is the engine's own work: Python, Django and the database driver. The rest is
what the run made the database server (and the kernel carrying its loopback traffic) do.
On a machine with nothing else running, ``cores × 1000 / database_ms`` is the most lifecycles
per second the database work alone allows, whatever the engine's Python costs; the benchmark
reports it so that a target can be judged against what the schema and its writes cost.
``statements_ceiling_per_s`` tightens that bound: sending a statement costs the client too, at
least what it costs the SQL floor (the driver and Django's cursor, with almost no Python
around them), so an engine's own statements allow no more than ``cores × 1000 /
(database_ms + statements × floor client ms per statement)`` lifecycles per second.
Machines without ``/proc/stat`` report no split rather than a guess.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

PROC_STAT = Path("/proc/stat")


def machine_busy_s() -> float | None:
    """Seconds the machine's cores have spent not idle since boot, or None where unknown."""
    try:
        first = PROC_STAT.read_text(encoding="ascii").splitlines()[0].split()
    except (OSError, IndexError):
        return None
    if not first or first[0] != "cpu":
        return None
    ticks = [int(v) for v in first[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class CpuSplit:
    """CPU milliseconds per lifecycle: the clients' and the rest of the machine's."""

    client_ms: float
    database_ms: float

    def ceiling_per_s(self, cores: int) -> float | None:
        """Lifecycles/s the database work alone would allow on ``cores`` cores."""
        return round(cores * 1000 / self.database_ms, 1) if self.database_ms > 0 else None

    def as_dict(self, cores: int) -> dict[str, float | None]:
        return {
            "client_cpu_ms_per_lifecycle": round(self.client_ms, 2),
            "database_cpu_ms_per_lifecycle": round(self.database_ms, 2),
            "database_cpu_ceiling_lifecycles_per_s": self.ceiling_per_s(cores),
        }


def statements_ceiling_per_s(
    engine: CpuSplit, engine_statements: int, floor: CpuSplit, floor_statements: int, cores: int
) -> float | None:
    """Lifecycles/s that ``engine``'s statements allow on ``cores`` cores if its Python cost
    nothing beyond sending them: its database CPU plus, per statement, the client CPU the SQL
    floor spends on one of its own (None where either count is unknown)."""
    if engine_statements < 1 or floor_statements < 1:
        return None
    cost = engine.database_ms + engine_statements * floor.client_ms / floor_statements
    return round(cores * 1000 / cost, 1) if cost > 0 else None


class CpuMeter:
    """``start()`` before forking the clients, ``stop(lifecycles)`` after joining them."""

    def __init__(self) -> None:
        self._busy: float | None = None
        self._children = 0.0

    def start(self) -> None:
        self._busy = machine_busy_s()
        self._children = children_cpu_s()

    def stop(self, lifecycles: int) -> CpuSplit | None:
        busy = machine_busy_s()
        if busy is None or self._busy is None or lifecycles < 1:
            return None
        client = children_cpu_s() - self._children
        other = max(0.0, busy - self._busy - client)
        return CpuSplit(client_ms=1000 * client / lifecycles, database_ms=1000 * other / lifecycles)
