"""``tongban bench``: the command lists benchmarks, runs one in a throw-away database and prints
exactly one JSON object with ``--json``. These tests use small sizes and assert the shape of the
output, never the figures (benchmarks report speed; tests assert behaviour).

The command runs in a subprocess because it creates and drops its own database, which must not
mix with the test database pytest-django manages.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tongban.bench.base import Benchmark, BenchmarkFailed, Option, benchmarks, percentiles
from tongban.bench.catalog_data import max_items


def run_bench(
    tmp_path: Path, *args: str, embedded: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run ``tongban bench`` in a subprocess; ``embedded`` forces the default SQLite set-up."""
    env = {**os.environ, "TONGBAN_TESTING": "1", "TONGBAN_VAR_DIR": str(tmp_path / "var")}
    if embedded:
        env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "tongban.cli", "bench", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def only_json_object(stdout: str) -> dict[str, Any]:
    decoder = json.JSONDecoder()
    text = stdout.strip()
    value, end = decoder.raw_decode(text)
    assert text[end:].strip() == "", "stdout must hold exactly one JSON object"
    assert isinstance(value, dict)
    return value


def test_registry_holds_search_and_guide() -> None:
    assert {"search", "guide"} <= set(benchmarks)


def test_percentiles() -> None:
    figures = percentiles([float(n) for n in range(1, 101)])
    assert figures["p50_ms"] == 50.5
    assert figures["p95_ms"] == 95.05
    assert figures["p99_ms"] == 99.01
    assert figures["max_ms"] == 100.0


def test_percentiles_of_one_sample_and_of_none() -> None:
    assert percentiles([2.0], prefix="api_")["api_p95_ms"] == 2.0
    assert percentiles([]) == {}


def test_generator_can_make_ten_thousand_distinct_items() -> None:
    assert max_items() >= 10_000


def test_list(tmp_path: Path) -> None:
    done = run_bench(tmp_path, "--list")
    assert done.returncode == 0, done.stderr
    names = [line.split(":")[0] for line in done.stdout.splitlines() if not line.startswith(" ")]
    assert {"search", "guide"} <= set(names)
    assert "--answers" in done.stdout


def test_unknown_benchmark_is_an_error(tmp_path: Path) -> None:
    done = run_bench(tmp_path, "nonexistent")
    assert done.returncode != 0
    assert "unknown benchmark plugin 'nonexistent'" in done.stderr


def test_guide_json(tmp_path: Path) -> None:
    done = run_bench(tmp_path, "guide", "--json", "--answers", "50")
    assert done.returncode == 0, done.stderr
    result = only_json_object(done.stdout)
    assert result["benchmark"] == "guide"
    assert result["answers"] == 50
    assert (result["questions"], result["materials"], result["fields"]) == (10, 30, 20)
    for key in ("p50_ms", "p95_ms", "p99_ms", "api_p50_ms", "api_p95_ms"):
        assert isinstance(result[key], float), key
    machine = result["machine"]
    assert machine["cores"] >= 1
    assert machine["python"].startswith("3.")
    assert machine["db_vendor"] in {"sqlite", "postgresql"}
    assert machine["date"][:2] == "20"


def test_search_json(tmp_path: Path) -> None:
    done = run_bench(tmp_path, "search", "--json", "--items", "300", "--queries", "40")
    assert done.returncode == 0, done.stderr
    result = only_json_object(done.stdout)
    assert result["benchmark"] == "search"
    assert result["items"] == 300
    assert result["queries"] == 40
    for key in ("p50_ms", "p95_ms", "p99_ms", "direct_p50_ms", "direct_p95_ms", "index_build_s"):
        assert isinstance(result[key], float), key
    assert result["through_api"] is True
    assert result["found_share"]["exact"] == 1.0


def test_human_output(tmp_path: Path) -> None:
    done = run_bench(tmp_path, "guide", "--answers", "20")
    assert done.returncode == 0, done.stderr
    assert "parse + evaluate: p50" in done.stdout
    assert "machine:" in done.stdout
    assert "throw-away" in done.stderr


def test_the_configured_database_is_left_alone(tmp_path: Path) -> None:
    real = tmp_path / "var" / "tongban.sqlite3"
    done = run_bench(tmp_path, "guide", "--json", "--answers", "10", embedded=True)
    assert done.returncode == 0, done.stderr
    if real.exists():
        with sqlite3.connect(real) as db:
            tables = db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
        assert tables == []


