"""The probe's inputs (issue 11) on every web path that reads JSON or a geometry: the import
preview, the plot and park edit forms (pasted and uploaded), the matching API. Each answers
with its usual refusal, in French on pages, never a 500, and writes nothing."""

from __future__ import annotations

import csv
import io

import pytest
from geoalchemy2.shape import to_shape
from hostile_inputs import (
    EXPECTED,
    PROBE_TEXTS,
    TOO_DEEP,
    TOO_MANY_DIGITS,
    TOO_MANY_VERTICES,
    inventory_events,
    ten_million_brackets,
    too_many_vertices,
)
from import_files import POLAXIS, polaxis_plots_file
from sqlalchemy import select
from web_helpers import csrf_token_of, form_of, visible_text

from foncier.inventory.geometry_input import geojson_wgs84_text
from foncier.models import Epci, Terrain
from seed.accounts import referent_email

GATINE_RACAN = "200073237"
IMPORTS = "/imports-exports"
PLOT_FORM, PARK_FORM = "formulaire-terrain", "formulaire-parc"


@pytest.fixture
def referent(client_for, session):
    return client_for(referent_email(session.get_one(Epci, GATINE_RACAN)))


def upload(client, name: str, content: bytes) -> str:
    """Upload one file; the preview page's text (after the redirect)."""
    token = csrf_token_of(client, IMPORTS)
    response = client.post(
        f"{IMPORTS}/import",
        data={"csrf_token": token, "fichiers": [(io.BytesIO(content), name)]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.status_code
    preview = client.get(response.headers["Location"])
    assert preview.status_code == 200
    confirm = client.post(response.headers["Location"] + "/confirmer", data={"csrf_token": token})
    assert confirm.status_code in (400, 409)  # refused: nothing to confirm
    return visible_text(preview.get_data(as_text=True))


def with_plot_cell(content: bytes, cell: str) -> bytes:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8")), delimiter=";"))
    rows[1][rows[0].index("terr_geomsurf")] = cell
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.mark.parametrize(
    ("cell", "french"),
    [(PROBE_TEXTS["deep GeoJSON"], TOO_DEEP), (PROBE_TEXTS["5001-digit GeoJSON"], TOO_MANY_DIGITS)],
)
def test_the_import_preview_reports_a_hostile_geometry_cell(
    session, referent, tmp_path, cell, french
):
    name, content, _ = polaxis_plots_file(session, tmp_path)
    before = inventory_events(session)
    text = upload(referent, name, with_plot_cell(content, cell))
    assert "L’import est refusé" in text and "ligne 2 terr_geomsurf" in text
    assert french in text and "Confirmer l’import" not in text
    assert inventory_events(session) == before


def test_the_import_preview_reports_ten_million_brackets(session, referent):
    before = inventory_events(session)
    text = upload(referent, "terrains.geojson", ten_million_brackets())
    assert "L’import est refusé" in text and TOO_DEEP in text
    assert inventory_events(session) == before


def polaxis_plot(session) -> Terrain:
    query = select(Terrain).where(Terrain.site_id == POLAXIS).order_by(Terrain.terr_id)
    return session.scalars(query).first()


def plot_url(session) -> str:
    return f"/terrains/{polaxis_plot(session).terr_id}/modifier"


def posted(client, url: str, form_id: str, field: str, text: str, *, as_file: bool) -> str:
    """Post the edit form with ``text`` pasted in the geometry field or uploaded as its file;
    the error list under the field, once the answer is checked to be a 400."""
    values = form_of(client, url, form_id)
    if as_file:
        values |= {field: "", field + "_fichier": (io.BytesIO(text.encode()), "contour.geojson")}
    else:
        values[field] = text
    response = client.post(url, data=values, content_type="multipart/form-data")
    assert response.status_code == 400, response.status_code
    html = response.get_data(as_text=True)
    errors = html.split(f'id="{field}-erreurs"')[1].split(">", 1)[1].split("</ul>")[0]
    return visible_text(errors)


@pytest.mark.parametrize("as_file", [False, True], ids=["pasted", "uploaded"])
@pytest.mark.parametrize("probe", PROBE_TEXTS)
def test_the_plot_and_park_forms_refuse_the_probe_s_texts_under_the_field(
    session, referent, probe, as_file
):
    before = inventory_events(session)
    for url, form_id, field in (
        (plot_url(session), PLOT_FORM, "terr_geomsurf"),
        (f"/sites/{POLAXIS}/modifier", PARK_FORM, "site_geomsurf"),
    ):
        errors = posted(referent, url, form_id, field, PROBE_TEXTS[probe], as_file=as_file)
        assert EXPECTED[probe] in errors
    assert inventory_events(session) == before


def test_an_outline_of_too_many_vertices_is_refused_under_the_field(session, referent):
    centre = to_shape(polaxis_plot(session).terr_geomsurf).centroid
    outline = geojson_wgs84_text(too_many_vertices(centre))
    errors = posted(referent, plot_url(session), PLOT_FORM, "terr_geomsurf", outline, as_file=True)
    assert " ".join(TOO_MANY_VERTICES.split()) in errors  # spaces folded as a reader sees them


@pytest.mark.parametrize("probe", ["deep GeoJSON", "5001-digit GeoJSON"])
def test_the_matching_api_answers_the_probe_s_json_with_a_400(client, probe):
    body = PROBE_TEXTS[probe].replace('{"type":"Polygon","coordinates":', '{"surface_min_ha":', 1)
    for url in ("/api/match", "/api/match/why/37250_TERRAIN-ECO_01001"):
        response = client.post(url, data=body, content_type="application/json")
        assert response.status_code == 400, response.get_data(as_text=True)
        assert response.get_json()["errors"][0]["message"].startswith(
            ("The JSON nests too deeply", "A number of the JSON has too many digits")
        )
