"""Every kind of page, checked by axe-core in Chromium at a desktop's and a phone's width: no
serious or critical violation (the RGAA's automatable part), and nothing wider than the phone.

axe-core comes from the npm registry (a dev dependency in package.json, installed by the
README's commands); it is injected into the page under test, whose Content-Security-Policy
would refuse it, so these contexts bypass the policy (the other browser tests keep it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import sign_in_browser
from playwright.sync_api import Browser
from playwright.sync_api import Page as BrowserPage

from seed.accounts import COORDINATOR_EMAIL, DEMO_DOMAIN

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"desktop": 1366, "phone": 390}
# What the RGAA's automated checks cover: WCAG 2.1 A and AA.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
# A page of each kind, as the coordinator sees it (every menu entry, accounts included);
# "first-park" and "first-plot" are reached from the lists, as a person would.
PAGES = [
    "/",
    "/sites",
    "first-park",
    "first-plot",
    "/recherche?surface_min_ha=5&vocation=Logistique",
    "/projets",
    "/projets/nouveau",
    "/redirections",
    "/imports-exports",
    "/conventions",
    "/historique",
    "/reseau/bilans",
    "/comptes",
    "/messages",
    "/mot-de-passe",
]
# What a référent has that the coordinator has not, or sees otherwise: the inbox, the forms
# with a drawing map, the agreements' calculator and ledger.
REFERENT_PAGES = [
    "/boite",
    "/sites/nouveau",
    "/conventions/calculateur",
    "/conventions/registre",
    "first-plot",
]
METROPOLE_REFERENT = f"referent.tours-metropole-val-de-loire@{DEMO_DOMAIN}"


def signed_in_page(chromium: Browser, server: str, email: str, width: str) -> Iterator[BrowserPage]:
    if not AXE.exists():
        pytest.fail("axe-core is not installed: run `npm ci` first")
    context = chromium.new_context(
        viewport={"width": WIDTHS[width], "height": 900}, locale="fr-FR", bypass_csp=True
    )
    page = context.new_page()
    sign_in_browser(page, server, email)
    yield page
    context.close()


@pytest.fixture(scope="module", params=list(WIDTHS))
def coordinator_page(request, chromium: Browser, live_server: str) -> Iterator[BrowserPage]:
    yield from signed_in_page(chromium, live_server, COORDINATOR_EMAIL, request.param)


@pytest.fixture(scope="module", params=list(WIDTHS))
def referent_page(request, chromium: Browser, live_server: str) -> Iterator[BrowserPage]:
    yield from signed_in_page(chromium, live_server, METROPOLE_REFERENT, request.param)


def open_page(page: BrowserPage, server: str, path: str) -> None:
    if path == "first-park":
        page.goto(f"{server}/sites")
        page.locator("a[href*='_SITE-ECO_']").first.click()
    elif path == "first-plot":
        page.goto(f"{server}/sites")
        page.locator("a[href*='_SITE-ECO_']").first.click()
        page.locator("a[href*='_TERRAIN-ECO_']").first.click()
    else:
        page.goto(f"{server}{path}")
    page.wait_for_load_state("networkidle")


def blocking_violations(page: BrowserPage) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS
    )
    return [
        f"{violation['id']} ({violation['impact']}): "
        + "; ".join(node["target"][0] for node in violation["nodes"][:3])
        for violation in result["violations"]
        if violation["impact"] in BLOCKING
    ]


def assert_accessible_and_narrow(page: BrowserPage, server: str, path: str) -> None:
    open_page(page, server, path)
    assert page.url.startswith(server) and "/connexion" not in page.url
    assert blocking_violations(page) == [], path
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, path


@pytest.mark.parametrize("path", PAGES)
def test_the_coordinator_s_pages_pass_axe_and_fit_the_screen(
    coordinator_page: BrowserPage, live_server: str, path: str
):
    assert_accessible_and_narrow(coordinator_page, live_server, path)


@pytest.mark.parametrize("path", REFERENT_PAGES)
def test_a_referent_s_pages_pass_axe_and_fit_the_screen(
    referent_page: BrowserPage, live_server: str, path: str
):
    assert_accessible_and_narrow(referent_page, live_server, path)
