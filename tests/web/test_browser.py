"""The pages in a real Chromium: the maps draw the inventory, popups lead to the pages.

Served without basemap, on the committed session database; screenshots go to test-artifacts/.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from foncier.codelists import STADE_COMM_COLOURS

pytestmark = pytest.mark.browser

ISOPARC = "37250_SITE-ECO_00001"


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
    live_server, browser_page, console_errors, screenshot
):
    open_map(browser_page, f"{live_server}/")
    assert browser_page.locator("path.carte-epci").count() == 11
    assert browser_page.locator("path.carte-site").count() == 23
    assert browser_page.locator("path.carte-zone").count() == 1
    counts = browser_page.evaluate("() => window.foncierMap.counts")
    assert counts == {"epci": 11, "site": 23, "zone": 1, "terrain": 0}  # plots wait for a zoom
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
    live_server, browser_page, console_errors, screenshot, engine
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
    with engine.connect() as connection:
        plots = connection.scalar(
            text("SELECT count(*) FROM terrain WHERE site_id = :id"), {"id": ISOPARC}
        )
    assert browser_page.locator("path.carte-terrain").count() == plots
    screenshot(browser_page, "parc")
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
