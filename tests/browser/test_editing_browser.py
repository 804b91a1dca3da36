"""The editing journey in a real Chromium: a référent of the CC Gâtine-Racan creates a park (its
perimeter pasted), then adds a plot to Polaxis by drawing it on the map; the plot shows on the
park's map and list; a référent of Tours Métropole sees it but cannot edit it.

The live server writes to the browser tests' committed database: the park gets a unique name,
the plot the id the platform gives it, and no test counts records.
"""

from __future__ import annotations

import json
import uuid

import pytest
import shapely
from browser_helpers import draw_on_geometry_map, wait_for_geometry_map
from playwright.sync_api import Page as BrowserPage
from playwright.sync_api import expect
from shapely.geometry import box
from sqlalchemy import Engine, text
from web_helpers import in_degrees

pytestmark = pytest.mark.browser

GATINE_RACAN_REFERENT = "referent.gatine-racan@demo.foncier.test"
TOURS_METROPOLE_REFERENT = "referent.tours-metropole-val-de-loire@demo.foncier.test"
POLAXIS = "37167_SITE-ECO_00005"
NEUVY_LE_ROI = "37167"
# A free strip of Polaxis, north of its plots (Lambert-93 metres): 100 m by 40 m.
NEW_PLOT = box(517_900, 6_719_745, 518_000, 6_719_785)
# A 200 m square of Neuvy-le-Roi at least 300 m from any park, as Lambert-93 WKT.
FREE_SQUARE_SQL = """
    SELECT ST_AsText(ST_Envelope(ST_Buffer(ST_PointOnSurface(ST_Difference(
        c.geom, (SELECT ST_Buffer(ST_Union(site_geomsurf), 400) FROM site))), 100)))
    FROM commune c WHERE c.insee = :insee
"""


def choose_required_values(page: BrowserPage, form_id: str) -> None:
    """Pick the first value of every code list still on « — choisir — » (a required one)."""
    page.evaluate(
        """(formId) => document.querySelectorAll(`#${formId} select`).forEach((select) => {
            if (select.value === "" && select.options[0].text.includes("choisir")) {
                select.selectedIndex = 1;
            }
        })""",
        form_id,
    )


def test_referent_creates_a_park_then_draws_a_plot_that_another_epci_cannot_edit(
    signed_in, browser_errors, live_server: str, browser_engine: Engine, screenshot
):
    referent = signed_in(GATINE_RACAN_REFERENT)

    # A new park in Neuvy-le-Roi, its perimeter pasted as Lambert-93 WKT.
    with browser_engine.connect() as connection:
        square = connection.scalar(text(FREE_SQUARE_SQL), {"insee": NEUVY_LE_ROI})
    park_name = f"Parc d’essai {uuid.uuid4().hex[:8]}"
    referent.goto(f"{live_server}/sites/nouveau")
    form = referent.locator("form[method=post]").last
    form_id = form.get_attribute("id")
    referent.locator("[name=site_nom]").fill(park_name)
    referent.locator("[name=site_comm_insee]").select_option(NEUVY_LE_ROI)
    choose_required_values(referent, form_id)
    referent.locator("[name=site_surf_brute]").fill("4")
    referent.locator("[name=site_surf_utile]").fill("3,5")
    wait_for_geometry_map(referent, "site_geomsurf")
    referent.locator("#site_geomsurf").fill(square)
    expect(referent.locator("#site_geomsurf-etat")).to_have_text(
        "Texte WKT : il sera vérifié et dessiné à l’enregistrement."
    )
    form.locator("button[type=submit]").click()
    referent.wait_for_url(f"{live_server}/sites/*")
    expect(referent.locator("h1")).to_have_text(park_name)
    expect(referent.locator(".message-succes")).to_contain_text(park_name)

    # A plot drawn in Polaxis.
    referent.goto(f"{live_server}/sites/{POLAXIS}/terrains/nouveau")
    wait_for_geometry_map(referent, "terr_geomsurf")
    choose_required_values(referent, "formulaire-terrain")
    referent.locator("[name=terr_stade_comm]").select_option("en vente")
    referent.locator("[name=terr_surf_brute]").fill("0,4")
    draw_on_geometry_map(referent, "terr_geomsurf", list(in_degrees(NEW_PLOT).exterior.coords)[:-1])
    expect(referent.locator("#terr_geomsurf-etat")).to_have_text("Contour dessiné.")
    drawn = shapely.geometry.shape(json.loads(referent.locator("#terr_geomsurf").input_value()))
    assert drawn.symmetric_difference(in_degrees(NEW_PLOT)).area < 0.05 * drawn.area
    # Zoomed out for the picture: the plot among its neighbours.
    referent.evaluate("() => window.foncierGeometryInputs.terr_geomsurf.map.zoomOut(3)")
    screenshot(referent, "edition-terrain-dessine")
    referent.get_by_role("button", name="Créer le terrain").click()
    referent.wait_for_url(f"{live_server}/terrains/*")
    terr_id = referent.url.rsplit("/", 1)[-1]
    expect(referent.locator(".message-succes")).to_contain_text(f"Terrain {terr_id} créé.")
    referent.wait_for_function("() => window.foncierMap && window.foncierMap.loaded")
    expect(referent.locator(f'.carte path.carte-terrain[data-id="{terr_id}"]')).to_have_count(1)
    expect(referent.locator("#modifier-terrain")).to_be_visible()
    screenshot(referent, "edition-terrain-cree")

    # On the park's page: in the list and on the map.
    referent.goto(f"{live_server}/sites/{POLAXIS}")
    expect(referent.locator(f'#terrains tr[data-terr-id="{terr_id}"]')).to_have_count(1)
    referent.wait_for_function("() => window.foncierMap && window.foncierMap.loaded")
    expect(referent.locator(f'.carte path.carte-terrain[data-id="{terr_id}"]')).to_have_count(1)
    with browser_engine.connect() as connection:
        area = connection.scalar(
            text("SELECT ST_Area(terr_geomsurf) FROM terrain WHERE terr_id = :id"), {"id": terr_id}
        )
    assert area == pytest.approx(NEW_PLOT.area, rel=0.05)

    # Tours Métropole's référent sees the plot, without any way to edit it.
    other = signed_in(TOURS_METROPOLE_REFERENT)
    other.goto(f"{live_server}/terrains/{terr_id}")
    expect(other.locator("h1")).to_contain_text(terr_id)
    expect(other.locator("#modifier-terrain")).to_have_count(0)
    expect(other.get_by_role("link", name="Modifier le terrain")).to_have_count(0)
    response = other.goto(f"{live_server}/terrains/{terr_id}/modifier")
    assert response.status == 403
    (refusal,) = [error for error in browser_errors if "status of 403" in error]
    browser_errors.remove(refusal)
    expect(other.locator("h1")).to_have_text("Accès refusé")
    screenshot(other, "edition-refusee-autre-epci")
