"""The pages in a real Chromium: the maps draw the inventory, popups lead to the pages.

Served without basemap, on the browser tests' committed database; screenshots go to
test-artifacts/.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import Engine, text

from foncier.models.codelists import STADE_COMM_COLOURS
from foncier.web.api.views import MAX_SIMPLIFY_M

pytestmark = pytest.mark.browser

ISOPARC = "37250_SITE-ECO_00001"
MARKUP = "<b>gras</b><img src=x>"


@pytest.fixture
def park_named_with_markup(browser_engine: Engine) -> Iterator[str]:
    """Isoparc named with HTML markup, as a CNIG import could name a park, for the duration of
    a test: the live server reads committed data, so the new name is committed, then undone."""
    rename = text("UPDATE site SET site_nom = :nom WHERE site_id = :id")
    with browser_engine.begin() as connection:
        old_name = connection.scalar(
            text("SELECT site_nom FROM site WHERE site_id = :id"), {"id": ISOPARC}
        )
        connection.execute(rename, {"nom": MARKUP, "id": ISOPARC})
    try:
        yield ISOPARC
    finally:
        with browser_engine.begin() as connection:
            connection.execute(rename, {"nom": old_name, "id": ISOPARC})


def open_map(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("() => window.foncierMap && window.foncierMap.loaded", timeout=15_000)


def point_on(page, selector: str) -> tuple[float, float]:
    """A point of the map where a shape matching ``selector`` is the one a click would hit."""
    point = page.evaluate(
        """(selector) => {
            const box = document.getElementById("carte").getBoundingClientRect();
            for (let y = box.top + 80; y < box.bottom - 20; y += 10) {
                for (let x = box.left + 60; x < box.right - 20; x += 10) {
                    if (document.elementFromPoint(x, y).matches(selector)) return [x, y];
                }
            }
            return null;
        }""",
        selector,
    )
    assert point, f"no visible {selector}"
    return tuple(point)


def test_the_map_draws_every_epci_park_and_zone_with_its_legend(
    browser_engine, live_server, browser_page, console_errors, screenshot
):
    # The demo's 23 parks, and those other browser tests created before this one.
    with browser_engine.connect() as connection:
        parks = connection.execute(text("SELECT count(*) FROM site")).scalar_one()
    assert parks >= 23
    open_map(browser_page, f"{live_server}/")
    assert browser_page.locator("path.carte-epci").count() == 11
    assert browser_page.locator("path.carte-site").count() == parks
    assert browser_page.locator("path.carte-zone").count() == 1
    counts = browser_page.evaluate("() => window.foncierMap.counts")
    assert counts == {"epci": 11, "site": parks, "zone": 1, "terrain": 0}  # plots: on zoom
    fill = browser_page.eval_on_selector("path.carte-zone", "path => getComputedStyle(path).fill")
    assert "hachures-contrainte" in fill
    legend = browser_page.locator(".legende")
    expect(legend).to_be_visible()
    for stade in STADE_COMM_COLOURS:
        expect(legend).to_contain_text(stade, ignore_case=True)
    assert browser_page.locator("img.leaflet-tile").count() == 0  # no basemap configured
    screenshot(browser_page, "carte")
    assert console_errors == []


def test_clicking_a_park_opens_a_popup_that_leads_to_its_page(
    live_server, browser_page, console_errors, screenshot, browser_engine
):
    open_map(browser_page, f"{live_server}/")
    browser_page.locator(f'path.carte-site[data-id="{ISOPARC}"]').click()
    popup = browser_page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text("Isoparc")
    expect(popup).to_contain_text("Taux de vacance")
    link = popup.locator("a")
    expect(link).to_have_attribute("href", f"/sites/{ISOPARC}")
    screenshot(browser_page, "carte-popup")

    link.click()
    open_map(browser_page, browser_page.url)
    expect(browser_page.locator("h1")).to_have_text("Isoparc")
    with browser_engine.connect() as connection:
        plots = connection.scalar(
            text("SELECT count(*) FROM terrain WHERE site_id = :id"), {"id": ISOPARC}
        )
    assert browser_page.locator("path.carte-terrain").count() == plots
    screenshot(browser_page, "parc")
    assert console_errors == []


def test_names_stay_plain_text_in_tooltips_and_popups(
    live_server, browser_page, console_errors, park_named_with_markup
):
    open_map(browser_page, f"{live_server}/")
    point = point_on(browser_page, f'path.carte-site[data-id="{park_named_with_markup}"]')
    browser_page.mouse.move(*point)
    expect(browser_page.locator(".leaflet-tooltip")).to_have_text(MARKUP)
    browser_page.mouse.click(*point)
    expect(browser_page.locator(".leaflet-popup-content a").first).to_have_text(MARKUP)
    assert browser_page.locator("#carte b, #carte img").count() == 0
    assert console_errors == []


def simplification(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["simplify"][0])


def test_the_overview_map_fetches_the_zones_of_its_view_simplified_to_its_zoom(
    live_server, browser_page, console_errors
):
    zone_urls: list[str] = []

    def record(request) -> None:
        if "/api/zones" in request.url:
            zone_urls.append(request.url)

    browser_page.on("request", record)
    open_map(browser_page, f"{live_server}/")
    assert zone_urls and all("bbox=" in url and "limit=1000" in url for url in zone_urls)
    # A pixel's size on the ground in France (Web Mercator, latitude 46.6°).
    zoom = browser_page.evaluate("() => window.foncierMap.map.getZoom()")
    pixel = 40075016.686 * math.cos(math.radians(46.6)) / 256 / 2**zoom
    overview = simplification(zone_urls[-1])
    assert overview == min(MAX_SIMPLIFY_M, math.floor(pixel)) and overview > 100
    # Closer, the zone is fetched again, finer, and drawn anew.
    browser_page.evaluate(
        """() => {
            const state = window.foncierMap;
            state.layers.zone.eachLayer((zone) => state.map.fitBounds(zone.getBounds()));
        }"""
    )
    browser_page.wait_for_function(f"() => window.foncierMap.simplified.zone < {overview}")
    assert simplification(zone_urls[-1]) == browser_page.evaluate(
        "() => window.foncierMap.simplified.zone"
    )
    assert browser_page.locator("path.carte-zone").count() == 1
    assert console_errors == []


def test_zooming_on_a_park_fetches_its_plots_for_the_visible_area(
    live_server, browser_page, console_errors, screenshot
):
    open_map(browser_page, f"{live_server}/")
    with browser_page.expect_response(lambda r: "/api/terrains?" in r.url and "bbox=" in r.url):
        browser_page.evaluate(
            """(id) => {
                const state = window.foncierMap;
                state.layers.site.eachLayer((park) => {
                    if (park.feature.id === id) state.map.fitBounds(park.getBounds());
                });
            }""",
            ISOPARC,
        )
    browser_page.wait_for_function("() => window.foncierMap.counts.terrain > 0")
    drawn = browser_page.locator("path.carte-terrain")
    assert drawn.count() == browser_page.evaluate("() => window.foncierMap.counts.terrain")
    fills = set(drawn.evaluate_all("paths => paths.map((p) => p.getAttribute('fill'))"))
    assert fills <= set(STADE_COMM_COLOURS.values())
    screenshot(browser_page, "carte-terrains")
    assert console_errors == []


def test_a_flooded_plot_shows_the_hatched_zone_on_its_map(
    live_server, browser_page, console_errors, screenshot, plots_by_flood_risk
):
    terr_id = plots_by_flood_risk[True]
    open_map(browser_page, f"{live_server}/terrains/{terr_id}")
    expect(browser_page.locator("#contraintes")).to_contain_text("En zone inondable")
    assert browser_page.locator("path.carte-zone").count() == 1
    highlighted = browser_page.locator(f'path.carte-terrain[data-id="{terr_id}"]')
    expect(highlighted).to_have_attribute("stroke-width", "4")
    screenshot(browser_page, "terrain-inondable")
    # The popup pans the map to show itself, and the move fetches the zones again: the zone
    # must stay drawn and its popup open.
    updates = browser_page.evaluate("() => window.foncierMap.updates.zone")
    browser_page.mouse.click(*point_on(browser_page, "path.carte-zone"))
    browser_page.wait_for_function(f"() => window.foncierMap.updates.zone > {updates}")
    expect(browser_page.locator(".leaflet-popup-content")).to_contain_text("Tracé illustratif")
    assert browser_page.evaluate(
        """() => {
            let open = false;
            window.foncierMap.layers.zone.eachLayer((zone) => { open ||= zone.isPopupOpen(); });
            return open;
        }"""
    )
    assert console_errors == []


def test_the_list_of_parks(live_server, browser_page, console_errors, screenshot):
    browser_page.goto(f"{live_server}/sites?tri=surface")
    expect(browser_page.locator("#parcs tbody tr")).to_have_count(20)
    expect(browser_page.locator(".avis-demo")).to_be_visible()
    screenshot(browser_page, "parcs")
    assert console_errors == []
