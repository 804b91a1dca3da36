"""Fuzzing the web paths that read files, geometries and JSON: the import (upload, preview,
confirmation), the plot and park edit forms' geometry field (pasted or uploaded), the matching
API. Whatever comes in, the answer is never a 5xx, and a refused input writes nothing.
Examples are derandomised (fuzz); the examples of a test share its rolled-back transaction."""

from __future__ import annotations

import io

from fuzz_strategies import (
    GEOMETRY_TEXTS,
    csv_files,
    fuzz,
    geojson_files,
    geopackage_files,
    needs_bodies,
)
from hostile_inputs import inventory_events
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import select
from web_helpers import csrf_token_of, form_values

from foncier.models import Terrain

POLAXIS = "37167_SITE-ECO_00005"
IMPORTS = "/imports-exports"
CONFIRM_FORM = "confirmer-import"


def imported(client, session, name: str, content: bytes) -> None:
    """Upload, preview and confirm ``content``; no 5xx, and nothing written if refused."""
    before = inventory_events(session)
    token = csrf_token_of(client, IMPORTS)
    upload = client.post(
        f"{IMPORTS}/import",
        data={"csrf_token": token, "fichiers": [(io.BytesIO(content), name)]},
        content_type="multipart/form-data",
    )
    assert upload.status_code < 500
    if upload.status_code != 303:
        event(f"upload answered {upload.status_code}")
        assert inventory_events(session) == before
        return
    preview_url = upload.headers["Location"]
    preview = client.get(preview_url)
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    accepted = f'id="{CONFIRM_FORM}"' in html
    event("accepted" if accepted else "refused")  # --hypothesis-show-statistics shows the mix
    values = form_values(html, CONFIRM_FORM) if accepted else {"csrf_token": token}
    confirm = client.post(f"{preview_url}/confirmer", data=values)
    assert confirm.status_code < 500
    if not accepted:
        assert "L’import est refusé" in html
        assert confirm.status_code != 303 and inventory_events(session) == before
    if confirm.status_code != 303:
        # As a person would: a batch left waiting counts against the three an account may keep.
        discarded = client.post(f"{preview_url}/abandonner", data={"csrf_token": token})
        assert discarded.status_code == 303


@fuzz(12)
@given(data=st.data())
def test_an_uploaded_csv_file_is_previewed_and_confirmed_or_refused(
    referent, session, polaxis_plots, data
):
    imported(referent, session, "terrain-eco.csv", data.draw(csv_files(polaxis_plots.csv_text)))


@fuzz(12)
@given(data=st.data())
def test_an_uploaded_geojson_file_is_previewed_and_confirmed_or_refused(
    referent, session, polaxis_plots, data
):
    content = data.draw(geojson_files(polaxis_plots.feature_collection()))
    imported(referent, session, "terrains.geojson", content)


@fuzz(8)
@given(data=st.data())
def test_an_uploaded_geopackage_is_previewed_and_confirmed_or_refused(
    referent, session, polaxis_plots, data
):
    rows, blobs = polaxis_plots.rows, polaxis_plots.blobs()
    content = data.draw(geopackage_files("terrain_eco", rows, "terr_geomsurf", blobs))
    imported(referent, session, "terrains.gpkg", content)


def edit_pages(session) -> list[tuple[str, str, str]]:
    """(URL, form id, geometry field) of a Polaxis plot's and of Polaxis's edit forms."""
    query = select(Terrain.terr_id).where(Terrain.site_id == POLAXIS).order_by(Terrain.terr_id)
    terr_id = session.scalars(query).first()
    return [
        (f"/terrains/{terr_id}/modifier", "formulaire-terrain", "terr_geomsurf"),
        (f"/sites/{POLAXIS}/modifier", "formulaire-parc", "site_geomsurf"),
    ]


@fuzz(25)
@given(text=GEOMETRY_TEXTS, as_file=st.booleans(), page=st.sampled_from([0, 1]))
def test_the_edit_forms_take_any_geometry_text(referent, session, text, as_file, page):
    url, form_id, field = edit_pages(session)[page]
    response = referent.get(url)
    values = form_values(response.get_data(as_text=True), form_id)
    if as_file:
        values |= {field: "", f"{field}_fichier": (io.BytesIO(text.encode()), "contour.txt")}
    else:
        values[field] = text
    before = inventory_events(session)
    posted = referent.post(url, data=values, content_type="multipart/form-data")
    assert posted.status_code in (303, 400), posted.status_code
    event(f"form answered {posted.status_code}")
    if posted.status_code == 400:
        html = posted.get_data(as_text=True)
        assert f'id="{field}-erreurs"' in html  # the refusal is under the field
        assert inventory_events(session) == before


@fuzz(40)
@given(body=needs_bodies(), why=st.booleans())
def test_the_matching_api_answers_any_body_without_a_5xx(client_for_api, body, why):
    url = "/api/match/why/37167_TERRAIN-ECO_05001" if why else "/api/match"
    response = client_for_api.post(url, data=body, content_type="application/json")
    assert response.status_code in (200, 400, 404, 413), response.status_code
    event(f"API answered {response.status_code}")
    answer = response.get_json()
    assert isinstance(answer, dict)
    if response.status_code != 200:
        assert answer["code"] and answer["description"]  # the error format of docs/api.md