def test_registry_holds_cases() -> None:
    assert "cases" in benchmarks


def test_cases_postgres_url_prefers_the_option_then_a_postgresql_database_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tongban.bench.cases import DEFAULT_POSTGRES_URL, postgres_url

    monkeypatch.setenv("DATABASE_URL", "postgres://tb@db.example:5433/tongban")
    assert postgres_url("postgres://other@127.0.0.1/x") == "postgres://other@127.0.0.1/x"
    assert postgres_url("") == "postgres://tb@db.example:5433/tongban"
    monkeypatch.delenv("DATABASE_URL")
    assert postgres_url("") == DEFAULT_POSTGRES_URL


def test_cases_json_measures_both_databases_and_spiffworkflow(tmp_path: Path) -> None:
    """One invocation: SQLite and PostgreSQL (this machine's server), each with SpiffWorkflow."""
    done = run_bench(
        tmp_path, "cases", "--json", "--lifecycles", "6", "--warmup", "1", "--clients", "2"
    )
    assert done.returncode == 0, done.stderr
    result = only_json_object(done.stdout)
    assert result["benchmark"] == "cases"
    assert result["lifecycles"] == 6
    for database in ("sqlite", "postgresql"):
        figures = result[database]
        assert "error" not in figures, figures
        assert figures["lifecycles"] == 6
        assert figures["lifecycles_per_s"] > 0
        assert figures["steps_per_lifecycle"] == 9
        assert figures["queries_per_lifecycle"] > 0
        assert set(figures["steps"]) == {
            "create_draft",
            "submit",
            "accept",
            "approve_task",
            "decide",
            "deliver",
            "close",
        }
        for key in ("step_p50_ms", "step_p95_ms", "lifecycle_p50_ms"):
            assert figures[key] > 0, key
        spiff = figures["spiffworkflow"]
        assert spiff["database"] == database
        assert spiff["lifecycles"] == 6
        assert spiff["lifecycles_per_s"] > 0
        assert spiff["reload"]["lifecycles_per_s"] > 0
        assert spiff["state_bytes_p50"] > 0
        assert figures["ratio_vs_spiffworkflow"] > 0
        assert figures["machine"]["db_vendor"] == database
        floor = figures["sql_floor"]  # the same lifecycle in hand-written SQL, same run
        assert floor["lifecycles"] == 6
        assert floor["steps_per_lifecycle"] == 9
        assert floor["queries_per_lifecycle"] > 9  # nine transactions, each several statements
        assert floor["lifecycles_per_s"] > 0
        assert figures["share_of_sql_floor"] > 0
    # SQLite has one writer at a time: one client; PostgreSQL: two processes at once, both engines
    assert result["sqlite"]["concurrent"] == {"clients": 1}
    concurrent = result["postgresql"]["concurrent"]
    assert (concurrent["clients"], concurrent["lifecycles_per_client"]) == (2, 3)
    assert concurrent["tongban_lifecycles_per_s"] > 0
    assert concurrent["spiffworkflow_lifecycles_per_s"] > 0
    assert concurrent["sql_floor_lifecycles_per_s"] > 0
    # where the CPU went: the clients and the database server, per lifecycle, per engine
    assert set(concurrent["cpu"]) == {"tongban", "spiffworkflow", "sql_floor"}
    for split in concurrent["cpu"].values():
        assert split["client_cpu_ms_per_lifecycle"] > 0
        assert split["database_cpu_ms_per_lifecycle"] >= 0
    tongban_cpu = concurrent["cpu"]["tongban"]
    assert (
        result["targets"]["tongban_database_cpu_ceiling_lifecycles_per_s"]
        == tongban_cpu["database_cpu_ceiling_lifecycles_per_s"]
    )
    # sending tongban's statements at the floor's client cost each: a bound below the other
    bound = tongban_cpu["statements_ceiling_lifecycles_per_s"]
    assert bound is not None
    assert bound < tongban_cpu["database_cpu_ceiling_lifecycles_per_s"]
    assert result["targets"]["tongban_statements_ceiling_lifecycles_per_s"] == bound
    assert result["targets"]["postgresql_lifecycles_per_s_reachable_with_tongban_statements"] is (
        bound >= 200
    )
    assert result["sql_floor"]["lifecycles_per_s"] == concurrent["sql_floor_lifecycles_per_s"]
    assert result["postgresql"]["lifecycles_per_s"] == concurrent["tongban_lifecycles_per_s"]
    assert result["postgresql"]["single_client_lifecycles_per_s"] > 0
    assert (
        result["spiffworkflow"]["lifecycles_per_s"] == concurrent["spiffworkflow_lifecycles_per_s"]
    )
    assert result["spiffworkflow"]["single_client_lifecycles_per_s"] > 0
    assert result["spiffworkflow"]["database"] == "postgresql"
    assert result["ratio_vs_spiffworkflow"] == result["postgresql"]["ratio_vs_spiffworkflow"]
    assert result["ratio_vs_spiffworkflow"] > 0
    assert set(result["targets"]) >= {
        "postgresql_lifecycles_per_s_met",
        "ratio_vs_spiffworkflow_met",
        "sql_floor_lifecycles_per_s",
        "postgresql_lifecycles_per_s_reachable",
        "ratio_vs_spiffworkflow_reachable",
    }
    assert result["machine"]["cores"] >= 1


