"""No lost update: two référents of the same EPCI edit the same record at once.

Both open the form at the same version; the first save goes through; the second is refused
with a clear message and the first person's change (who, when, field, before → after), and
the page keeps what the second person typed so they can apply it, knowingly, on the new
version. (The race between the version check and the UPDATE is tested in tests/test_editing.py.)
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_helpers import form_of, form_values, visible_text

from foncier.accounts import create_user
from foncier.models import Site, Terrain
from foncier.permissions import Actor, Role

POLAXIS = "37167_SITE-ECO_00005"
GATINE_RACAN = "200073237"
FIRST_EMAIL = "referent.gatine-racan@demo.foncier.test"
SECOND_EMAIL = "second.referent@gatine-racan.test"
SECOND_NAME = "Camille Second (Gâtine-Racan)"


@pytest.fixture
def first(client_for) -> FlaskClient:
    return client_for(FIRST_EMAIL)


@pytest.fixture
def second(session: Session, client_for) -> FlaskClient:
    """A second référent of the same EPCI, created for the test."""
    create_user(
        session, Actor.system("tests"), email=SECOND_EMAIL, nom=SECOND_NAME,
        role=Role.REFERENT, epci_siren=GATINE_RACAN, password="un-mot-de-passe-solide-42",
    )  # fmt: skip
    return client_for(SECOND_EMAIL)


def plot_on_sale(session: Session) -> Terrain:
    return session.scalars(
        select(Terrain)
        .where(Terrain.site_id == POLAXIS, Terrain.terr_stade_comm == "en vente")
        .order_by(Terrain.terr_id)
    ).first()


def stored(session: Session, model: type, key: str) -> object:
    session.expire_all()
    return session.get(model, key)


def test_the_second_save_is_refused_with_the_first_change_and_the_typed_values(
    session, first, second
):
    plot = plot_on_sale(session)
    url = f"/terrains/{plot.terr_id}/modifier"
    mine, theirs = (
        form_of(first, url, "formulaire-terrain"),
        form_of(second, url, "formulaire-terrain"),
    )
    assert mine["version"] == theirs["version"] == str(plot.version)
    loaded = plot.version

    assert first.post(url, data=mine | {"terr_m2_prix": "20"}).status_code == 302
    refused = second.post(url, data=theirs | {"terr_m2_prix": "27,5", "terr_hauteur_max_m": "18"})

    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    text = visible_text(html)
    assert "Quelqu’un a enregistré ce terrain pendant que vous le modifiiez" in text
    # The other person's change: who, and the field before → after.
    conflict = text[text.index("Quelqu’un a enregistré") :]
    assert "Référent Communauté de communes de Gâtine-Racan (démo)" in conflict
    assert "→ 20 €/m²" in conflict and "Modification du terrain" in conflict
    # What the second person typed is kept, and the form now carries the current version.
    kept = form_values(html, "formulaire-terrain")
    assert (kept["terr_m2_prix"], kept["terr_hauteur_max_m"]) == ("27,5", "18")
    assert kept["version"] == str(loaded + 1)
    assert stored(session, Terrain, plot.terr_id).terr_m2_prix == Decimal("20")

    # Having seen the other change, saving again applies the typed values on top of it.
    assert second.post(url, data=kept).status_code == 302
    saved = stored(session, Terrain, plot.terr_id)
    assert (saved.terr_m2_prix, saved.version) == (Decimal("27.5"), loaded + 2)


def test_a_status_change_confirmed_after_someone_else_saved_is_refused(session, first, second):
    plot = plot_on_sale(session)
    status_url = f"/terrains/{plot.terr_id}/statut"
    confirmation = form_of(second, f"{status_url}?action=reservation", "confirmation-statut")
    edit_url = f"/terrains/{plot.terr_id}/modifier"
    withdrawn = form_of(first, edit_url, "formulaire-terrain") | {
        "terr_stade_comm": "non commercialisé"
    }
    assert first.post(edit_url, data=withdrawn).status_code == 302

    refused = second.post(status_url, data=confirmation)
    assert refused.status_code == 409
    text = visible_text(refused.get_data(as_text=True))
    assert "Stade de commercialisation : en vente → non commercialisé" in text
    assert stored(session, Terrain, plot.terr_id).terr_stade_comm == "non commercialisé"


def test_two_park_edits_at_once_keep_the_first(session, first, second):
    url = f"/sites/{POLAXIS}/modifier"
    mine, theirs = (
        form_of(first, url, "formulaire-parc"),
        form_of(second, url, "formulaire-parc"),
    )
    assert second.post(url, data=theirs | {"site_nb_emploi": "420"}).status_code == 302
    refused = first.post(url, data=mine | {"site_nom": "Polaxis – nouveau nom"})
    assert refused.status_code == 409
    text = visible_text(refused.get_data(as_text=True))
    assert SECOND_NAME in text and "Nombre d’emplois" in text and "→ 420" in text
    park = stored(session, Site, POLAXIS)
    assert park.site_nb_emploi == 420 and park.site_nom == "Polaxis"
