"""The geometry field of the edit forms: posted text or file to a Lambert-93 shape, text kept on
error, the map's settings; the cadastre outline API; and, in Chromium, the drawing script
(draw, paste, load a file, build from cadastral references) on a test-only form page."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from html import unescape
from io import BytesIO
from pathlib import Path

import pytest
import shapely
from flask import Flask, render_template_string, request
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from geoalchemy2.shape import from_shape
from playwright.sync_api import Browser, expect
from playwright.sync_api import Page as BrowserPage
from shapely.geometry import Polygon, box, mapping
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session
from web_helpers import (
    TEST_CONFIG,
    csrf_token_of,
    draw_on_geometry_map,
    in_degrees,
    record_errors,
    serving,
    sign_in_browser,
    wait_for_geometry_map,
)
from wtforms import StringField

from foncier.inventory.cadastre import import_cadastre
from foncier.models import CadastralParcel
from foncier.web import create_app
from foncier.web.database import db_session
from foncier.web.inventory.geometry_field import GeometryField, site_context, terrain_context

FIXTURE = Path(__file__).parents[1] / "fixtures" / "cadastre" / "cadastre-37167-parcelles.json"
POLAXIS = "37167_SITE-ECO_00005"
GATINE_RACAN = "200073237"
REFERENT = "referent.gatine-racan@demo.foncier.test"
# A free strip of Polaxis, north of its plots, in Lambert-93 metres.
PLOT = box(517_900, 6_719_745, 518_000, 6_719_785)
PAGE = """{% extends "base.html" %}
{% from "inventory/_geometry.html" import geometry_input %}
{% block title %}Essai{% endblock %}
{% block content %}
<form method="post" enctype="multipart/form-data">
  {{ form.csrf_token }}
  <label for="terr_refcad">Parcelles cadastrales</label>{{ form.terr_refcad() }}
  {{ geometry_input(form.contour, context) }}
  <button type="submit">Enregistrer</button>
