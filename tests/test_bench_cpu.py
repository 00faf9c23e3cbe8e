"""``tongban.bench.cpu``: the CPU split of a concurrent run between the client processes and
the rest of the machine (the database server)."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from tongban.bench import cpu
from tongban.bench.cpu import CpuMeter, CpuSplit


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_a_joined_child_s_cpu_counts_as_the_clients() -> None:
    meter = CpuMeter()
    meter.start()
    child = multiprocessing.get_context("fork").Process(target=_spin, args=(0.2,))
    child.start()
    child.join()
    split = meter.stop(lifecycles=10)
    assert split is not None
    assert split.client_ms >= 0.2 * 1000 / 10 * 0.9  # 200 ms of CPU over ten lifecycles
    assert split.database_ms >= 0


def test_the_ceiling_is_the_cores_over_the_database_share() -> None:
    split = CpuSplit(client_ms=25.0, database_ms=10.0)
    assert split.ceiling_per_s(2) == 200.0
    assert split.as_dict(2) == {
        "client_cpu_ms_per_lifecycle": 25.0,
        "database_cpu_ms_per_lifecycle": 10.0,
        "database_cpu_ceiling_lifecycles_per_s": 200.0,
    }
    assert CpuSplit(client_ms=1.0, database_ms=0.0).ceiling_per_s(2) is None


def test_the_statements_ceiling_adds_the_floor_s_client_cost_per_statement() -> None:
    engine = CpuSplit(client_ms=20.0, database_ms=6.0)
    floor = CpuSplit(client_ms=5.0, database_ms=4.0)  # 50 statements: 0.1 ms of client each
    # 6 ms of database + 40 statements × 0.1 ms = 10 ms per lifecycle: 200/s on two cores
    assert cpu.statements_ceiling_per_s(engine, 40, floor, 50, 2) == 200.0
    assert cpu.statements_ceiling_per_s(engine, 80, floor, 50, 2) == round(2000 / 14, 1)
    # the bound is tighter than the database share alone, never looser
    assert cpu.statements_ceiling_per_s(engine, 40, floor, 50, 2) < engine.ceiling_per_s(2)
    assert cpu.statements_ceiling_per_s(engine, 0, floor, 50, 2) is None
    assert cpu.statements_ceiling_per_s(engine, 40, floor, 0, 2) is None


def test_no_proc_stat_means_no_split(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cpu, "PROC_STAT", tmp_path / "missing")
    meter = CpuMeter()
    meter.start()
    assert meter.stop(lifecycles=5) is None


def test_busy_time_leaves_out_idle_and_iowait(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq, in ticks
    stat.write_text("cpu  300 0 100 5000 200 0 0\ncpu0 1 2 3\n", encoding="ascii")
    monkeypatch.setattr(cpu, "PROC_STAT", stat)
    monkeypatch.setattr(cpu.os, "sysconf", lambda name: 100)
    assert cpu.machine_busy_s() == 4.0
