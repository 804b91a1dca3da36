"""The imports page in a real Chromium: a référent uploads a file, reads the preview, abandons
it; a file outside their EPCI is refused line by line."""

from __future__ import annotations

import pytest
from browser_helpers import sign_in_browser
from import_files import LES_ATLANTES, NEW_PLOT, polaxis_plots_file
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from foncier.inventory.cnig import export_cnig
from foncier.models import Epci, Terrain
from seed.accounts import referent_email

pytestmark = pytest.mark.browser

GATINE_RACAN = "200073237"
INDEX = "/imports-exports"


def test_a_referent_previews_an_import_in_a_browser_then_abandons_it(
    browser_engine, anonymous_browser_page, live_server, screenshot, tmp_path
):
    """Upload through the file input, read the preview, abandon: the committed database the
    live server reads keeps no trace of it."""
    page = anonymous_browser_page
    with Session(browser_engine) as session:
        name, content, repriced = polaxis_plots_file(session, tmp_path)
        export_cnig(session, tmp_path / "atlantes", site=LES_ATLANTES)
        email = referent_email(session.get_one(Epci, GATINE_RACAN))
    (tmp_path / name).write_bytes(content)
    sign_in_browser(page, live_server, email)

    page.goto(f"{live_server}{INDEX}")
    screenshot(page, "transfer-index")
    page.get_by_label("Fichiers à importer").set_input_files(str(tmp_path / name))
    page.get_by_role("button", name="Vérifier les fichiers").click()
    expect(page.get_by_role("heading", name="Aperçu de l’import")).to_be_visible()
    expect(page.locator(f'tr[data-key="{repriced["terr_id"]}"]')).to_contain_text("Modification")
    expect(page.locator(f'tr[data-key="{NEW_PLOT}"]')).to_contain_text("Création")
    screenshot(page, "transfer-preview")
    page.get_by_role("button", name="Abandonner").click()
    expect(page.get_by_text("Import abandonné")).to_be_visible()

    page.get_by_label("Fichiers à importer").set_input_files(
        str(tmp_path / "atlantes" / "terrain-eco.csv")
    )
    page.get_by_role("button", name="Vérifier les fichiers").click()
    errors = page.locator("#erreurs-import tbody tr")
    expect(errors.first).to_contain_text("ligne 2")
    expect(errors.first).to_contain_text("votre EPCI")
    assert page.get_by_role("button", name="Confirmer l’import").count() == 0
    screenshot(page, "transfer-preview-refused")
    page.get_by_role("button", name="Abandonner cet import").click()
    with Session(browser_engine) as session:
        assert session.get(Terrain, NEW_PLOT) is None
