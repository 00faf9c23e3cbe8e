"""Shared fixtures: factories live in ``tests/factories.py``; Hypothesis profiles are set here."""

from __future__ import annotations

import os
from collections.abc import Iterator

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


@pytest.fixture(autouse=True)
def _fresh_compiled_policies() -> None:
    """Compiled policy versions are cached by id and creation time; under a frozen clock a
    rolled-back database gives the next test's version the same id and time."""
    from tongban.policies.selectors import forget_compiled_versions

    forget_compiled_versions()


@pytest.fixture(autouse=True)
def _site_language() -> Iterator[None]:
    """A request in English leaves its language active in the test's thread; every test starts
    and ends in the site language (简体中文)."""
    from django.conf import settings as django_settings
    from django.utils import translation

    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)
