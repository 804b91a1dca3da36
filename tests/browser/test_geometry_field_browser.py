"""The geometry field's drawing script in Chromium (static/js/draw.js), on a test-only form page
(geometry_pages.py): draw, paste, load a file, build from cadastral references."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import shapely
from browser_helpers import (
    draw_on_geometry_map,
    record_errors,
    serving,
    signed_in_cookies,
    wait_for_geometry_map,
)
from geometry_pages import FIXTURE, PLOT, REFERENT, add_test_pages
from playwright.sync_api import Browser, StorageState, expect
from playwright.sync_api import Page as BrowserPage
from shapely.geometry import Polygon, mapping
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session
from web_helpers import TEST_CONFIG, in_degrees

from foncier.inventory.cadastre import import_cadastre
from foncier.models import CadastralParcel
from foncier.web import create_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def drawing_server(browser_database_url: str, browser_engine: Engine) -> Iterator[str]:
    """The application with the test pages, on the browser tests' committed database, where
    the fixture's parcels are imported for the module and removed afterwards."""
    with Session(browser_engine) as session, session.begin():
        import_cadastre(session, [FIXTURE])
    app = create_app({**TEST_CONFIG, "DATABASE_URL": browser_database_url})
    add_test_pages(app)
    try:
        with serving(app) as url:
            yield url
    finally:
        with Session(browser_engine) as session, session.begin():
            session.execute(delete(CadastralParcel).where(CadastralParcel.source == FIXTURE.name))


@pytest.fixture
def page_errors() -> list[str]:
    """What the test page reports as errors; a test expecting a refused request removes it."""
    return []


@pytest.fixture(scope="module")
def referent_cookies(chromium: Browser, drawing_server: str) -> StorageState:
    return signed_in_cookies(chromium, drawing_server, REFERENT)


@pytest.fixture
def drawing_page(
    chromium: Browser, drawing_server: str, referent_cookies: StorageState, page_errors: list[str]
) -> Iterator[BrowserPage]:
    """The test page of the plot form, for Gâtine-Racan's référent, in a browser of its own."""
    context = chromium.new_context(
        viewport={"width": 1280, "height": 1000}, locale="fr-FR", storage_state=referent_cookies
    )
    page = context.new_page()
    record_errors(page, page_errors)
    page.goto(f"{drawing_server}/essai/terrain")
    wait_for_geometry_map(page, "contour")
    yield page
    assert page_errors == []
    context.close()


def draw_polygon(page: BrowserPage, polygon: Polygon) -> None:
    draw_on_geometry_map(page, "contour", list(in_degrees(polygon).exterior.coords)[:-1])


def drawn_layers(page: BrowserPage) -> int:
    return page.evaluate("() => document.querySelectorAll('path.dessin-trace').length")


def test_drawing_writes_the_geojson_and_a_second_drawing_replaces_the_first(
    drawing_page, screenshot
):
    page = drawing_page
    # The park's perimeter and its plots are drawn around, for context.
    assert page.locator("path.dessin-contexte-site").count() == 1
    assert page.locator("path.dessin-contexte-terrain").count() >= 8
    draw_polygon(page, PLOT)
    expect(page.locator("#contour-etat")).to_have_text("Contour dessiné.")
    drawn = shapely.geometry.shape(json.loads(page.locator("#contour").input_value()))
    # Clicks land on whole pixels: the drawn outline is the plot give or take a pixel.
    assert drawn.symmetric_difference(in_degrees(PLOT)).area / in_degrees(PLOT).area < 0.05
    screenshot(page, "geometrie-dessin")
    draw_polygon(page, PLOT.buffer(-10))
    expect(page.locator("#contour-etat")).to_have_text(
        "Nouveau contour dessiné : il remplace le précédent."
    )
    assert drawn_layers(page) == 1
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#resultat")).to_have_text(re.compile(r"^Polygon 1[56]\d\d$"))
    # The saved outline is drawn again from the posted text.
    wait_for_geometry_map(page, "contour")
    assert drawn_layers(page) == 1


def test_pasted_geojson_is_drawn_edited_and_a_file_is_loaded_into_the_text(drawing_page, tmp_path):
    page = drawing_page
    page.locator("#contour").fill(json.dumps(mapping(in_degrees(PLOT))))
    expect(page.locator("#contour-etat")).to_have_text("Géométrie affichée sur la carte.")
    assert drawn_layers(page) == 1
    # Edited on the map: a vertex dragged 40 pixels to the east moves in the text too.
    before = page.locator("#contour").input_value()
    page.locator("#contour-carte .leaflet-pm-icon-edit").click()
    vertex = page.locator("#contour-carte .marker-icon:not(.marker-icon-middle)").first
    handle = vertex.bounding_box()
    y = handle["y"] + handle["height"] / 2
    page.mouse.move(handle["x"] + handle["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(handle["x"] + 40, y, steps=5)
    page.mouse.up()
    expect(page.locator("#contour-etat")).to_have_text("Contour modifié.")
    assert page.locator("#contour").input_value() != before
    page.locator("#contour-carte .leaflet-pm-icon-edit").click()
    page.locator("#contour").fill(
        "POLYGON((517900 6719745, 518000 6719745, 518000 6719785, 517900 6719745))"
    )
    expect(page.locator("#contour-etat")).to_have_text(
        "Texte WKT : il sera vérifié et dessiné à l’enregistrement."
    )
    path = tmp_path / "lot.geojson"
    path.write_text(json.dumps({"type": "Feature", "properties": {},
                                "geometry": mapping(in_degrees(PLOT.buffer(-5)))}))  # fmt: skip
    page.locator("#contour_fichier").set_input_files(str(path))
    expect(page.locator("#contour-etat")).to_have_text(
        "Fichier « lot.geojson » chargé et affiché sur la carte."
    )
    assert json.loads(page.locator("#contour").input_value())["type"] == "Feature"


def test_outline_built_from_cadastral_references(drawing_page, page_errors, screenshot):
    page = drawing_page
    button = page.get_by_role("button", name="Construire à partir des parcelles cadastrales")
    button.click()
    expect(page.locator("#contour-etat")).to_have_text(
        "Indiquez d’abord les références cadastrales des parcelles du terrain."
    )
    page.locator("#terr_refcad").fill("37167000ZA0001|37167000ZA0010")
    button.click()
    expect(page.locator("#contour-etat")).to_contain_text("Les parcelles ne sont pas contiguës")
    # Chromium logs the refusal (HTTP 400) as a failed load: expected here, and only here.
    (refusal,) = [error for error in page_errors if "status of 400" in error]
    page_errors.remove(refusal)
    page.locator("#terr_refcad").fill("37167000ZA0001|37167000ZA0002|37167000ZA0004")
    button.click()
    expect(page.locator("#contour-etat")).to_have_text(
        "Contour construit à partir de 3 parcelle(s) cadastrale(s) : 0,9\xa0ha."
    )
    assert drawn_layers(page) == 1
    screenshot(page, "geometrie-cadastre")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#resultat")).to_have_text(re.compile(r"^Polygon (89|90|91)\d\d$"))
