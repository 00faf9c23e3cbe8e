"""Deployment facts: the database the suite runs on, the published catalog schema, the config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tongban.catalog.document import json_schema
from tongban.config import ConfigError, database_config, env_bool, env_int, env_list

ROOT = Path(__file__).resolve().parent.parent


def test_suite_runs_on_the_database_it_was_asked_for() -> None:
    url = os.environ.get("DATABASE_URL", "")
    expected = "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
    assert connection.vendor == expected


def test_embedded_database_is_sqlite_in_wal_mode(tmp_path: Path, django_db_blocker: Any) -> None:
    """The default database (no DATABASE_URL) opens a real SQLite file in WAL mode."""
    from django.db.backends.sqlite3.base import DatabaseWrapper

    config = database_config("", tmp_path)
    assert config["NAME"] == str(tmp_path / "tongban.sqlite3")
    wrapper = DatabaseWrapper(
        {
            **config,
            "TIME_ZONE": None,
            "CONN_HEALTH_CHECKS": False,
            "CONN_MAX_AGE": 0,
            "AUTOCOMMIT": True,
            "ATOMIC_REQUESTS": False,
            "USER": "",
            "PASSWORD": "",
            "HOST": "",
            "PORT": "",
            "TEST": {},
        }
    )
    try:
        with django_db_blocker.unblock(), wrapper.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
            cursor.execute("PRAGMA busy_timeout")
            assert cursor.fetchone()[0] == 5000
    finally:
        wrapper.close()


def test_database_url_selects_postgresql() -> None:
    config = database_config("postgres://tb:secret@db.example:5433/tongban", Path("/unused"))
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.example", 5433, "tongban")
    assert config["OPTIONS"]["server_side_binding"] is True
    assert config["OPTIONS"]["prepare_threshold"] == 2


def test_prepared_statements_can_be_turned_off_for_a_pooler() -> None:
    config = database_config("postgres://tb@db.example/tongban", Path("/unused"), prepared=False)
    assert "server_side_binding" not in config.get("OPTIONS", {})


@pytest.mark.django_db
def test_a_repeated_statement_is_prepared_on_postgresql() -> None:
    with connection.cursor() as cursor:
        for _ in range(3):
            cursor.execute("SELECT CAST(%s AS integer) + 1", [41])
            assert cursor.fetchone()[0] == 42
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                ["SELECT CAST($1 AS integer) + 1%"],
            )
            assert cursor.fetchone()[0] == 1
        else:  # the embedded database has nothing to prepare on a server
            assert "server_side_binding" not in connection.settings_dict["OPTIONS"]


def test_published_catalog_schema_is_current() -> None:
    published = json.loads((ROOT / "docs" / "catalog.schema.json").read_text(encoding="utf-8"))
    assert published == json_schema(), (
        "run: tongban catalog schema --output docs/catalog.schema.json"
    )


def test_every_setting_read_is_documented() -> None:
    import re

    source = (ROOT / "src" / "tongban" / "settings.py").read_text(encoding="utf-8")
    names = set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', source))
    documented = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = sorted(n for n in names if f"`{n}`" not in documented)
    assert not missing, f"undocumented settings: {missing}"


def test_config_helpers_reject_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ConfigError, match="X_FLAG"):
        env_bool("X_FLAG")
    monkeypatch.setenv("X_NUM", "ten")
    with pytest.raises(ConfigError, match="X_NUM"):
        env_int("X_NUM", 1)
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env_list("X_LIST") == ["a", "b", "c"]


@pytest.mark.parametrize("years", ["0", "-3"])
def test_a_commitment_bar_shorter_than_a_year_fails_at_start_up(years: str) -> None:
    env = {**os.environ, "TONGBAN_TESTING": "1", "TONGBAN_COMMITMENT_BAR_YEARS": years}
    result = subprocess.run(
        [sys.executable, "-c", "import tongban.settings"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    last = result.stderr.splitlines()[-1]
    assert "ConfigError" in last
    assert f"TONGBAN_COMMITMENT_BAR_YEARS={years}" in last
    assert "at least 1" in last
    env["TONGBAN_COMMITMENT_BAR_YEARS"] = "1"
    accepted = subprocess.run(
        [sys.executable, "-c", "import tongban.settings"], env=env, check=False
    )
    assert accepted.returncode == 0
