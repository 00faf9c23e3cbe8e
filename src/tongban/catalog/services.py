"""Catalog writes: validate, import and export catalog-as-code (being written)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def import_catalog(paths: Sequence[Path]) -> Any:  # pragma: no cover - replaced shortly
    raise NotImplementedError
