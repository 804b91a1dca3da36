"""Helpers of the browser tests: the application served from a thread, pages' errors, signing in
through the sign-in page, drawing on the geometry input's map."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from playwright.sync_api import Browser, StorageState
from playwright.sync_api import Page as BrowserPage
from werkzeug.serving import make_server

from seed.accounts import DEMO_PASSWORD


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """The application served from a thread on a local port the system chose: its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def record_errors(page: BrowserPage, errors: list[str]) -> None:
    """Collect in ``errors`` what the page reports: script errors, and console errors such as
    failed loads and CSP violations."""
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)


def signed_in_cookies(browser: Browser, server: str, email: str) -> StorageState:
    """The cookies of ``email`` signed in once through the sign-in page of ``server``, for
    the contexts of the tests that then start signed in."""
    context = browser.new_context()
    sign_in_browser(context.new_page(), server, email)
    cookies = context.storage_state()
    context.close()
    return cookies


def sign_in_browser(page: BrowserPage, server: str, email: str) -> None:
    """Sign in through the sign-in page, as a person would."""
    page.goto(f"{server}/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda url: "/connexion" not in url)


# --- the geometry input's map, in a browser (static/js/draw.js) ------------------------------


def wait_for_geometry_map(page: BrowserPage, field_id: str) -> None:
    """Wait until the drawing map of the geometry field ``field_id`` has its context drawn."""
    page.wait_for_function(
        "(id) => window.foncierGeometryInputs && window.foncierGeometryInputs[id]"
        " && window.foncierGeometryInputs[id].loaded",
        arg=field_id,
        timeout=15_000,
    )


def draw_on_geometry_map(
    page: BrowserPage, field_id: str, vertices: list[tuple[float, float]]
) -> None:
    """Draw a polygon with Geoman's tool as a person does: a click on each (lon, lat) vertex,
    then on the first to close it."""
    page.locator(f"#{field_id}-carte").scroll_into_view_if_needed()
    lons, lats = zip(*vertices, strict=True)
    # Close enough that Geoman's snapping (20 pixels) to the outlines nearby does not move the
    # clicked vertices; to the right, clear of the toolbar and its actions (« Annuler »...).
    page.evaluate(
        """([id, bounds]) => window.foncierGeometryInputs[id].map.fitBounds(bounds,
            {paddingTopLeft: [480, 60], paddingBottomRight: [40, 40], animate: false})""",
        [field_id, [[min(lats), min(lons)], [max(lats), max(lons)]]],
    )
    page.locator(f"#{field_id}-carte .leaflet-pm-icon-polygon").click()
    for lon, lat in [*vertices, vertices[0]]:
        x, y = page.evaluate(
            """([id, lon, lat]) => {
                const map = window.foncierGeometryInputs[id].map;
                const point = map.latLngToContainerPoint([lat, lon]);
                const box = map.getContainer().getBoundingClientRect();
                return [box.left + point.x, box.top + point.y];
            }""",
            [field_id, lon, lat],
        )
        page.mouse.click(x, y)
