"""Fixtures of the web adapter's tests.

Page and API tests run the application on the test's rolled-back transaction (SESSION_FACTORY).
Browser tests serve it from a thread, through a normal engine, on a committed database of
their own (``browser_database_url``, ``browser_engine``), and drive Debian's Chromium with
Playwright; they run without basemap.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, sync_playwright
from playwright.sync_api import Page as BrowserPage
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
from web_helpers import (
    TEST_CONFIG,
    Page,
    page_of,
    record_errors,
    serving,
    sign_in,
    sign_in_browser,
)

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
def plots_by_flood_risk(engine: Engine) -> dict[bool, str]:
    """The first plot (by id) in the demo's flood zone (True) and the first outside any zone."""
    in_a_zone = (
        "EXISTS (SELECT 1 FROM constraint_zone z WHERE z.zone_type = 'inondation' "
        "AND ST_Intersects(t.terr_geomsurf, z.geom))"
    )
    with engine.connect() as connection:
        return {
            flooded: connection.execute(
                text(f"SELECT t.terr_id FROM terrain t WHERE {test} ORDER BY t.terr_id LIMIT 1")
            ).scalar_one()
            for flooded, test in ((True, in_a_zone), (False, f"NOT {in_a_zone}"))
        }


@pytest.fixture
def app(session_factory: sessionmaker[Session]) -> Flask:
    return create_app({**TEST_CONFIG, "TESTING": True, "SESSION_FACTORY": session_factory})


@pytest.fixture
def anonymous_client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def client_for(app: Flask, session: Session) -> Callable[[str], FlaskClient]:
    """A new client signed in as the account ``email`` (e.g. a demo referent)."""
    return lambda email: sign_in(app.test_client(), session, email)


@pytest.fixture
def client(client_for: Callable[[str], FlaskClient]) -> FlaskClient:
    """Signed in as the demo partner: reads everything public, writes nothing."""
    return client_for(PARTNER_EMAIL)


@pytest.fixture
def get_page(client: FlaskClient) -> Callable[..., Page]:
    """GET a URL from the test's application, or from ``through`` another client."""

    def get(url: str, through: FlaskClient | None = None) -> Page:
        return page_of((through or client).get(url))

    return get


# --- browser tests ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_database_url(database_builder: Callable[[str], str]) -> str:
    """The database of the browser tests: built like the session database, but apart from it,
    because what a browser saves is committed and would change what other tests count."""
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


@pytest.fixture
def anonymous_browser_page(chromium: Browser) -> Iterator[BrowserPage]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    yield context.new_page()
    context.close()


@pytest.fixture
def browser_page(anonymous_browser_page: BrowserPage, live_server: str) -> BrowserPage:
    """A browser signed in as the demo partner (reads everything public)."""
    sign_in_browser(anonymous_browser_page, live_server, PARTNER_EMAIL)
    return anonymous_browser_page


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
