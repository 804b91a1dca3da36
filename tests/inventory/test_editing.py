"""Editing parks, plots, stages and owners in the core: rights, checks, versions, audit."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from geoalchemy2.shape import to_shape
from shapely import MultiPolygon, Polygon, box
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from foncier.core import audit
from foncier.core.errors import (
    NotFoundError,
    PermissionDeniedError,
    StaleVersionError,
    ValidationError,
)
from foncier.core.formulas import FORMULA_MESSAGE
from foncier.core.permissions import Actor, Role
from foncier.inventory import editing, owners, parks, plot_status, plots
from foncier.inventory.plot_status import Sale, StatusAction
from foncier.inventory.queries import get_terrain_detail
from foncier.models import AuditEvent, Commune, Owner, Site, Terrain

GATINE_RACAN, METROPOLE = "200073237", "243700754"
POLAXIS, ATLANTES = "37167_SITE-ECO_00005", "37233_SITE-ECO_00019"
REFERENT = Actor("referent@example.org", Role.REFERENT, None, GATINE_RACAN)
OTHER_REFERENT = Actor("voisin@example.org", Role.REFERENT, None, METROPOLE)
COORDINATOR = Actor("coordination@example.org", Role.COORDINATEUR)
PARTNER = Actor("partenaire@example.org", Role.PARTENAIRE)
TODAY = date(2026, 10, 5)


def first_plot(session: Session, site_id: str = POLAXIS) -> Terrain:
    return session.scalars(
        select(Terrain).where(Terrain.site_id == site_id).order_by(Terrain.terr_id)
    ).first()


def inside(plot: Terrain, metres: float = 5) -> Polygon:
    """A polygon strictly inside an existing plot, hence inside its park."""
    return to_shape(plot.terr_geomsurf).buffer(-metres, join_style="mitre")


def square_in_commune(session: Session, insee: str, side: float = 100) -> Polygon:
    point = to_shape(session.get(Commune, insee).geom).representative_point()
    return box(point.x - side / 2, point.y - side / 2, point.x + side / 2, point.y + side / 2)


def plot_values(outline: Polygon, **changes) -> dict:
    hectares = Decimal(repr(outline.area / 10_000)).quantize(Decimal("0.0001"))
    return {
        "terr_surf_brute": hectares,
        "terr_maitrise_fonc": "structure intercommunale",
        "terr_stade_amngt": "viabilisé et aménagé",
        "terr_stade_comm": "en vente",
        "terr_etat_occup": "inoccupé",
        "terr_usage": "sans objet",
        "terr_m2_prix": Decimal("18.50"),
        "terr_geomsurf": outline,
        **changes,
    }


def site_values(session: Session, insee: str = "37167", **changes) -> dict:
    perimeter = square_in_commune(session, insee, side=300)
    return {
        "site_nom": "Parc d’essai des Tilleuls",
        "site_type": "zone d'activité économique",
        "site_vocadomi": "artisanale",
        "site_etat": "en projet",
        "site_surf_brute": Decimal("9"),
        "site_surf_utile": Decimal("8"),
        "site_comm_insee": insee,
        "site_moa_type": "epci",
        "site_geomsurf": perimeter,
        **changes,
    }


def audit_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent))


# --- plots ---------------------------------------------------------------------------------


def test_a_referent_creates_a_plot_in_a_park_of_their_epci(session):
    outline = inside(first_plot(session))
    saved = plots.create_terrain(session, REFERENT, POLAXIS, plot_values(outline), today=TODAY)
    plot = saved.record
    assert plot.terr_id.startswith("37167_TERRAIN-ECO_") and len(plot.terr_id) == 23
    numbers = session.scalars(
        select(Terrain.terr_id).where(Terrain.terr_id.startswith("37167_TERRAIN-ECO_"))
    ).all()
    assert plot.terr_id == max(numbers)
    assert (plot.terr_identif_date, plot.terr_actu_date, plot.version) == (TODAY, TODAY, 1)
    assert to_shape(plot.terr_geomsurf).equals(outline)
    event = session.scalars(audit.terrain_history(plot.terr_id)).first()
    assert (event.action, event.reason, event.actor_label) == (
        "create",
        "Création du terrain",
        "referent@example.org",
    )
    assert not saved.surface.differs


def test_plot_ids_follow_the_highest_number_of_the_park_commune(session):
    site = session.get(Site, POLAXIS)
    highest = session.scalar(
        select(func.max(Terrain.terr_id)).where(Terrain.terr_id.startswith("37167_TERRAIN-ECO_"))
    )
    following = int(highest.rsplit("_", 1)[1]) + 1
    assert plots.next_terrain_id(session, site) == f"37167_TERRAIN-ECO_{following:05d}"


@pytest.mark.parametrize("actor", [OTHER_REFERENT, PARTNER])
def test_creating_a_plot_elsewhere_or_read_only_is_refused_and_writes_nothing(session, actor):
    outline = inside(first_plot(session))
    before = (session.scalar(select(func.count()).select_from(Terrain)), audit_count(session))
    with pytest.raises(PermissionDeniedError):
        plots.create_terrain(session, actor, POLAXIS, plot_values(outline))
    after = (session.scalar(select(func.count()).select_from(Terrain)), audit_count(session))
    assert after == before


def test_the_coordinator_edits_every_epci(session):
    plot = first_plot(session, ATLANTES)
    saved = plots.update_terrain(
        session,
        COORDINATOR,
        plot.terr_id,
        {"terr_m2_prix": Decimal("33")},
        expected_version=plot.version,
    )
    assert saved.record.terr_m2_prix == Decimal("33")


def test_an_outline_outside_the_park_is_refused_next_to_the_field(session):
    elsewhere = square_in_commune(session, "37261")  # Tours, far from Polaxis
    with pytest.raises(ValidationError) as refused:
        plots.create_terrain(session, REFERENT, POLAXIS, plot_values(elsewhere))
    assert "sort du périmètre du parc Polaxis" in refused.value.errors["terr_geomsurf"]


def test_a_self_intersecting_outline_is_refused_with_the_point(session):
    x, y = inside(first_plot(session)).centroid.coords[0]
    bowtie = Polygon([(x, y), (x + 20, y + 20), (x + 20, y), (x, y + 20), (x, y)])
    with pytest.raises(ValidationError) as refused:
        plots.create_terrain(session, REFERENT, POLAXIS, plot_values(bowtie))
    assert "auto-intersection" in refused.value.errors["terr_geomsurf"]


def test_a_plot_needs_one_polygon(session):
    outline = inside(first_plot(session))
    with pytest.raises(ValidationError) as refused:
        plots.create_terrain(session, REFERENT, POLAXIS, plot_values(MultiPolygon([outline])))
    assert refused.value.errors["terr_geomsurf"] == "Dessinez un seul polygone."


def test_every_problem_is_reported_at_once_in_french(session):
    values = plot_values(
        inside(first_plot(session)),
        terr_stade_comm="à vendre",
        terr_maitrise_fonc=None,
        terr_surf_brute=Decimal("0"),
        terr_lot_min_ha=Decimal("0.5"),
        terr_divisible=False,
        terr_refcad="AB12",
    )
    with pytest.raises(ValidationError) as refused:
        plots.create_terrain(session, REFERENT, POLAXIS, values)
    assert refused.value.errors == {
        "terr_stade_comm": "Choisissez une valeur de la liste.",
        "terr_maitrise_fonc": "Ce champ est obligatoire.",
        "terr_surf_brute": "La valeur doit être strictement positive.",
        "terr_lot_min_ha": "Un lot minimal ne se donne que pour un terrain divisible.",
        "terr_refcad": refused.value.errors["terr_refcad"],
    }
    assert "14 caractères" in refused.value.errors["terr_refcad"]


def test_a_declared_surface_far_from_the_drawn_one_is_a_warning_not_a_refusal(session):
    outline = inside(first_plot(session))
    drawn = Decimal(repr(outline.area / 10_000))
    values = plot_values(
        outline, terr_surf_brute=(drawn * Decimal("1.2")).quantize(Decimal("0.01"))
    )
    saved = plots.create_terrain(session, REFERENT, POLAXIS, values)
    assert saved.surface.differs
    assert "diffère de plus de 10 %" in saved.surface.warning
    assert editing.surface_check(drawn * Decimal("1.05"), outline).warning is None


def test_an_update_records_before_and_after_and_the_new_version(session):
    plot = first_plot(session)
    version, price = plot.version, plot.terr_m2_prix
    plots.update_terrain(
        session,
        REFERENT,
        plot.terr_id,
        {"terr_m2_prix": Decimal("21.40"), "terr_geomsurf": to_shape(plot.terr_geomsurf)},
        expected_version=version,
        today=TODAY,
    )
    assert (plot.version, plot.terr_actu_date) == (version + 1, TODAY)
    event = session.scalars(audit.terrain_history(plot.terr_id)).first()
    assert event.reason == "Modification du terrain" and event.version == version + 1
    # The outline sent back unchanged by the form is not a change.
    assert set(event.changes) == {"terr_m2_prix", "terr_actu_date"}
    assert event.changes["terr_m2_prix"][1] == "21.4"
    assert price is None or event.changes["terr_m2_prix"][0] == format(price.normalize(), "f")


def test_a_save_from_an_old_version_is_refused_with_the_record_as_it_is_now(session):
    plot = first_plot(session)
    plots.update_terrain(
        session, REFERENT, plot.terr_id, {"terr_m2_prix": Decimal("20")},
        expected_version=plot.version,
    )  # fmt: skip
    events = audit_count(session)
    with pytest.raises(StaleVersionError) as stale:
        plots.update_terrain(
            session, COORDINATOR, plot.terr_id, {"terr_m2_prix": Decimal("25")},
            expected_version=plot.version - 1,
        )  # fmt: skip
    assert stale.value.current is plot and plot.terr_m2_prix == Decimal("20")
    assert "Quelqu’un a enregistré ce terrain" in str(stale.value)
    assert audit_count(session) == events


def test_a_save_racing_another_one_is_refused_too(session):
    """Someone commits between our read and our UPDATE: the version check passed, the
    UPDATE matches no row; the session stays usable and shows their version."""
    plot = first_plot(session)
    version = plot.version
    session.execute(
        text("UPDATE terrain SET version = version + 1, terr_m2_prix = 99 WHERE terr_id = :id"),
        {"id": plot.terr_id},
    )
    with pytest.raises(StaleVersionError) as stale:
        plots.update_terrain(
            session, REFERENT, plot.terr_id, {"terr_m2_prix": Decimal("25")},
            expected_version=version,
        )  # fmt: skip
    assert stale.value.current.version == version + 1
    assert stale.value.current.terr_m2_prix == Decimal("99")
    assert session.scalar(select(func.count()).select_from(Terrain)) > 0  # still usable


def test_a_stale_edit_is_replayed_on_the_record_as_it_is_now(session):
    """Only what the late person changed from the version they loaded is theirs; the rest is
    taken from the record as it is now; a field both changed is a clash with both values."""
    plot = first_plot(session)
    loaded = plot.version
    as_loaded = {
        "terr_m2_prix": plot.terr_m2_prix,
        "terr_hauteur_max_m": plot.terr_hauteur_max_m,
        "terr_puissance_kva": plot.terr_puissance_kva,
        "terr_geomsurf": to_shape(plot.terr_geomsurf),
    }
    redrawn = inside(plot, 2)
    plots.update_terrain(
        session, COORDINATOR, plot.terr_id,
        {"terr_m2_prix": Decimal("55"), "terr_puissance_kva": 250, "terr_geomsurf": redrawn},
        expected_version=loaded,
    )  # fmt: skip
    late = as_loaded | {"terr_hauteur_max_m": Decimal("18"), "terr_puissance_kva": 400}
    rebased = editing.rebase_edit(session, plot, loaded, late)
    assert rebased.from_current == {"terr_m2_prix", "terr_geomsurf"}
    assert set(rebased.clashes) == {"terr_puissance_kva"}
    clash = rebased.clashes["terr_puissance_kva"]
    assert (clash.mine, clash.theirs) == ("400\u00a0kVA", "250\u00a0kVA")
    assert clash.who == COORDINATOR.label


@pytest.mark.parametrize(
    "url, accepted",
    [
        ("https://cartofriches.cerema.fr/cartofriches/?site=37167_1", True),
        ("http://exemple.fr", True),
        ("www.exemple.fr", False),
        ("https://exemple.fr/une page", False),
        ("ftp://exemple.fr/fichier", False),
    ],
)
def test_a_plot_url_must_pass_the_cnig_import_check(session, url, accepted):
    plot = first_plot(session)
    values = {"terr_url_cartofriches": url}
    if accepted:
        plots.update_terrain(session, REFERENT, plot.terr_id, values, expected_version=plot.version)
        assert plot.terr_url_cartofriches == url
        return
    with pytest.raises(ValidationError) as refused:
        plots.update_terrain(session, REFERENT, plot.terr_id, values, expected_version=plot.version)
    assert "Adresse web" in refused.value.errors["terr_url_cartofriches"]


def test_unknown_records_are_not_found(session):
    with pytest.raises(NotFoundError):
        plots.update_terrain(session, REFERENT, "37167_TERRAIN-ECO_99999", {}, expected_version=1)
    with pytest.raises(NotFoundError):
        plots.create_terrain(session, REFERENT, "37167_SITE-ECO_99999", {})


# --- marketing stage -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "action, stade, reason",
    [
        (StatusAction.PUT_ON_SALE, "en vente", "Mise en vente"),
        (StatusAction.RESERVE, "réservé par option de réservation", "Réservation (option)"),
        (StatusAction.WITHDRAW, "non commercialisé", "Retrait de la commercialisation"),
    ],
)
def test_each_quick_status_change_sets_the_cnig_stage_and_is_recorded(
    session, action, stade, reason
):
    plot = session.scalars(
        select(Terrain)
        .where(Terrain.site_id == POLAXIS, Terrain.terr_stade_comm != stade)
        .order_by(Terrain.terr_id)
    ).first()
    before = plot.terr_stade_comm
    plot_status.change_terrain_status(
        session, REFERENT, plot.terr_id, action, expected_version=plot.version, today=TODAY
    )
    assert plot.terr_stade_comm == stade
    event = session.scalars(audit.terrain_history(plot.terr_id)).first()
    assert event.reason == reason
    assert event.changes["terr_stade_comm"] == [before, stade]


def test_a_sale_needs_buyer_date_and_amount(session):
    plot = first_plot(session)
    with pytest.raises(ValidationError) as refused:
        plot_status.change_terrain_status(
            session, REFERENT, plot.terr_id, StatusAction.SELL,
            expected_version=plot.version,
            sale=Sale("  ", TODAY + timedelta(days=1), Decimal("0")),
            today=TODAY,
        )  # fmt: skip
    assert set(refused.value.errors) == {
        "terr_acquereur",
        "terr_cession_date",
        "terr_vente_montant",
    }
    assert "futur" in refused.value.errors["terr_cession_date"]


def test_a_sale_records_the_buyer_with_the_stage(session):
    plot = session.scalars(
        select(Terrain).where(Terrain.site_id == POLAXIS, Terrain.terr_stade_comm == "en vente")
    ).first()
    sale = Sale("SAS Logistique Essai", TODAY, Decimal("350000"))
    plot_status.change_terrain_status(
        session, REFERENT, plot.terr_id, StatusAction.SELL,
        expected_version=plot.version, sale=sale, today=TODAY,
    )  # fmt: skip
    row = session.execute(
        select(Terrain.terr_stade_comm, Terrain.terr_acquereur, Terrain.terr_vente_montant).where(
            Terrain.terr_id == plot.terr_id
        )
    ).one()
    assert tuple(row) == ("vendu, commercialisation achevée", "SAS Logistique Essai", 350000)
    event = session.scalars(audit.terrain_history(plot.terr_id)).first()
    assert event.reason == "Vente" and event.changes["terr_acquereur"][1] == "SAS Logistique Essai"


def sold_plot(session: Session) -> Terrain:
    return session.scalars(
        select(Terrain)
        .where(Terrain.site_id == POLAXIS, Terrain.terr_stade_comm == editing.SOLD)
        .order_by(Terrain.terr_id)
    ).first()


def test_the_edit_form_sells_a_plot_only_with_the_quick_actions_rules(session):
    plot = session.scalars(
        select(Terrain).where(Terrain.site_id == POLAXIS, Terrain.terr_stade_comm == "en vente")
    ).first()
    sold = {"terr_stade_comm": editing.SOLD}
    with pytest.raises(ValidationError) as refused:
        plots.update_terrain(
            session, REFERENT, plot.terr_id, sold, expected_version=plot.version, today=TODAY
        )
    assert set(refused.value.errors) == {
        "terr_acquereur",
        "terr_cession_date",
        "terr_vente_montant",
    }
    future = sold | {"terr_acquereur": "SAS Essai", "terr_cession_date": TODAY + timedelta(1),
                     "terr_vente_montant": Decimal("0")}  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        plots.update_terrain(
            session, REFERENT, plot.terr_id, future, expected_version=plot.version, today=TODAY
        )
    assert "futur" in refused.value.errors["terr_cession_date"]
    assert "strictement positif" in refused.value.errors["terr_vente_montant"]
    assert plot.terr_stade_comm == "en vente"
    plots.update_terrain(
        session, REFERENT, plot.terr_id,
        future | {"terr_cession_date": TODAY, "terr_vente_montant": Decimal("90000")},
        expected_version=plot.version, today=TODAY,
    )  # fmt: skip
    assert (plot.terr_stade_comm, plot.terr_acquereur) == (editing.SOLD, "SAS Essai")


def test_a_sold_plot_keeps_being_editable_without_retyping_its_sale(session):
    plot = sold_plot(session)
    plots.update_terrain(
        session, REFERENT, plot.terr_id, {"terr_m2_prix": Decimal("33")},
        expected_version=plot.version, today=TODAY,
    )  # fmt: skip
    assert plot.terr_m2_prix == Decimal("33") and plot.terr_acquereur


@pytest.mark.parametrize("action", [StatusAction.PUT_ON_SALE, StatusAction.RESERVE,
                                    StatusAction.WITHDRAW])  # fmt: skip
def test_a_sold_plot_back_on_the_market_loses_its_sale_kept_in_the_history(session, action):
    plot = sold_plot(session)
    buyer, amount = plot.terr_acquereur, plot.terr_vente_montant
    assert buyer and amount
    plot_status.change_terrain_status(
        session, REFERENT, plot.terr_id, action, expected_version=plot.version, today=TODAY
    )
    assert (plot.terr_acquereur, plot.terr_cession_date, plot.terr_vente_montant) == (
        None,
        None,
        None,
    )
    event = session.scalars(audit.terrain_history(plot.terr_id)).first()
    assert event.changes["terr_acquereur"] == [buyer, None]
    assert event.changes["terr_vente_montant"][0] == format(amount.normalize(), "f")


def test_the_edit_form_clears_the_sale_of_a_plot_no_longer_sold(session):
    plot = sold_plot(session)
    plots.update_terrain(
        session, REFERENT, plot.terr_id,
        {"terr_stade_comm": "en vente", "terr_acquereur": plot.terr_acquereur,
         "terr_cession_date": plot.terr_cession_date,
         "terr_vente_montant": plot.terr_vente_montant},
        expected_version=plot.version, today=TODAY,
    )  # fmt: skip
    assert (plot.terr_stade_comm, plot.terr_acquereur, plot.terr_vente_montant) == (
        "en vente",
        None,
        None,
    )


def test_the_offered_changes_leave_out_the_present_stage(session):
    plot = first_plot(session)
    plot.terr_stade_comm = "en vente"
    offered = [change.stade for change in plot_status.status_changes_for(plot)]
    assert "en vente" not in offered and len(offered) == 3


def test_a_status_change_from_another_epci_is_refused(session):
    plot = first_plot(session)
    stage = plot.terr_stade_comm
    with pytest.raises(PermissionDeniedError):
        plot_status.change_terrain_status(
            session, OTHER_REFERENT, plot.terr_id, StatusAction.WITHDRAW,
            expected_version=plot.version,
        )  # fmt: skip
    assert plot.terr_stade_comm == stage


# --- parks ---------------------------------------------------------------------------------


def test_a_referent_creates_a_park_in_a_commune_of_their_epci(session):
    saved = parks.create_site(session, REFERENT, site_values(session), today=TODAY)
    site = saved.record
    assert site.site_id.startswith("37167_SITE-ECO_") and len(site.site_id) == 20
    assert site.site_epci_siren == GATINE_RACAN and site.site_identif_date == TODAY
    assert isinstance(to_shape(site.site_geomsurf), MultiPolygon)
    assert saved.surface.computed_ha == Decimal("9.0000")
    event = session.scalars(audit.site_history(site.site_id)).first()
    assert event.reason == "Création du parc"
    # Its first plot is numbered under the park's commune.
    outline = to_shape(site.site_geomsurf).geoms[0].buffer(-20, join_style="mitre")
    plot = plots.create_terrain(session, REFERENT, site.site_id, plot_values(outline)).record
    assert plot.terr_id.startswith("37167_TERRAIN-ECO_")


def test_a_park_in_another_epci_commune_is_refused(session):
    with pytest.raises(PermissionDeniedError):
        parks.create_site(session, REFERENT, site_values(session, insee="37261"))


def test_a_park_outside_its_epci_is_refused(session):
    values = site_values(session, site_geomsurf=square_in_commune(session, "37261", 300))
    with pytest.raises(ValidationError) as refused:
        parks.create_site(session, REFERENT, values)
    assert "sort de l’EPCI du parc" in refused.value.errors["site_geomsurf"]


def test_a_park_whose_commune_is_in_another_epci_than_given_is_refused(session):
    values = site_values(session, site_epci_siren=METROPOLE)
    with pytest.raises(ValidationError) as refused:
        parks.create_site(session, COORDINATOR, values)
    assert "n’est pas dans l’EPCI" in refused.value.errors["site_comm_insee"]


def test_a_new_perimeter_must_keep_the_recorded_plots(session):
    site = session.get(Site, POLAXIS)
    smaller = to_shape(first_plot(session).terr_geomsurf)
    with pytest.raises(ValidationError) as refused:
        parks.update_site(
            session, REFERENT, POLAXIS, {"site_geomsurf": smaller},
            expected_version=site.version,
        )  # fmt: skip
    assert "laisse hors du parc" in refused.value.errors["site_geomsurf"]


def test_a_park_update_checks_its_version_and_is_recorded(session):
    site = session.get(Site, POLAXIS)
    version = site.version
    parks.update_site(
        session, REFERENT, POLAXIS, {"site_nom": "Polaxis (renommé)"},
        expected_version=version, today=TODAY,
    )  # fmt: skip
    assert (site.site_nom, site.version, site.site_actu_date) == (
        "Polaxis (renommé)",
        version + 1,
        TODAY,
    )
    with pytest.raises(StaleVersionError):
        parks.update_site(
            session, COORDINATOR, POLAXIS, {"site_nom": "Autre"}, expected_version=version
        )
    assert site.site_nom == "Polaxis (renommé)"


@pytest.mark.parametrize("field", ["site_url", "site_media"])
def test_park_urls_must_pass_the_cnig_import_check(session, field):
    site = session.get(Site, POLAXIS)
    with pytest.raises(ValidationError) as refused:
        parks.update_site(
            session, REFERENT, POLAXIS, {field: "polaxis.fr"}, expected_version=site.version
        )
    assert "Adresse web" in refused.value.errors[field]
    parks.update_site(
        session, REFERENT, POLAXIS, {field: "https://www.polaxis.fr/"},
        expected_version=site.version,
    )  # fmt: skip
    assert getattr(site, field) == "https://www.polaxis.fr/"


def test_the_communes_offered_for_a_new_park_are_those_of_the_actor(session):
    mine = {c.epci_siren for c in editing.editable_communes(session, REFERENT)}
    everywhere = {c.epci_siren for c in editing.editable_communes(session, COORDINATOR)}
    assert mine == {GATINE_RACAN} and len(everywhere) >= 11
    assert editing.editable_communes(session, PARTNER) == []


# --- owners --------------------------------------------------------------------------------


def test_owners_are_added_changed_and_removed_by_the_plot_epci_only(session):
    plot = first_plot(session)
    owner = owners.add_owner(
        session, REFERENT, plot.terr_id, {"nom": "SCI des Essais", "nature": "personne morale",
                                          "siren": "123456789"}
    )  # fmt: skip
    session.flush()
    owners.update_owner(session, REFERENT, owner.id, {"nom": "SCI des Essais", "nature":
                         "personne morale", "adresse": "1 rue du Test"},
                         expected_version=owner.version)  # fmt: skip
    assert owner.adresse == "1 rue du Test" and owner.siren is None
    with pytest.raises(PermissionDeniedError):
        owners.remove_owner(session, OTHER_REFERENT, owner.id)
    owners.remove_owner(session, REFERENT, owner.id)
    assert session.get(Owner, owner.id) is None
    reasons = [
        e.reason
        for e in session.scalars(audit.terrain_history(plot.terr_id))
        if e.entity_type == "owner"
    ][:3]
    assert reasons == [
        "Retrait d’un propriétaire",
        "Modification d’un propriétaire",
        "Ajout d’un propriétaire",
    ]


def test_an_owner_edit_from_an_old_version_is_refused(session):
    owner = session.scalars(select(Owner).order_by(Owner.id)).first()
    loaded = owner.version
    values = {"nom": owner.nom, "nature": owner.nature, "siren": owner.siren}
    owners.update_owner(
        session, REFERENT if _of_gatine(owner) else COORDINATOR, owner.id,
        values | {"adresse": "2 rue Première"}, expected_version=loaded,
    )  # fmt: skip
    assert owner.version == loaded + 1
    events = audit_count(session)
    with pytest.raises(StaleVersionError) as stale:
        owners.update_owner(
            session, COORDINATOR, owner.id, values | {"adresse": "9 rue Seconde"},
            expected_version=loaded,
        )  # fmt: skip
    assert "Quelqu’un a enregistré ce propriétaire" in str(stale.value)
    assert stale.value.current is owner and owner.adresse == "2 rue Première"
    assert audit_count(session) == events


def test_an_owner_edit_racing_another_one_is_refused_too(session):
    owner = session.scalars(select(Owner).order_by(Owner.id)).first()
    loaded = owner.version
    session.execute(
        text("UPDATE owner SET version = version + 1, adresse = 'ailleurs' WHERE id = :id"),
        {"id": owner.id},
    )
    with pytest.raises(StaleVersionError) as stale:
        owners.update_owner(
            session, COORDINATOR, owner.id, {"nom": owner.nom, "nature": owner.nature},
            expected_version=loaded,
        )  # fmt: skip
    assert (stale.value.current.version, stale.value.current.adresse) == (loaded + 1, "ailleurs")


def _of_gatine(owner: Owner) -> bool:
    return owner.terrain.site.site_epci_siren == GATINE_RACAN


def test_an_owner_needs_a_name_and_a_nature_and_a_valid_siren(session):
    plot = first_plot(session)
    with pytest.raises(ValidationError) as refused:
        owners.add_owner(session, REFERENT, plot.terr_id, {"nom": " ", "siren": "12"})
    assert set(refused.value.errors) == {"nom", "nature", "siren"}


def test_an_owner_or_a_buyer_starting_like_a_formula_is_refused(session):
    plot = first_plot(session)
    typed = {"nom": "=HYPERLINK(\"http://evil.example\")", "nature": "personne morale",
             "adresse": "+cmd|' /C calc'!A0"}  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        owners.add_owner(session, REFERENT, plot.terr_id, typed)
    assert refused.value.errors == {"nom": FORMULA_MESSAGE, "adresse": FORMULA_MESSAGE}
    with pytest.raises(ValidationError) as refused:
        plot_status.change_terrain_status(
            session, REFERENT, plot.terr_id, StatusAction.SELL,
            expected_version=plot.version, sale=Sale("@SUM(1+1)", TODAY, Decimal("1")),
            today=TODAY,
        )  # fmt: skip
    assert refused.value.errors == {"terr_acquereur": FORMULA_MESSAGE}


# --- reading private fields ------------------------------------------------------------------


@pytest.mark.parametrize(
    "actor, sees", [(REFERENT, True), (COORDINATOR, True), (OTHER_REFERENT, False),
                    (PARTNER, False), (None, False)],
)  # fmt: skip
def test_owners_and_sale_are_read_only_by_the_plot_epci_and_the_network(session, actor, sees):
    plot = session.scalars(
        select(Terrain)
        .join(Site)
        .where(Site.site_epci_siren == GATINE_RACAN, Terrain.terr_acquereur.is_not(None))
        .order_by(Terrain.terr_id)
    ).first()
    detail = get_terrain_detail(session, plot.terr_id, actor)
    assert (detail.private is not None) is sees
    if sees:
        assert detail.private.acquereur == plot.terr_acquereur
        assert [o.id for o in detail.private.owners] == sorted(o.id for o in plot.owners)


def test_a_park_moved_to_another_epci_follows_its_commune_and_rights(session):
    version = session.get(Site, POLAXIS).version
    with pytest.raises(PermissionDeniedError):
        parks.update_site(
            session, REFERENT, POLAXIS, {"site_comm_insee": "37261"}, expected_version=version
        )
    with pytest.raises(ValidationError) as refused:  # Polaxis is not drawn in the Métropole
        parks.update_site(
            session, COORDINATOR, POLAXIS, {"site_comm_insee": "37261"}, expected_version=version
        )
    assert (
        "sort de l’EPCI du parc (Tours Métropole Val de Loire)"
        in (refused.value.errors["site_geomsurf"])
    )
