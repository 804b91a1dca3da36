"""The search page in a real Chromium: examples, results on the map, weights re-ranking
through the API, « pourquoi pas ? » typed or clicked. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import expect

from foncier.matching import match, parse_needs
from foncier.web.matching.examples import EXAMPLES

pytestmark = pytest.mark.browser

EXAMPLE = {example.key: example for example in EXAMPLES}


def open_search(page, address: str) -> None:
    page.goto(address)
    page.wait_for_function(
        "() => window.foncierMatching && window.foncierMatching.mapReady", timeout=15_000
    )


def listed(page) -> list[str]:
    return page.locator("#classement > li").evaluate_all(
        "items => items.map((i) => i.dataset.terrId)"
    )


def list_text(page) -> str:
    """The text of the ranked list, criteria tables included, without white space."""
    return re.sub(r"\s+", "", page.locator("#classement").text_content())


def engine_ranking(rolled_back_session, browser_engine, needs: dict) -> list[str]:
    with rolled_back_session(browser_engine) as session:
        return [result.terr_id for result in match(session, parse_needs(needs)).results]


def test_the_logistics_example_ranks_plots_on_the_map_and_explains_them(
    live_server, browser_page, console_errors, screenshot
):
    browser_page.goto(f"{live_server}/recherche")
    browser_page.get_by_role("link", name="Logisticien 5 ha près de l’A10").click()
    browser_page.wait_for_function(
        "() => window.foncierMatching && window.foncierMatching.mapReady"
    )
    expect(browser_page.locator("#surface_min_ha")).to_have_value("5")
    expect(browser_page.locator("#naf")).to_have_value("52.10B")
    results = browser_page.locator("#classement > li")
    assert results.count() >= 1
    # One numbered marker per result, on the map.
    markers = browser_page.locator("#carte .marqueur-rang span")
    assert markers.count() == results.count()
    assert markers.evaluate_all("spans => spans.map((s) => s.textContent)") == [
        str(rank) for rank in range(1, results.count() + 1)
    ]
    # A result opens into its criteria, each with its French explanation.
    first = results.first
    criteria = first.locator("table.criteres")
    expect(criteria).to_be_hidden()
    first.locator("summary").click()
    expect(criteria).to_be_visible()
    expect(criteria).to_contain_text("Accès autoroutier")
    expect(criteria).to_contain_text("Échangeur autoroutier à")
    screenshot(browser_page, "recherche-logisticien")
    # A click on a marker opens its result.
    first.locator("summary").click()
    expect(criteria).to_be_hidden()
    markers.first.click()
    expect(criteria).to_be_visible()
    assert console_errors == []


def test_changing_a_weight_reranks_through_the_api(
    live_server, browser_page, console_errors, screenshot, rolled_back_session, browser_engine
):
    parameters = {"surface_min_ha": "0,3", "budget_max_eur_m2": "40"}
    open_search(browser_page, f"{live_server}/recherche?{urlencode(parameters)}")
    before = listed(browser_page)
    expected = engine_ranking(
        rolled_back_session,
        browser_engine,
        {"surface_min_ha": 0.3, "budget_max_eur_m2": 40, "weights": {"prix": 0, "autoroute": 5}},
    )
    assert expected != before, "these weights change the order"

    browser_page.locator("#poids summary").click()
    with browser_page.expect_response(lambda r: r.url.endswith("/api/match?limit=20")) as answer:
        browser_page.locator("#poids_prix").fill("0")
        browser_page.locator("#poids_autoroute").fill("5")
    assert answer.value.status == 200
    # Both weights applied: the address carries them once the new ranking is drawn.
    browser_page.wait_for_function(
        "() => new URLSearchParams(location.search).get('poids_autoroute') === '5'"
        " && new URLSearchParams(location.search).get('poids_prix') === '0'"
    )
    # Ties are broken by a hash of the needs: the script sends them as the form does (the
    # weights that differ from their default only), so that a reload shows the same order.
    sent = answer.value.request.post_data_json
    assert sent["weights"] == {"prix": 0, "autoroute": 5}
    assert engine_ranking(rolled_back_session, browser_engine, sent) == expected
    assert listed(browser_page) == expected
    # The weights are in the address: reloading it (or sending it) shows the same ranking.
    query = parse_qs(urlsplit(browser_page.url).query)
    assert query["poids_prix"] == ["0"] and query["poids_autoroute"] == ["5"]
    screenshot(browser_page, "recherche-poids")
    drawn_by_script = list_text(browser_page)
    open_search(browser_page, browser_page.url)
    assert listed(browser_page) == expected
    # The script draws the list as the server does (templates/matching/_matching.html).
    assert list_text(browser_page) == drawn_by_script
    assert console_errors == []


def test_why_not_names_the_flood_zone_typed_or_clicked_on_the_map(
    live_server, browser_page, console_errors, screenshot, plots_by_flood_risk
):
    flooded = plots_by_flood_risk[True]
    parameters = {"surface_min_ha": "0,3", "avoid_zones": "inondation"}
    open_search(browser_page, f"{live_server}/recherche?{urlencode(parameters)}")
    answer = browser_page.locator("#pourquoi-reponse")

    browser_page.locator("#pourquoi-terrain").fill(flooded)
    with browser_page.expect_response(lambda r: f"/api/match/why/{flooded}" in r.url):
        browser_page.get_by_role("button", name="Expliquer").click()
    expect(answer).to_contain_text(f"Le terrain {flooded} est écarté")
    expect(answer).to_contain_text("Zone inondable de la Loire")
    assert "/recherche?" in browser_page.url and "pourquoi" not in browser_page.url

    # The same from the map: zoomed on the plot, a click on it asks the engine.
    browser_page.locator("#pourquoi-terrain").fill("")
    answers = browser_page.evaluate("() => window.foncierMatching.whyNotAnswers")
    browser_page.evaluate(
        """(id) => {
            const state = window.foncierMap;
            return fetch(`/api/terrains/${id}`).then((r) => r.json()).then((plot) => {
                state.map.fitBounds(L.geoJSON(plot).getBounds(), { maxZoom: 16, animate: false });
            });
        }""",
        flooded,
    )
    plot = browser_page.locator(f'path.carte-terrain[data-id="{flooded}"]')
    expect(plot).to_be_attached(timeout=10_000)
    plot.click()
    browser_page.wait_for_function("(n) => window.foncierMatching.whyNotAnswers > n", arg=answers)
    expect(browser_page.locator("#pourquoi-terrain")).to_have_value(flooded)
    expect(answer).to_contain_text("Zone inondable de la Loire")
    screenshot(browser_page, "recherche-pourquoi-pas")
    assert console_errors == []


def test_the_comparison_and_the_sheet_open_from_the_results(
    live_server, browser_page, console_errors, screenshot
):
    parameters = {"surface_min_ha": "0,3", "budget_max_eur_m2": "40"}
    open_search(browser_page, f"{live_server}/recherche?{urlencode(parameters)}")
    chosen = listed(browser_page)[:3]
    for terr_id in chosen:
        item = browser_page.locator(f'#classement > li[data-terr-id="{terr_id}"]')
        item.locator("summary").click()
        item.get_by_label("Comparer").check()
    browser_page.get_by_role("button", name="Comparer les terrains cochés").click()
    expect(browser_page.locator("h1")).to_have_text("Comparaison de terrains")
    headers = browser_page.locator("#comparaison th[data-terr-id]")
    assert headers.evaluate_all("ths => ths.map((th) => th.dataset.terrId)") == chosen
    screenshot(browser_page, "recherche-comparaison")

    browser_page.locator("#comparaison th[data-terr-id]").first.get_by_role(
        "link", name="Fiche imprimable"
    ).click()
    expect(browser_page.locator("#contour path")).to_be_attached()
    browser_page.emulate_media(media="print")
    expect(browser_page.locator("header.entete")).to_be_hidden()
    expect(browser_page.locator(".ecran-seulement")).to_be_hidden()
    expect(browser_page.locator(".fiche-score")).to_be_visible()
    screenshot(browser_page, "recherche-fiche-impression")
    assert console_errors == []
