"""``tongban bench supervision``: builds its sample data in a throw-away database and prints one
JSON object with the overview's latency and query count per viewer (shape only, never the
figures)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tongban.bench.base import benchmarks


def test_registered() -> None:
    assert "supervision" in benchmarks


def test_supervision_json(tmp_path: Path) -> None:
    env = {**os.environ, "TONGBAN_TESTING": "1", "TONGBAN_VAR_DIR": str(tmp_path / "var")}
    command = ["bench", "supervision", "--json", "--cases", "300", "--rounds", "2"]
    done = subprocess.run(
        [sys.executable, "-m", "tongban.cli", *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["benchmark"] == "supervision"
    assert result["cases"] == 300
    assert result["open_cases"] > 0
    for viewer in ("city_supervisor", "district_supervisor", "head"):
        assert result[f"{viewer}_p50_ms"] > 0
        assert 1 <= result[f"{viewer}_queries"] <= 16
    assert result["city_supervisor_departments"] == 16
    assert result["head_departments"] == 1
    assert result["city_supervisor_one_department_departments"] == 1
    assert "machine" in result
