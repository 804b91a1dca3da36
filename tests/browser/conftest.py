"""Fixtures of the browser tests: the application served from a thread, through a normal
engine, on a committed database of its own (``browser_database_url``, ``browser_engine``: what a
browser saves is committed and would change what other tests count), without basemap, and
driven by Debian's Chromium through Playwright. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browser_helpers import record_errors, serving, sign_in_browser, signed_in_cookies
from playwright.sync_api import Browser, StorageState, sync_playwright
from playwright.sync_api import Page as BrowserPage
from sqlalchemy import Engine
from web_helpers import TEST_CONFIG

from foncier.core.db import make_engine
from foncier.web import create_app
from seed.accounts import PARTNER_EMAIL

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
VENDOR_LEAFLET = ROOT / "foncier" / "web" / "static" / "vendor" / "leaflet" / "leaflet.js"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_database_url(database_builder: Callable[[str], str]) -> str:
    """The database of the browser tests: a copy of the session database's template, apart
    from it, because what a browser saves is committed and would change what other tests
    count."""
    return database_builder("foncier_browser")


@pytest.fixture(scope="session")
def browser_engine(browser_database_url: str) -> Iterator[Engine]:
    engine = make_engine(browser_database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def live_server(browser_database_url: str) -> Iterator[str]:
    """The application on a free local port, on the browser tests' committed database."""
    if not VENDOR_LEAFLET.exists():
        pytest.fail("Leaflet is not vendored: run `npm ci && npm run build` first")
    with serving(create_app({**TEST_CONFIG, "DATABASE_URL": browser_database_url})) as url:
        yield url


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    executable = os.environ.get("FONCIER_CHROMIUM") or next(
        (path for path in CHROMIUM_CANDIDATES if Path(path).exists()), None
    )
    if executable is None:
        pytest.fail("Chromium is not installed (apt-get install chromium, or set FONCIER_CHROMIUM)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


PAGE_OPTIONS = {"viewport": {"width": 1280, "height": 900}, "locale": "fr-FR"}


@pytest.fixture
def anonymous_browser_page(chromium: Browser) -> Iterator[BrowserPage]:
    context = chromium.new_context(**PAGE_OPTIONS)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def partner_cookies(chromium: Browser, live_server: str) -> StorageState:
    """The demo partner's session, signed in once through the sign-in page."""
    return signed_in_cookies(chromium, live_server, PARTNER_EMAIL)


@pytest.fixture
def browser_page(chromium: Browser, partner_cookies: StorageState) -> Iterator[BrowserPage]:
    """A browser of its own signed in as the demo partner (reads everything public)."""
    context = chromium.new_context(**PAGE_OPTIONS, storage_state=partner_cookies)
    yield context.new_page()
    context.close()


@pytest.fixture
def console_errors(browser_page: BrowserPage) -> list[str]:
    """What the page reports as errors (failed loads, exceptions, CSP violations)."""
    errors: list[str] = []
    record_errors(browser_page, errors)
    return errors


@pytest.fixture
def screenshot() -> Callable[[BrowserPage, str], Path]:
    """Save a full-page screenshot into test-artifacts/ for a human to look at."""

    def save(page: BrowserPage, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture
def browser_errors() -> list[str]:
    """What the pages report as errors; a test expecting a refusal removes it."""
    return []


@pytest.fixture
def signed_in(
    chromium: Browser, live_server: str, browser_errors: list[str]
) -> Iterator[Callable[[str], BrowserPage]]:
    """A browser of its own for each account, signed in through the sign-in page; every page
    visited must stay free of errors (scripts, failed loads, CSP violations), except the
    refusal a test expects and removes from ``browser_errors``."""
    contexts = []

    def open_as(email: str) -> BrowserPage:
        context = chromium.new_context(
            viewport={"width": 1280, "height": 1000}, locale="fr-FR", accept_downloads=True
        )
        contexts.append(context)
        page = context.new_page()
        record_errors(page, browser_errors)
        sign_in_browser(page, live_server, email)
        return page

    yield open_as
    for context in contexts:
        context.close()
    assert browser_errors == []
