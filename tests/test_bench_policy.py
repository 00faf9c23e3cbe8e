"""``tongban bench policy`` at a tiny size: one JSON object with the figures the issue asks for,
the three engines agreeing (the benchmark fails otherwise). Shape only, never speed."""

from __future__ import annotations

from pathlib import Path

from tests.test_bench import only_json_object, run_bench
from tongban.bench.base import benchmarks


def test_registry_holds_policy() -> None:
    assert "policy" in benchmarks


def test_policy_json(tmp_path: Path) -> None:
    done = run_bench(
        tmp_path,
        "policy",
        "--json",
        "--entities", "3000",
        "--items", "20",
        "--loop-sample", "300",
        "--explanations", "30",
        "--repeat", "1",
        embedded=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = only_json_object(done.stdout)
    for key in (
        "entities",
        "payable_items",
        "wall_s",
        "openfisca_wall_s",
        "ratio_vs_openfisca",
        "python_loop_wall_s",
        "peak_rss_mb",
        "explain_p95_ms",
        "explain_cpu_p95_ms",
    ):
        assert key in result, key
    assert (result["entities"], result["payable_items"]) == (3000, 20)
    assert result["python_loop_extrapolated_from"] == 300
    assert result["eligible_pairs"] > 0