</form>
<p id="resultat">{{ result }}</p>
{% endblock %}"""


class PlotForm(FlaskForm):
    terr_refcad = StringField("Parcelles cadastrales")
    contour = GeometryField("Contour du terrain", kind="terrain")


class ParkForm(FlaskForm):
    terr_refcad = StringField("Parcelles cadastrales")
    contour = GeometryField("Périmètre du parc", kind="site")


def add_test_pages(app: Flask, stored: Polygon | None = None) -> None:
    """/essai/terrain and /essai/site: forms with the field, which show what they read."""

    def page(form_class: type[FlaskForm], context: Callable[[], dict]) -> str:
        form = form_class(data={"contour": from_shape(stored, srid=2154)} if stored else None)
        result = ""
        if request.method == "POST":
            data = form.contour.data
            if not form.validate():
                result = "invalide"
            else:
                result = f"{data.geom_type} {data.area:.0f}" if data is not None else "aucune"
        return render_template_string(PAGE, form=form, context=context(), result=result)

    app.add_url_rule(
        "/essai/terrain",
        "essai_terrain",
        lambda: page(PlotForm, lambda: terrain_context(POLAXIS)),
        methods=["GET", "POST"],
    )
    app.add_url_rule(
        "/essai/site",
        "essai_site",
        lambda: page(ParkForm, lambda: site_context(db_session(), GATINE_RACAN)),
        methods=["GET", "POST"],
    )


def json_script(html: str, element_id: str) -> dict:
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html)
    return json.loads(match.group(1))


def textarea_text(html: str) -> str:
    return unescape(re.search(r'<textarea[^>]*id="contour"[^>]*>\r?\n?(.*?)</textarea>',
                                          html, flags=re.S).group(1))  # fmt: skip


@pytest.fixture
def referent(app: Flask, client_for: Callable[[str], FlaskClient]) -> FlaskClient:
    add_test_pages(app)
    return client_for(REFERENT)


def post(client: FlaskClient, url: str, **fields) -> str:
    token = csrf_token_of(client, url)
    response = client.post(
        url, data={"csrf_token": token, **fields}, content_type="multipart/form-data"
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def result(html: str) -> str:
    return re.search(r'<p id="resultat">(.*?)</p>', html).group(1)


def test_form_renders_map_text_file_input_and_cadastre_action(referent):
    html = referent.get("/essai/terrain").get_data(as_text=True)
    config = json_script(html, "contour-dessin")
    assert config["kind"] == "terrain"
    assert (config["textarea"], config["fileInput"]) == ("contour", "contour_fichier")
    assert [layer["kind"] for layer in config["layers"]] == ["site", "terrain"]
    assert config["layers"][0]["url"] == f"/api/sites/{POLAXIS}"
    assert config["cadastre"] == {"url": "/api/cadastre/contour", "refsInput": "terr_refcad"}
    assert config["assets"]["geoman"].endswith("leaflet-geoman/leaflet-geoman.min.js")
    assert 'data-geometry-input="contour-dessin"' in html
    assert '<input type="file" id="contour_fichier" name="contour_fichier"' in html
    assert "Construire à partir des parcelles cadastrales" in html
    assert '<label for="contour">Contour du terrain</label>' in html
    # Settings travel as JSON: the page keeps to its no-inline-script policy.
    assert not re.search(r"<script(?![^>]*(src=|application/json))", html)


def test_posted_wgs84_geojson_becomes_a_lambert93_polygon(referent):
    html = post(referent, "/essai/terrain", contour=json.dumps(mapping(in_degrees(PLOT))))
    assert result(html) == "Polygon 4000"


def test_unreadable_text_is_kept_and_explained_beside_the_field(referent):
    typed = (
        "POLYGON((517900 6719745, 518000 6719785, 518000 6719745, 517900 6719785, 517900 6719745))"
    )
    html = post(referent, "/essai/terrain", contour=typed)
    assert result(html) == "invalide"
    assert textarea_text(html) == typed
    assert 'aria-invalid="true"' in html
    errors = re.search(r'<ul class="erreurs" id="contour-erreurs">(.*?)</ul>', html, re.S).group(1)
    assert "Géométrie invalide : auto-intersection (517950 6719765)." in errors


def test_empty_text_gives_no_geometry(referent):
    html = post(referent, "/essai/terrain", contour="  ")
    assert result(html) == "aucune"


def test_posted_file_is_read_when_the_text_is_empty(referent):
    content = json.dumps(
        {"type": "Feature", "properties": {}, "geometry": mapping(in_degrees(PLOT))}
    )
    upload = (BytesIO(content.encode("utf-8")), "lot.geojson")
    html = post(referent, "/essai/terrain", contour="", contour_fichier=upload)
    assert result(html) == "Polygon 4000"
    assert json.loads(textarea_text(html))["type"] == "Feature"


def test_posted_file_that_is_not_text_is_refused(referent):
    upload = (BytesIO(b"\xff\xfe\x00binary"), "lot.shp")
    html = post(referent, "/essai/terrain", contour="", contour_fichier=upload)
    assert result(html) == "invalide"
    assert "Le fichier n’est pas un texte UTF-8" in html


def test_stored_geometry_is_shown_as_wgs84_geojson(app, client_for):
    add_test_pages(app, stored=PLOT)
    html = client_for(REFERENT).get("/essai/terrain").get_data(as_text=True)
    shown = json.loads(textarea_text(html))
    assert shown["type"] == "Polygon"
    assert shapely.geometry.shape(shown).equals_exact(in_degrees(PLOT), tolerance=1e-6)


def test_park_field_gives_a_multipolygon_and_shows_the_epci(referent):
    html = post(referent, "/essai/site", contour=PLOT.wkt)
    assert result(html) == "MultiPolygon 4000"
    config = json_script(referent.get("/essai/site").get_data(as_text=True), "contour-dessin")
    (epci,) = config["layers"]
    assert (epci["kind"], epci["geojson"]["id"]) == ("epci", GATINE_RACAN)
    assert epci["geojson"]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert config["cadastre"] is None


def test_site_context_without_epci_shows_nothing(session):
    assert site_context(session, None) == {"layers": []}
    assert site_context(session, "999999999") == {"layers": []}


# --- the cadastre outline API ----------------------------------------------------------------


@pytest.fixture
def parcels(session: Session) -> None:
    import_cadastre(session, [FIXTURE])


def test_cadastre_outline_api_gives_the_union_in_wgs84(parcels, client):
    response = client.get("/api/cadastre/contour?refs=37167000ZA0001|37167000ZA0002")
    assert response.status_code == 200
    body = response.get_json()
    assert body["type"] == "Feature"
    assert body["properties"]["refs"] == ["37167000ZA0001", "37167000ZA0002"]
    assert body["properties"]["surface_m2"] == pytest.approx(6000, rel=0.01)
    assert body["properties"]["message"] == (
        "Contour construit à partir de 2 parcelle(s) cadastrale(s) : 0,6\xa0ha."
    )
    lon, lat = body["geometry"]["coordinates"][0][0]
    assert 0.56 < lon < 0.59 and 47.55 < lat < 47.56


def test_cadastre_outline_api_refuses_in_french(parcels, client):
    response = client.get("/api/cadastre/contour?refs=37167000ZA0001|37167000ZZ0404")
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("Parcelles absentes du cadastre chargé")


def test_cadastre_outline_api_needs_a_signed_in_user(anonymous_client):
    assert anonymous_client.get("/api/cadastre/contour?refs=37167000ZA0001").status_code == 401


# --- in Chromium --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def drawing_server(browser_database_url: str, browser_engine: Engine) -> Iterator[str]:
    """The application with the test pages, on the committed session database, where the
    fixture's parcels are imported for the module and removed afterwards."""
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


@pytest.fixture
def drawing_page(
    chromium: Browser, drawing_server: str, page_errors: list[str]
) -> Iterator[BrowserPage]:
    context = chromium.new_context(viewport={"width": 1280, "height": 1000}, locale="fr-FR")
    page = context.new_page()
    record_errors(page, page_errors)
    sign_in_browser(page, drawing_server, REFERENT)
    page.goto(f"{drawing_server}/essai/terrain")
    wait_for_geometry_map(page, "contour")
    yield page
    assert page_errors == []
    context.close()


def draw_polygon(page: BrowserPage, polygon: Polygon) -> None:
    draw_on_geometry_map(page, "contour", list(in_degrees(polygon).exterior.coords)[:-1])


def drawn_layers(page: BrowserPage) -> int:
    return page.evaluate("() => document.querySelectorAll('path.dessin-trace').length")


@pytest.mark.browser
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


@pytest.mark.browser
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


@pytest.mark.browser
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
