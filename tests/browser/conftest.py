"""Browser-test fixtures: Debian's Chromium through Playwright, the live server, sample data.

Playwright's sync API runs an event loop in the test thread, so Django's guard against
synchronous ORM calls from async contexts would trip on the fixtures' database work; the tests
themselves stay synchronous, hence ``DJANGO_ALLOW_ASYNC_UNSAFE``. Nothing is downloaded: the
browser is the system's ``/usr/bin/chromium`` (``scripts/ensure-chromium``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
HTMX = ROOT / "build" / "vendor" / "htmx" / "htmx.min.js"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run scripts/ensure-chromium (apt-get install chromium)"
        )
    if not HTMX.exists():
        pytest.fail(f"{HTMX} is missing: run scripts/build-assets")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def new_page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A factory of pages on the live server; every context is closed after the test."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("viewport", {"width": 1280, "height": 900})
        options.setdefault("locale", "zh-CN")
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def sample_catalog(transactional_db: None, tmp_path: Path) -> str:
    """Load the real sample catalog (``tongban.demo``); fall back to the small test catalog when
    the sample cannot be imported. Returns which one was loaded: ``"sample"`` or ``"fixture"``."""
    from tongban.catalog.services import CatalogInvalid, import_catalog

    try:
        from tongban.demo.sample import catalog_paths

        paths = catalog_paths()
        if paths:
            import_catalog(paths)
            return "sample"
    except (ImportError, CatalogInvalid):
        pass
    from tests.catalog_fixtures import sample

    import_catalog(sample(tmp_path))
    return "fixture"
