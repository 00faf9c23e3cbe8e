"""Shared fixtures: factories live in ``tests/factories.py``; Hypothesis profiles are set here."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=60
)
settings.register_profile("ci", parent=settings.get_profile("default"), max_examples=100)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(autouse=True)
def _fresh_search_index() -> None:
    """Rolled-back databases reuse ids; never let one test search another test's catalog."""
    from tongban.catalog.search import reset_index

    reset_index()
