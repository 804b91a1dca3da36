"""The edit pages: forms in French, messages beside the fields, quick status changes, owners,
history pages and their CSV exports."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from geoalchemy2.shape import to_shape
from shapely import box
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_helpers import form_of, form_values, visible_text

from foncier.inventory.geometry_input import geojson_wgs84_text
from foncier.models import AuditEvent, Commune, Epci, Owner, Site, Terrain
from seed.accounts import COORDINATOR_EMAIL

POLAXIS = "37167_SITE-ECO_00005"
GATINE_RACAN = "200073237"
REFERENT_EMAIL = "referent.gatine-racan@demo.foncier.test"
OTHER_REFERENT_EMAIL = "referent.tours-metropole-val-de-loire@demo.foncier.test"


@pytest.fixture
def referent(client_for) -> FlaskClient:
    return client_for(REFERENT_EMAIL)


def plot_of(session: Session, stade: str | None = None) -> Terrain:
    query = select(Terrain).where(Terrain.site_id == POLAXIS).order_by(Terrain.terr_id)
    if stade:
        query = query.where(Terrain.terr_stade_comm == stade)
    return session.scalars(query).first()


def reloaded(session: Session, terr_id: str) -> Terrain:
    session.expire_all()
    return session.get(Terrain, terr_id)


def text_of(response) -> str:
    return visible_text(response.get_data(as_text=True))


# --- plot forms ----------------------------------------------------------------------------


def test_the_plot_form_shows_every_field_in_french_with_the_current_values(
    session, referent, get_page
):
    plot = plot_of(session)
    page = get_page(f"/terrains/{plot.terr_id}/modifier", through=referent)
    assert page.status == 200
    for label in ("Contour du terrain", "Stade de commercialisation", "Superficie brute (ha)",
                  "Prix (€/m²)", "Régime ICPE maximal admis", "Acquéreur"):  # fmt: skip
        assert label in page.text
    values = form_values(page.html, "formulaire-terrain")
    assert values["version"] == str(plot.version)
    assert values["terr_stade_comm"] == plot.terr_stade_comm
    assert values["terr_surf_brute"] == format(plot.terr_surf_brute.normalize(), "f").replace(
        ".", ","
    )
    assert '"type":"Polygon"' in values["terr_geomsurf"]
    assert "Surface calculée du contour" in page.text


def test_saving_a_plot_records_the_change_and_says_so(session, referent):
    plot = plot_of(session)
    version = plot.version
    values = form_of(referent, f"/terrains/{plot.terr_id}/modifier", "formulaire-terrain")
    values["terr_m2_prix"] = "24,5"
    response = referent.post(f"/terrains/{plot.terr_id}/modifier", data=values)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/terrains/{plot.terr_id}")
    assert f"Terrain {plot.terr_id} enregistré." in text_of(
        referent.get(response.headers["Location"])
    )
    saved = reloaded(session, plot.terr_id)
    assert (saved.terr_m2_prix, saved.version) == (Decimal("24.5"), version + 1)
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.terr_id == plot.terr_id).order_by(AuditEvent.id.desc())
    ).first()
    # The outline went to the browser and back unchanged: it is not recorded as a change.
    assert set(event.changes) == {"terr_m2_prix", "terr_actu_date"}
    assert event.actor_label == REFERENT_EMAIL


def test_refused_values_stay_as_typed_with_french_messages_beside_them(session, referent):
    plot = plot_of(session)
    values = form_of(referent, f"/terrains/{plot.terr_id}/modifier", "formulaire-terrain")
    values |= {
        "terr_surf_brute": "deux hectares",
        "terr_stade_comm": "",
        "terr_dispo_date": "31/02/2027",
    }
    response = referent.post(f"/terrains/{plot.terr_id}/modifier", data=values)
    assert response.status_code == 400
    html, text = response.get_data(as_text=True), text_of(response)
    assert 'value="deux hectares"' in html and 'value="31/02/2027"' in html
    assert "Saisissez un nombre, par exemple 2,5." in text
    assert "Ce champ est obligatoire." in text and "Date attendue" in text
    assert 'id="terr_surf_brute-erreurs"' in html and 'aria-invalid="true"' in html
    assert reloaded(session, plot.terr_id).version == plot.version


def test_a_url_the_cnig_import_would_refuse_is_refused_beside_its_field(session, referent):
    plot = plot_of(session)
    url = f"/terrains/{plot.terr_id}/modifier"
    values = form_of(referent, url, "formulaire-terrain")
    response = referent.post(url, data=values | {"terr_url_cartofriches": "cartofriches.fr/x"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    errors = html.split('id="terr_url_cartofriches-erreurs"')[1].split("</ul>")[0]
    assert "Adresse web attendue" in errors and "https://" in errors
    assert reloaded(session, plot.terr_id).version == plot.version


def test_the_edit_form_refuses_a_sale_without_buyer_date_and_amount(session, referent):
    plot = plot_of(session, "en vente")
    url = f"/terrains/{plot.terr_id}/modifier"
    values = form_of(referent, url, "formulaire-terrain")
    refused = referent.post(
        url, data=values | {"terr_stade_comm": "vendu, commercialisation achevée"}
    )
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    for name in ("terr_acquereur", "terr_cession_date", "terr_vente_montant"):
        assert f'id="{name}-erreurs"' in html
    assert reloaded(session, plot.terr_id).terr_stade_comm == "en vente"


def test_an_outline_outside_the_park_is_refused_beside_the_map(session, referent):
    plot = plot_of(session)
    values = form_of(referent, f"/terrains/{plot.terr_id}/modifier", "formulaire-terrain")
    tours = to_shape(session.get(Commune, "37261").geom).representative_point()
    values["terr_geomsurf"] = box(tours.x, tours.y, tours.x + 80, tours.y + 80).wkt
    response = referent.post(f"/terrains/{plot.terr_id}/modifier", data=values)
    assert response.status_code == 400
    assert "Le contour sort du périmètre du parc Polaxis" in text_of(response)
    assert to_shape(reloaded(session, plot.terr_id).terr_geomsurf).equals(
        to_shape(plot.terr_geomsurf)
    )


def test_a_plot_drawn_in_the_park_is_created_with_a_new_cnig_id(session, referent):
    outline = to_shape(plot_of(session).terr_geomsurf).buffer(-10, join_style="mitre")
    values = form_of(referent, f"/sites/{POLAXIS}/terrains/nouveau", "formulaire-terrain")
    declared = outline.area / 10_000 * 1.5  # far from the drawing: a warning, not a refusal
    values |= {
        "terr_surf_brute": f"{declared:.4f}".replace(".", ","),
        "terr_stade_comm": "en vente",
        "terr_stade_amngt": "viabilisé non aménagé",
        "terr_maitrise_fonc": "structure intercommunale",
        "terr_etat_occup": "inoccupé",
        "terr_usage": "sans objet",
        "terr_geomsurf": geojson_wgs84_text(outline),
    }
    response = referent.post(f"/sites/{POLAXIS}/terrains/nouveau", data=values)
    assert response.status_code == 302, text_of(response)[:2000]
    terr_id = response.headers["Location"].rsplit("/", 1)[1]
    assert terr_id.startswith("37167_TERRAIN-ECO_")
    created = session.get(Terrain, terr_id)
    assert created.site_id == POLAXIS and created.terr_stade_comm == "en vente"
    # Through the browser's degrees and back: the same outline, to a centimetre or so.
    assert to_shape(created.terr_geomsurf).hausdorff_distance(outline) < 0.05
    page = text_of(referent.get(response.headers["Location"]))
    assert f"Terrain {terr_id} créé." in page and "diffère de plus de 10 %" in page


def test_a_new_park_is_placed_in_a_commune_of_the_referents_epci(session, referent):
    response = referent.get("/sites/nouveau")
    html = response.get_data(as_text=True)
    offered = form_values(html, "formulaire-parc")
    communes = {c.insee for c in session.scalars(select(Commune).where(
        Commune.epci_siren == GATINE_RACAN))}  # fmt: skip
    assert 'value="37261"' not in html and all(f'value="{i}"' in html for i in communes)
    centre = to_shape(session.get(Commune, "37167").geom).representative_point()
    perimeter = box(centre.x - 150, centre.y - 150, centre.x + 150, centre.y + 150)
    offered |= {
        "site_nom": "Parc des Essais du Racan",
        "site_comm_insee": "37167",
        "site_type": "zone d'activité économique",
        "site_vocadomi": "artisanale",
        "site_etat": "en projet",
        "site_surf_brute": "9",
        "site_surf_utile": "8,5",
        "site_moa_type": "epci",
        "reseau_fibre_optique": "oui",
        "site_geomsurf": geojson_wgs84_text(perimeter),
    }
    response = referent.post("/sites/nouveau", data=offered)
    assert response.status_code == 302, text_of(response)[:2000]
    site = session.get(Site, response.headers["Location"].rsplit("/", 1)[1])
    assert site.site_nom == "Parc des Essais du Racan" and site.site_epci_siren == GATINE_RACAN
    assert site.reseau_fibre_optique is True and site.reseau_gaz is None
    assert site.site_surf_utile == Decimal("8.5")


def test_a_park_edit_keeps_its_values_and_saves_a_new_name(session, referent):
    site = session.get(Site, POLAXIS)
    version, surface, electricity = site.version, site.site_surf_brute, site.reseau_electrique
    values = form_of(referent, f"/sites/{POLAXIS}/modifier", "formulaire-parc")
    assert values["site_comm_insee"] == site.site_comm_insee
    values["site_nom"] = "Polaxis (parc d’essai)"
    response = referent.post(f"/sites/{POLAXIS}/modifier", data=values)
    assert response.status_code == 302
    session.expire_all()
    saved = session.get(Site, POLAXIS)
    assert saved.site_nom == "Polaxis (parc d’essai)" and saved.version == version + 1
    # Values the form sent back as they were are unchanged, booleans and surfaces included.
    assert (saved.site_surf_brute, saved.reseau_electrique) == (surface, electricity)


# --- quick status changes ------------------------------------------------------------------


def test_a_status_change_is_one_click_then_a_confirmation(session, referent):
    plot = plot_of(session, "en vente")
    page = referent.get(f"/terrains/{plot.terr_id}")
    assert f"/terrains/{plot.terr_id}/statut?action=retrait" in page.get_data(as_text=True)
    confirm = referent.get(f"/terrains/{plot.terr_id}/statut?action=retrait")
    assert "Retirer ce terrain de la commercialisation ?" in text_of(confirm)
    values = form_values(confirm.get_data(as_text=True), "confirmation-statut")
    response = referent.post(f"/terrains/{plot.terr_id}/statut", data=values)
    assert response.status_code == 302
    assert reloaded(session, plot.terr_id).terr_stade_comm == "non commercialisé"
    history = text_of(referent.get(f"/terrains/{plot.terr_id}/historique"))
    assert "Retrait de la commercialisation" in history
    assert "Stade de commercialisation : en vente → non commercialisé" in history


def test_a_sale_asks_for_buyer_date_and_amount(session, referent):
    plot = plot_of(session, "en vente")
    url = f"/terrains/{plot.terr_id}/statut"
    values = form_of(referent, f"{url}?action=vente", "confirmation-statut")
    refused = referent.post(url, data=values)
    assert refused.status_code == 400
    assert "Indiquez l’acquéreur." in text_of(refused)
    assert "Indiquez le montant de la vente." in text_of(refused)
    values |= {"terr_acquereur": "SAS Essai", "terr_cession_date": "2024-06-30",
               "terr_vente_montant": "412 000"}  # fmt: skip
    assert referent.post(url, data=values).status_code == 302
    sale = session.execute(
        select(Terrain.terr_stade_comm, Terrain.terr_acquereur, Terrain.terr_vente_montant)
        .where(Terrain.terr_id == plot.terr_id)
        .execution_options(populate_existing=True)
    ).one()
    assert tuple(sale) == ("vendu, commercialisation achevée", "SAS Essai", Decimal("412000"))


@pytest.mark.parametrize(
    "action, stade, message",
    [
        ("mise-en-vente", "non commercialisé", "mise en vente enregistrée."),
        ("reservation", "en vente", "réservation (option) enregistrée."),
        ("vente", "en vente", "vente enregistrée."),
        ("retrait", "en vente", "retrait de la commercialisation enregistré."),
    ],
)
def test_each_status_change_is_confirmed_in_correct_french(
    session, referent, action, stade, message
):
    plot = plot_of(session, "en vente")
    plot.terr_stade_comm = stade
    session.flush()
    url = f"/terrains/{plot.terr_id}/statut"
    values = form_of(referent, f"{url}?action={action}", "confirmation-statut")
    values |= {"terr_acquereur": "SAS Essai", "terr_cession_date": "2024-06-30",
               "terr_vente_montant": "412000"}  # fmt: skip
    response = referent.post(url, data=values)
    assert response.status_code == 302
    assert f"Terrain {plot.terr_id} : {message}" in text_of(
        referent.get(response.headers["Location"])
    )


def test_putting_a_sold_plot_back_on_sale_says_its_sale_is_cleared(session, referent):
    plot = plot_of(session, "vendu, commercialisation achevée")
    url = f"/terrains/{plot.terr_id}/statut"
    confirm = referent.get(f"{url}?action=mise-en-vente")
    assert "L’acquéreur, la date et le montant de la vente seront effacés" in text_of(confirm)
    values = form_values(confirm.get_data(as_text=True), "confirmation-statut")
    assert referent.post(url, data=values).status_code == 302
    saved = reloaded(session, plot.terr_id)
    assert (saved.terr_stade_comm, saved.terr_acquereur, saved.terr_vente_montant) == (
        "en vente",
        None,
        None,
    )


def test_an_unknown_status_action_is_a_bad_request(session, referent):
    assert (
        referent.get(f"/terrains/{plot_of(session).terr_id}/statut?action=brader").status_code
        == 400
    )


# --- who sees what -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email, edits",
    [(REFERENT_EMAIL, True), (COORDINATOR_EMAIL, True), (OTHER_REFERENT_EMAIL, False),
     ("partenaire@demo.foncier.test", False)],
)  # fmt: skip
def test_edit_buttons_and_private_data_show_only_to_who_may_use_them(
    session, client_for, email, edits
):
    # A private person: owners that are public bodies are named elsewhere on the page.
    owner = session.scalars(
        select(Owner)
        .join(Terrain)
        .join(Site)
        .where(Site.site_epci_siren == GATINE_RACAN, Owner.nom.not_in(select(Epci.nom)))
        .order_by(Owner.id)
    ).first()
    plot, owner_name = owner.terrain, owner.nom
    client = client_for(email)
    plot_page = client.get(f"/terrains/{plot.terr_id}").get_data(as_text=True)
    park_page = client.get(f"/sites/{plot.site_id}").get_data(as_text=True)
    assert ('id="modifier-terrain"' in plot_page) is edits
    assert ('id="changements-statut"' in plot_page) is edits
    assert ('id="donnees-confidentielles"' in plot_page) is edits
    if edits:  # the sale is exported, on request, by those who see it: say so truthfully
        note = visible_text(plot_page.split('id="donnees-confidentielles"')[1].split("</p>")[0])
        assert "jamais export" not in note.replace("Les propriétaires ne sont jamais exportés", "")
        assert "sur demande" in note and "coordinateur du réseau" in note
    assert (owner_name in plot_page) is edits
    assert ('id="modifier-parc"' in park_page) is edits
    assert 'id="historique-terrain"' in plot_page and 'id="historique-parc"' in park_page


# --- owners --------------------------------------------------------------------------------


def test_owners_are_added_changed_and_removed_through_the_pages(session, referent):
    plot = plot_of(session)
    url = f"/terrains/{plot.terr_id}/proprietaires/nouveau"
    values = form_of(referent, url, "formulaire-proprietaire")
    refused = referent.post(url, data=values | {"siren": "12AB"})
    assert refused.status_code == 400 and "Ce champ est obligatoire." in text_of(refused)
    values |= {"nom": "SCI Les Tilleuls", "nature": "personne morale", "siren": "812345678"}
    assert referent.post(url, data=values).status_code == 302
    owner = session.scalars(select(Owner).where(Owner.nom == "SCI Les Tilleuls")).one()
    edit = form_of(referent, f"/proprietaires/{owner.id}/modifier", "formulaire-proprietaire")
    assert edit["siren"] == "812345678"
    edit["adresse"] = "3 rue des Tilleuls, 37360 Neuillé-Pont-Pierre"
    assert referent.post(f"/proprietaires/{owner.id}/modifier", data=edit).status_code == 302
    confirm = form_of(referent, f"/proprietaires/{owner.id}/supprimer", "confirmation-retrait")
    assert referent.post(f"/proprietaires/{owner.id}/supprimer", data=confirm).status_code == 302
    owner_id = owner.id
    session.expunge(owner)
    assert session.get(Owner, owner_id) is None
    reasons = [e.reason for e in session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "owner",
                                 AuditEvent.entity_id == str(owner_id)).order_by(AuditEvent.id)
    )]  # fmt: skip
    assert reasons == [
        "Ajout d’un propriétaire",
        "Modification d’un propriétaire",
        "Retrait d’un propriétaire",
    ]


# --- history -------------------------------------------------------------------------------


def test_history_pages_show_changes_and_export_them_masked_for_others(
    session, referent, client_for
):
    plot = plot_of(session, "en vente")
    url = f"/terrains/{plot.terr_id}/statut"
    values = form_of(referent, f"{url}?action=vente", "confirmation-statut")
    values |= {"terr_acquereur": "Groupe Confidentiel SA", "terr_cession_date": "01/09/2025",
               "terr_vente_montant": "250000"}  # fmt: skip
    assert referent.post(url, data=values).status_code == 302
    own = text_of(referent.get(f"/sites/{POLAXIS}/historique"))
    assert "Acquéreur : — → Groupe Confidentiel SA" in own and "Vente" in own
    other = client_for(OTHER_REFERENT_EMAIL)
    masked = text_of(other.get(f"/sites/{POLAXIS}/historique"))
    assert "Groupe Confidentiel SA" not in masked and "Acquéreur : (confidentiel)" in masked
    export = other.get(f"/sites/{POLAXIS}/historique?format=csv")
    assert export.mimetype == "text/csv"
    assert f'filename="historique-{POLAXIS}.csv"' in export.headers["Content-Disposition"]
    rows = list(
        csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff")), delimiter=";")
    )
    sold = [row for row in rows if row[9] == "Vente" and row[10] == "Acquéreur"]
    assert sold and sold[0][12] == "(confidentiel)"


def test_the_network_history_filters_by_epci(session, referent, get_page):
    plot = plot_of(session)
    values = form_of(referent, f"/terrains/{plot.terr_id}/modifier", "formulaire-terrain")
    assert referent.post(f"/terrains/{plot.terr_id}/modifier", data=values | {
        "terr_m2_prix": "31"}).status_code == 302  # fmt: skip
    page = get_page(f"/historique?epci={GATINE_RACAN}")
    assert page.status == 200 and plot.terr_id in page.text
    assert plot.terr_id not in get_page("/historique?epci=243700754").text
    assert get_page("/historique?epci=999999999").status == 404
    export = get_page(f"/historique?epci={GATINE_RACAN}&format=csv")
    assert plot.terr_id in export.html and export.html.count("\n") > 10
    assert get_page(f"/terrains/{plot.terr_id}/historique?page=999").status == 404
