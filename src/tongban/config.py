"""Settings from the environment: the one place tongban reads configuration.

Every variable read here is listed in ``docs/configuration.md``. Values are parsed and checked
once, at start-up, so a typo in a deployment fails loudly instead of behaving oddly later.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

import dj_database_url

_TRUE: Final = {"1", "true", "yes", "on"}
_FALSE: Final = {"0", "false", "no", "off", ""}


class ConfigError(RuntimeError):
    """A configuration variable is present but cannot be understood."""


def env_str(name: str, default: str = "") -> str:
    """Return the variable ``TONGBAN_*``/plain ``name`` as text, or ``default``."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r}: expected one of true/false/1/0/yes/no")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r}: expected a whole number") from exc


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_path(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    return Path(raw).expanduser().resolve() if raw else default


PREPARE_THRESHOLD: Final = 2  # executions of one statement on a connection before it is prepared
SQLITE_PRAGMAS: Final = (
    "PRAGMA busy_timeout=5000; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
)


def database_config(url: str, var_dir: Path, *, prepared: bool = True) -> dict[str, Any]:
    """Django's ``DATABASES["default"]``: PostgreSQL (or any) from ``DATABASE_URL``, else the
    embedded SQLite file under ``var_dir`` in WAL mode, so the web server and the worker can
    read while one of them writes.

    On PostgreSQL, parameters are bound on the server and a statement run twice on a connection
    is prepared (``prepared``): the case engine's statements join up to eight tables, and
    planning them each time cost several times their execution. Turn it off
    (``TONGBAN_DB_PREPARED_STATEMENTS=false``) behind a connection pooler in transaction mode
    that cannot carry prepared statements (PgBouncer before 1.21)."""
    if url:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
        if prepared and config["ENGINE"] == "django.db.backends.postgresql":
            options: dict[str, Any] = dict(config.get("OPTIONS") or {})
            options.setdefault("server_side_binding", True)
            options.setdefault("prepare_threshold", PREPARE_THRESHOLD)
            config["OPTIONS"] = options
        return config
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(var_dir / "tongban.sqlite3"),
        "OPTIONS": {"init_command": SQLITE_PRAGMAS, "transaction_mode": "IMMEDIATE"},
        # tests use a file too, so concurrent connections behave as in production (WAL, waits)
        "TEST": {"NAME": str(var_dir / "test-tongban.sqlite3")},
    }
