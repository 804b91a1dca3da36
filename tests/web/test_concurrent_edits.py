"""No lost update: two référents of the same EPCI edit the same record at once.

Both open the form at the same version; the first save goes through; the second is refused
with a clear message and the first person's change (who, when, field, before → after). The
form then shows the record as it is now with the second person's own changes on top, the
fields both changed flagged with the other value; saving it again keeps the first change.
(The race between the version check and the UPDATE is tested in tests/test_editing.py.)
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_helpers import form_of, form_values, page_of, visible_text

from foncier.accounts.users import create_user
from foncier.core.permissions import Actor, Role
from foncier.models import Owner, Site, Terrain

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
    # What the second person typed is kept, and the form now carries the current version;
    # the price, changed by both, is flagged with the other value.
    kept = form_values(html, "formulaire-terrain")
    assert (kept["terr_m2_prix"], kept["terr_hauteur_max_m"]) == ("27,5", "18")
    assert kept["version"] == str(loaded + 1)
    assert "20 €/m²" in page_of(refused).element_text("terr_m2_prix-conflit")
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


def test_saving_again_after_a_conflict_keeps_the_other_change(session, first, second):
    """The second person changed only the height: the form given back after the conflict
    carries the first person's price, so that saving it again does not undo it."""
    plot = plot_on_sale(session)
    url = f"/terrains/{plot.terr_id}/modifier"
    mine, theirs = (
        form_of(first, url, "formulaire-terrain"),
        form_of(second, url, "formulaire-terrain"),
    )
    assert plot.terr_m2_prix != Decimal("55") and plot.terr_hauteur_max_m != Decimal("18")
    assert first.post(url, data=mine | {"terr_m2_prix": "55"}).status_code == 302

    refused = second.post(url, data=theirs | {"terr_hauteur_max_m": "18"})
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    kept = form_values(html, "formulaire-terrain")
    assert (kept["terr_m2_prix"], kept["terr_hauteur_max_m"]) == ("55", "18")
    assert "-conflit" not in html  # nobody else touched the height: nothing to flag

    assert second.post(url, data=kept).status_code == 302
    saved = stored(session, Terrain, plot.terr_id)
    assert (saved.terr_m2_prix, saved.terr_hauteur_max_m) == (Decimal("55"), Decimal("18"))


def test_a_field_both_changed_shows_both_values_and_keeps_mine(session, first, second):
    plot = plot_on_sale(session)
    url = f"/terrains/{plot.terr_id}/modifier"
    mine, theirs = (
        form_of(first, url, "formulaire-terrain"),
        form_of(second, url, "formulaire-terrain"),
    )
    assert (
        first.post(url, data=mine | {"terr_m2_prix": "55", "terr_puissance_kva": "250"}).status_code
        == 302
    )

    refused = page_of(second.post(url, data=theirs | {"terr_m2_prix": "42"}))
    assert refused.status == 409
    kept = form_values(refused.html, "formulaire-terrain")
    # Only the second person's field: the power the first one set is taken as it is now.
    assert (kept["terr_m2_prix"], kept["terr_puissance_kva"]) == ("42", "250")
    flag = refused.element_text("terr_m2_prix-conflit")
    assert "42 €/m²" in flag and "55 €/m²" in flag and "Référent" in flag
    assert 'id="terr_puissance_kva-conflit"' not in refused.html
    assert "terr_m2_prix-conflit" in refused.html.split('id="terr_m2_prix"')[1].split("</div>")[0]

    assert second.post(url, data=kept).status_code == 302
    saved = stored(session, Terrain, plot.terr_id)
    assert (saved.terr_m2_prix, saved.terr_puissance_kva) == (Decimal("42"), 250)


def test_two_owner_edits_at_once_keep_the_first(session, first, second):
    owner = session.scalars(
        select(Owner).join(Terrain).where(Terrain.site_id == POLAXIS).order_by(Owner.id)
    ).first()
    url = f"/proprietaires/{owner.id}/modifier"
    mine, theirs = (
        form_of(first, url, "formulaire-proprietaire"),
        form_of(second, url, "formulaire-proprietaire"),
    )
    assert mine["version"] == theirs["version"] == str(owner.version)
    name = owner.nom
    assert (
        first.post(url, data=mine | {"adresse": "1 rue de l’Essai, 37370 Neuvy-le-Roi"}).status_code
        == 302
    )

    refused = second.post(url, data=theirs | {"nom": "SCI Autre Nom"})
    assert refused.status_code == 409
    text = visible_text(refused.get_data(as_text=True))
    assert "Quelqu’un a enregistré ce propriétaire pendant que vous le modifiiez" in text
    assert "Adresse" in text and "→ 1 rue de l’Essai, 37370 Neuvy-le-Roi" in text
    saved = stored(session, Owner, owner.id)
    assert (saved.nom, saved.adresse) == (name, "1 rue de l’Essai, 37370 Neuvy-le-Roi")

    kept = form_values(refused.get_data(as_text=True), "formulaire-proprietaire")
    assert (kept["nom"], kept["adresse"]) == (
        "SCI Autre Nom",
        "1 rue de l’Essai, 37370 Neuvy-le-Roi",
    )
    assert second.post(url, data=kept).status_code == 302
    saved = stored(session, Owner, owner.id)
    assert (saved.nom, saved.adresse) == ("SCI Autre Nom", "1 rue de l’Essai, 37370 Neuvy-le-Roi")