def test_cases_fails_loudly_when_postgresql_is_unreachable(tmp_path: Path) -> None:
    done = run_bench(
        tmp_path,
        "cases",
        "--json",
        "--lifecycles",
        "2",
        "--postgres-url",
        "postgres://postgres@127.0.0.1:1/postgres",
        embedded=True,
    )
    assert done.returncode != 0
    result = only_json_object(done.stdout)  # the partial figures and the error, still JSON
    assert "not reachable" in result["error"]
    assert "not reachable" in result["postgresql"]["error"]
    assert "PostgreSQL at postgres://postgres@127.0.0.1:1/postgres is not reachable" in done.stderr


# --- the harness: failures under --json, and no database for a run that does not use one ------


class _Failing(Benchmark):
    summary = "fails after measuring half"
    options = {"size": Option(int, 3, "how many")}

    def uses_database(self, options: dict[str, Any]) -> bool:
        return False

    def run(self, options: dict[str, Any], log: Any) -> dict[str, Any]:
        raise BenchmarkFailed("the second half could not be measured", {"first_half": 1.5})


class _Crashing(_Failing):
    def run(self, options: dict[str, Any], log: Any) -> dict[str, Any]:
        raise RuntimeError("boom\nsecond line")


class _Spawner(_Failing):
    def run(self, options: dict[str, Any], log: Any) -> dict[str, Any]:
        return {"benchmark": "spawner", "size": options["size"]}


@pytest.fixture
def fake_benchmarks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three benchmarks that need no database; making one would fail the test."""
    from tongban.bench.management.commands import bench as command

    for name, cls in (("failing", _Failing), ("crashing", _Crashing), ("spawner", _Spawner)):
        monkeypatch.setitem(benchmarks._entries, name, cls)

    def no_database(log: Any) -> Any:
        raise AssertionError("a throw-away database was made for a run that uses none")

    monkeypatch.setattr(command, "throwaway_database", no_database)


def call_bench(*args: str) -> tuple[str, str, Exception | None]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("bench", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


def test_a_failure_with_json_still_prints_one_object_with_the_partial_figures(
    fake_benchmarks: None,
) -> None:
    stdout, _stderr, error = call_bench("failing", "--json", "--size", "5")
    assert error is not None  # non-zero exit
    assert "the second half could not be measured" in str(error)
    result = only_json_object(stdout)
    assert result["first_half"] == 1.5
    assert result["error"] == "the second half could not be measured"
    assert result["error_type"] == "BenchmarkFailed"
    assert result["options"] == {"size": 5}
    assert result["machine"]["db_vendor"] is None
    assert result["machine"]["cores"] >= 1


def test_any_error_with_json_prints_an_object_with_the_error(fake_benchmarks: None) -> None:
    stdout, _stderr, error = call_bench("crashing", "--json")
    assert error is not None
    result = only_json_object(stdout)
    assert result == {**result, "benchmark": "crashing", "error": "boom"}
    assert result["error_type"] == "RuntimeError"


def test_without_json_the_error_is_raised_as_it_is(fake_benchmarks: None) -> None:
    with pytest.raises(BenchmarkFailed):
        call_command("bench", "failing", stdout=io.StringIO(), stderr=io.StringIO())


def test_a_run_that_uses_no_database_gets_none(fake_benchmarks: None) -> None:
    stdout, stderr, error = call_bench("spawner", "--json", "--size", "2")
    assert error is None, stderr
    result = only_json_object(stdout)
    assert result["size"] == 2
    assert result["machine"]["db_vendor"] is None
    assert "throw-away" not in stderr
    human, _stderr, error = call_bench("spawner")
    assert error is None
    assert "machine:" in human


def test_benchmarks_use_the_database_by_default() -> None:
    assert Benchmark().uses_database({}) is True


# --- queue and load ---------------------------------------------------------------------------


def test_registry_holds_queue_and_load() -> None:
    assert {"queue", "load"} <= set(benchmarks)


def test_queue_json(tmp_path: Path) -> None:
    """A small run on the suite's database: every scenario answered, pages came back full."""
    done = run_bench(tmp_path, "queue", "--json", "--cases", "3000", "--rounds", "1")
    assert done.returncode == 0, done.stderr
    result = only_json_object(done.stdout)
    assert result["benchmark"] == "queue"
    assert result["cases"] == 3000
    assert result["tasks"] > 0
    assert result["requests"] >= 16 * 2  # each scenario: first page and a deep page at least
    for key in ("p50_ms", "p95_ms", "p99_ms"):
        assert result[key] > 0, key
    assert set(result["pages"]) >= {"first", "deep"}
    assert len(result["scenarios"]) == 16
    for scenario in result["scenarios"]:
        assert scenario["statements_per_request"] > 0, scenario
    assert sum(s["rows_first_page"] for s in result["scenarios"]) > 0
    assert result["floor"]["requests"] == 6
    assert result["targets"]["applies"] is False  # 3,000 cases, not a million


