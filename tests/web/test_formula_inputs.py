"""Text that starts like a spreadsheet formula is refused by the forms, under its field, with
what the person typed kept: the probe's three examples through the park, plot and project
forms; French text that merely starts with a sign is saved."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from case_helpers import METROPOLE
from flask.testing import FlaskClient
from sqlalchemy import select
from web_helpers import form_of, page_of, post_form

from foncier.core.formulas import FORMULA_MESSAGE
from foncier.models import Epci, Prospect, Site, Terrain
from seed.accounts import referent_email

POLAXIS = "37167_SITE-ECO_00005"
REFERENT_EMAIL = "referent.gatine-racan@demo.foncier.test"
PROBE = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "@SUM(1+1)"]


@pytest.fixture
def referent(client_for) -> FlaskClient:
    return client_for(REFERENT_EMAIL)


def _refused_under(html: str, field: str) -> str:
    """The messages shown under ``field``."""
    return html.split(f'id="{field}-erreurs"')[1].split("</ul>")[0]


def _escaped(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&#34;").replace("'", "&#39;")


@pytest.mark.parametrize("payload", PROBE)
def test_the_park_form_refuses_a_name_starting_like_a_formula(session, referent, payload):
    site = session.get(Site, POLAXIS)
    url = f"/sites/{POLAXIS}/modifier"
    values = form_of(referent, url, "formulaire-parc") | {"site_nom": payload}
    response = referent.post(url, data=values)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "formule de tableur" in _refused_under(html, "site_nom")
    assert f'value="{_escaped(payload)}"' in html  # kept as typed, to be corrected
    session.expire_all()
    assert session.get(Site, POLAXIS).version == site.version


def test_the_park_form_saves_french_text_that_starts_with_a_sign(session, referent):
    url = f"/sites/{POLAXIS}/modifier"
    values = form_of(referent, url, "formulaire-parc")
    typed = {"site_description": "- lot 3 : 2,5 ha", "site_moa_nom": "-Zone-"}
    assert referent.post(url, data=values | typed).status_code == 302
    session.expire_all()
    site = session.get(Site, POLAXIS)
    assert (site.site_description, site.site_moa_nom) == ("- lot 3 : 2,5 ha", "-Zone-")


@pytest.mark.parametrize("payload", PROBE)
def test_the_plot_form_refuses_a_buyer_starting_like_a_formula(session, referent, payload):
    plot = session.scalars(
        select(Terrain).where(Terrain.site_id == POLAXIS).order_by(Terrain.terr_id)
    ).first()
    url = f"/terrains/{plot.terr_id}/modifier"
    values = form_of(referent, url, "formulaire-terrain") | {"terr_acquereur": payload}
    response = referent.post(url, data=values)
    assert response.status_code == 400
    assert FORMULA_MESSAGE in _refused_under(response.get_data(as_text=True), "terr_acquereur")
    session.expire_all()
    assert session.get(Terrain, plot.terr_id).version == plot.version


@pytest.fixture
def metropole(session, client_for) -> FlaskClient:
    return client_for(referent_email(session.get(Epci, METROPOLE)))


PROJECT = {
    "company_name": "Menuiserie Vallée",
    "naf_code": "16.23Z",
    "source": "direct",
    "needs-surface_min_ha": "1",
    "needs-surface_max_ha": "3",
}


@pytest.mark.parametrize("payload", PROBE)
def test_the_project_form_refuses_notes_starting_like_a_formula(session, metropole, payload):
    before = session.scalar(select(Prospect.id).order_by(Prospect.id.desc()).limit(1))
    page = page_of(post_form(metropole, "/projets/nouveau", PROJECT | {"notes": payload}))
    assert page.status == 400
    assert "formule de tableur" in _refused_under(page.html, "notes")
    assert _escaped(payload) in page.html  # the textarea keeps it
    assert session.scalar(select(Prospect.id).order_by(Prospect.id.desc()).limit(1)) == before


def test_the_project_form_keeps_an_international_phone_number(session, metropole):
    typed = {
        "contact_name": "Léa Vallée",
        "contact_phone": "+33 2 47 12 34 56",
        "contact_retention_until": (date.today() + timedelta(days=365)).isoformat(),
    }
    response = post_form(metropole, "/projets/nouveau", PROJECT | typed)
    assert response.status_code == 302, page_of(response).text
    prospect = session.scalars(select(Prospect).order_by(Prospect.id.desc())).first()
    assert prospect.contact_phone == "+33 2 47 12 34 56"
