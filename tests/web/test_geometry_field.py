"""The geometry field of the edit forms, on test-only form pages (geometry_pages.py): posted text
or file to a Lambert-93 shape, text kept on error, the map's settings; the cadastre outline API.
The drawing script in Chromium: tests/browser/test_geometry_field_browser.py."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html import unescape
from io import BytesIO

import pytest
import shapely
from flask import Flask
from flask.testing import FlaskClient
from geometry_pages import FIXTURE, GATINE_RACAN, PLOT, POLAXIS, REFERENT, add_test_pages
from shapely.geometry import mapping
from sqlalchemy.orm import Session
from web_helpers import csrf_token_of, in_degrees

from foncier.inventory.cadastre import import_cadastre
from foncier.web.inventory.geometry_field import site_context


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
