"""Browser-test fixtures: Debian's Chromium driven by Playwright.

Chromium comes from Debian (``apt-get install -y chromium``) and the driver from
PyPI (``pip install playwright``); ``playwright install`` is never run (it would
download its own browser build, which this project's machines cannot fetch).
A missing browser or driver makes the tests FAIL, never skip: a green run must
mean the pages were really driven.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import DATABASES
from tests.helpers.browser import LiveServer

CHROMIUM = os.environ.get("GUANJIA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Everything under tests/browser needs the browser, marked or not, so
    # ``-m "not browser"`` leaves it all out.
    here = Path(__file__).parent
    # What a browser sees does not depend on the database: the web and scenario tests run every
    # page and step on both; the browser tests run on the first listed database only (SQLite
    # by default), which keeps the full run within its time. GUANJIA_BROWSER_DATABASES widens it.
    wanted = set(os.environ.get("GUANJIA_BROWSER_DATABASES", DATABASES[0]).split(","))
    kept, dropped = [], []
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            db_param = getattr(item, "callspec", None) and item.callspec.params.get("database")
            if db_param is not None and db_param not in wanted:
                dropped.append(item)
                continue
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - environment problem
        pytest.fail(
            f"Python package 'playwright' is not installed ({exc}); "
            "run: pip install playwright  (do NOT run 'playwright install')",
            pytrace=False,
        )
    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()


@pytest.fixture(scope="session")
def browser(playwright_driver: Any) -> Iterator[Any]:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}; install Debian's package: "
            "apt-get update && apt-get install -y chromium "
            "(or point GUANJIA_CHROMIUM at a Chromium binary)",
            pytrace=False,
        )
    try:
        b = playwright_driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
    except Exception as exc:
        pytest.fail(f"Chromium at {CHROMIUM} did not start: {exc}", pytrace=False)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page in its own context.

    ``page.console_errors`` collects console errors and uncaught page errors;
    ``page.external_requests`` collects requests to anything but loopback,
    which are aborted (bundles must not reach a CDN).
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.console_errors = []
    pg.external_requests = []
    pg.on(
        "console",
        lambda msg: pg.console_errors.append(msg.text) if msg.type == "error" else None,
    )
    pg.on("pageerror", lambda err: pg.console_errors.append(str(err)))

    def _route(route: Any) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:")):
            route.continue_()
        else:
            pg.external_requests.append(url)
            route.abort()

    context.route("**/*", _route)
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshots_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def live(app: Flask) -> Iterator[LiveServer]:
    """The test's ``app`` served on a local port for the browser."""
    server = LiveServer(app)
    yield server
    server.stop()
