"""Settings from the environment: the one place tongban reads configuration.

Every variable read here is listed in ``docs/configuration.md``. Values are parsed and checked
once, at start-up, so a typo in a deployment fails loudly instead of behaving oddly later.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

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
