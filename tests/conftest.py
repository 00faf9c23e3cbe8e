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


# Fixtures that reach the database through pytest-django; a test that asks for none of them
# (and has no ``django_db`` mark) gets no calendar rows.
_DATABASE_FIXTURES = {"db", "transactional_db", "live_server", "django_db_reset_sequences"}
CALENDAR_YEARS_AHEAD = 2


@pytest.fixture(autouse=True)
def _calendar_past_today(request: pytest.FixtureRequest) -> None:
    """The suite passes on any date, not only while the shipped calendar lasts.

    The working-day calendar ships the years ``chinese-calendar`` knows (up to 2026); a case
    accepted today on the real clock can reach past them, and the services then refuse, as they
    must. Tests that do not freeze the clock stand for a deployment whose administrator has
    entered the coming years: every year after the last known one up to ``today + 2`` is
    entered as test data (weekends off, no holidays; notice ``测试数据``). Tests of the horizon
    itself are marked ``shipped_calendar`` and see only the shipped years."""
    wants_database = request.node.get_closest_marker("django_db") is not None or bool(
        _DATABASE_FIXTURES & set(request.fixturenames)
    )
    if not wants_database or request.node.get_closest_marker("shipped_calendar"):
        return
    import datetime as dt

    from tongban.workdays.models import CalendarSource, CalendarYear

    request.getfixturevalue("_django_db_helper")
    real_today = dt.date.today()
    known = set(CalendarYear.objects.values_list("year", flat=True))
    if not known:  # a test that empties the calendar on purpose
        return
    wanted = range(max(known) + 1, real_today.year + CALENDAR_YEARS_AHEAD + 1)
    CalendarYear.objects.bulk_create(
        CalendarYear(
            year=year,
            source=CalendarSource.ADMINISTRATOR,
            notice="测试数据（非国务院公布的安排）",
            entered_by="tests",
        )
        for year in wanted
        if year not in known
    )