def test_queue_data_is_spread_over_states_divisions_and_tasks(db: None) -> None:
    from django.utils import timezone

    from tongban.bench import queue_data
    from tongban.cases.models import Case, CaseTask, TaskState

    world = queue_data.build_world(lambda _m: None)
    counts = queue_data.fill(world, 2000, timezone.localdate(), lambda _m: None)
    assert counts["cases"] == Case.objects.count() == 2000
    assert counts["tasks"] == CaseTask.objects.count()
    states = set(Case.objects.values_list("state", flat=True))
    assert {"submitted", "in_review", "awaiting_decision", "closed"} <= states
    assert Case.objects.values("division").distinct().count() == 7
    assert CaseTask.objects.filter(state=TaskState.OPEN).exists()
    numbers = list(Case.objects.exclude(number=None).values_list("number", flat=True))
    assert len(numbers) == len(set(numbers))
    # the ids go on after the bulk rows
    assert (
        Case.objects.create(
            item_version_id=world.versions[0][0],
            item_code="X",
            item_name="X",
            division_id=world.division_ids["330100"],
            department=next(iter(world.departments.values())),
            submitted_by_id=world.submitter_id,
        ).pk
        > 2000
    )


def test_load_needs_postgresql(tmp_path: Path) -> None:
    done = run_bench(tmp_path, "load", "--json", "--duration", "1", embedded=True)
    assert done.returncode != 0
    assert "needs PostgreSQL" in only_json_object(done.stdout)["error"]


def test_load_json_against_the_real_server(tmp_path: Path) -> None:
    """gunicorn with two workers, locust for a few seconds, no errors, the server stopped."""
    env_url = os.environ.get("DATABASE_URL", "")
    url = (
        env_url if env_url.startswith("postgres") else "postgres://postgres@127.0.0.1:5432/postgres"
    )
    env = {**os.environ, "TONGBAN_TESTING": "1", "TONGBAN_VAR_DIR": str(tmp_path / "var")}
    env["DATABASE_URL"] = url
    command = [sys.executable, "-m", "tongban.cli", "bench", "load", "--json", "--duration", "4"]
    done = subprocess.run(
        [*command, "--users", "2", "--cases", "4"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = only_json_object(done.stdout)
    assert result["benchmark"] == "load"
    assert result["requests"] > 0
    assert result["failures"] == 0
    assert result["error_rate"] == 0
    assert "GET /queues/intake" in result["endpoints"] or "GET /items/search" in result["endpoints"]
    assert result["requests_per_s"] > 0
    assert "gunicorn stopped (exit code 0)" in done.stderr
