"""``tongban bench bundle`` runs in a throw-away database and reports its figures (shape only:
tests assert behaviour, benchmarks report speed)."""

from __future__ import annotations

from pathlib import Path

from tests.test_bench import only_json_object, run_bench
from tongban.bench.base import benchmarks


def test_registry_holds_bundle() -> None:
    assert "bundle" in benchmarks


def test_bundle_json(tmp_path: Path) -> None:
    done = run_bench(tmp_path, "bundle", "--json", "--repeat", "2", "--warmup", "0")
    assert done.returncode == 0, done.stderr
    result = only_json_object(done.stdout)
    assert result["benchmark"] == "bundle"
    for key in ("merge_20", "submit_6", "separate_6"):
        assert isinstance(result[key]["p95_ms"], float), key
    assert result["submit_6_queries"] > 0
    assert set(result["targets"]) == {
        "merge_20_p95_ms",
        "merge_20_met",
        "submit_6_p95_ms",
        "submit_6_met",
    }
