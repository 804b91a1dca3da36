"""The history as people read it: French labels, values, outlines by area, private values masked."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from geoalchemy2.shape import to_shape
from shapely import affinity
from sqlalchemy import select
from sqlalchemy.orm import Session

from foncier.core.errors import NotFoundError
from foncier.core.permissions import Actor, Role
from foncier.inventory import history, owners, plot_status, plots
from foncier.inventory.plot_status import Sale, StatusAction
from foncier.models import Epci, Terrain, User
from seed.accounts import referent_email

GATINE_RACAN, METROPOLE = "200073237", "243700754"
POLAXIS = "37167_SITE-ECO_00005"
OTHER_REFERENT = Actor("voisin@example.org", Role.REFERENT, None, METROPOLE)
COORDINATOR = Actor("coordination@example.org", Role.COORDINATEUR)
PARTNER = Actor("partenaire@example.org", Role.PARTENAIRE)
TODAY = date(2026, 10, 5)


@pytest.fixture
def referent(session: Session) -> Actor:
    """The demo referent of the CC Gâtine-Racan, a real account (its name shows in history)."""
    email = referent_email(session.get(Epci, GATINE_RACAN))
    return Actor.of(session.scalars(select(User).where(User.email == email)).one())


def plot_for_sale(session: Session) -> Terrain:
    return session.scalars(
        select(Terrain)
        .where(Terrain.site_id == POLAXIS, Terrain.terr_stade_comm == "en vente")
        .order_by(Terrain.terr_id)
    ).first()


def latest(session: Session, actor: Actor, terr_id: str) -> history.HistoryEntry:
    return history.read_entries(session, actor, history.terrain_events(session, terr_id))[0]


def test_a_change_reads_in_french_with_its_author_and_units(session, referent):
    plot = plot_for_sale(session)
    plots.update_terrain(
        session, referent, plot.terr_id,
        {"terr_m2_prix": Decimal("21.40"), "terr_dispo_date": date(2027, 3, 1)},
        expected_version=plot.version,
    )  # fmt: skip
    entry = latest(session, COORDINATOR, plot.terr_id)
    assert entry.who == "Référent Communauté de communes de Gâtine-Racan (démo)"
    assert entry.account == referent.label
    assert (entry.action_label, entry.entity_label) == ("Modification", f"Terrain {plot.terr_id}")
    assert entry.reason == "Modification du terrain"
    by_name = {change.name: change for change in entry.changes}
    assert by_name["terr_m2_prix"].label == "Prix"
    assert by_name["terr_m2_prix"].after == "21,4\u00a0€/m²"
    assert by_name["terr_dispo_date"].text.endswith("→ 01/03/2027")


def test_a_redrawn_outline_is_summarised_by_its_area(session, referent):
    plot = plot_for_sale(session)
    outline = to_shape(plot.terr_geomsurf)
    smaller = affinity.scale(outline, 0.9, 0.9)
    plots.update_terrain(
        session, referent, plot.terr_id, {"terr_geomsurf": smaller}, expected_version=plot.version
    )
    change = next(
        c for c in latest(session, PARTNER, plot.terr_id).changes if c.name == "terr_geomsurf"
    )
    before = history.french_number(Decimal(repr(outline.area / 10_000)), 2)
    after = history.french_number(Decimal(repr(smaller.area / 10_000)), 2)
    assert change.text == f"contour modifié ({before}\u00a0ha → {after}\u00a0ha)"
    assert change.label == "Contour du terrain"


@pytest.mark.parametrize(
    "reader, sees",
    [("referent", True), ("coordinator", True), ("other", False), ("partner", False)],
)
def test_sale_values_and_owners_are_masked_for_who_may_not_see_them(
    session, referent, reader, sees
):
    actor = {"referent": referent, "coordinator": COORDINATOR, "other": OTHER_REFERENT,
             "partner": PARTNER}[reader]  # fmt: skip
    plot = plot_for_sale(session)
    sale = Sale("SAS Acquéreur Secret", TODAY, Decimal("123456"))
    plot_status.change_terrain_status(
        session, referent, plot.terr_id, StatusAction.SELL,
        expected_version=plot.version, sale=sale, today=TODAY,
    )  # fmt: skip
    owners.add_owner(
        session, referent, plot.terr_id, {"nom": "Jeanne Privée", "nature": "personne physique"}
    )
    entries = history.read_entries(session, actor, history.terrain_events(session, plot.terr_id))
    owner, sold = entries[0], entries[1]
    assert sold.reason == "Vente"
    shown = {c.name: c for c in sold.changes}
    assert shown["terr_stade_comm"].after == "vendu, commercialisation achevée"  # public
    assert (shown["terr_acquereur"].after == "SAS Acquéreur Secret") is sees
    assert shown["terr_acquereur"].masked is not sees
    assert ("Jeanne Privée" in {c.after for c in owner.changes}) is sees
    out = io.StringIO()
    history.write_history_csv(session, actor, history.terrain_events(session, plot.terr_id), out)
    assert ("SAS Acquéreur Secret" in out.getvalue()) is sees
    assert ("Jeanne Privée" in out.getvalue()) is sees
    assert ("123456" in out.getvalue().replace("\u202f", "")) is sees


def test_the_csv_export_has_french_headers_one_row_per_field_and_inert_cells(session, referent):
    plot = plot_for_sale(session)
    plots.update_terrain(
        session, referent, plot.terr_id,
        {"terr_m2_prix": Decimal("19"), "terr_url_cartofriches": None,
         "terr_refcad": None},
        expected_version=plot.version,
    )  # fmt: skip
    owner = owners.add_owner(
        session, referent, plot.terr_id, {"nom": "SCI Essai", "nature": "personne morale"}
    )
    # A name written before formula-looking text was refused at input (core.formulas): the
    # history still holds it, and its export must keep it inert.
    owner.nom = '=HYPERLINK("x")'
    session.flush()
    out = io.StringIO()
    written = history.write_history_csv(
        session, referent, history.terrain_events(session, plot.terr_id), out
    )
    text = out.getvalue()
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == list(history.CSV_HEADER)
    assert written >= 3  # the two changes above and the demo's creation
    owner_rows = [row for row in rows[1:] if row[4] == "Propriétaire" and row[10] == "Nom"]
    assert '\'=HYPERLINK("x")' in [row[12] for row in owner_rows]
    price = [row for row in rows[1:] if row[10] == "Prix" and row[3] == "Modification"]
    assert price[0][12] == "19\u00a0€/m²" and price[0][9] == "Modification du terrain"


def test_changes_since_a_version_are_the_other_persons_edit(session, referent):
    plot = plot_for_sale(session)
    loaded = plot.version
    plots.update_terrain(
        session, referent, plot.terr_id, {"terr_m2_prix": Decimal("30")}, expected_version=loaded
    )
    plot_status.change_terrain_status(
        session, referent, plot.terr_id, StatusAction.RESERVE, expected_version=loaded + 1
    )
    since = history.changes_since(session, COORDINATOR, plot, loaded)
    assert [entry.reason for entry in since] == ["Modification du terrain", "Réservation (option)"]
    assert history.changes_since(session, COORDINATOR, plot, loaded + 2) == []


def test_history_pages_go_newest_first_and_end(session, referent):
    plot = plot_for_sale(session)
    for price in (20, 21, 22):
        plots.update_terrain(
            session, referent, plot.terr_id, {"terr_m2_prix": Decimal(price)},
            expected_version=plot.version,
        )  # fmt: skip
    events = history.terrain_events(session, plot.terr_id)
    first = history.history_page(session, PARTNER, events, page=1, per_page=2)
    assert first.total >= 4 and first.pages == -(-first.total // 2)
    assert [c.after for c in first.entries[0].changes if c.name == "terr_m2_prix"] == [
        "22\u00a0€/m²"
    ]
    with pytest.raises(NotFoundError):
        history.history_page(session, PARTNER, events, page=first.pages + 1, per_page=2)
    with pytest.raises(NotFoundError):
        history.terrain_events(session, "37167_TERRAIN-ECO_99999")


def test_a_park_history_holds_its_plots_and_an_epci_export_only_its_own(session, referent):
    plot = plot_for_sale(session)
    plots.update_terrain(
        session, referent, plot.terr_id, {"terr_m2_prix": Decimal("17")},
        expected_version=plot.version,
    )  # fmt: skip
    park = history.read_entries(session, PARTNER, history.site_events(session, POLAXIS))
    assert park[0].terr_id == plot.terr_id and park[0].site_id == POLAXIS
    epci = history.read_entries(session, PARTNER, history.network_events(METROPOLE).limit(200))
    assert epci and {entry.epci_siren for entry in epci} == {METROPOLE}


def test_values_read_as_on_the_pages():
    assert history.display_value("terr_divisible", True) == "oui"
    assert history.display_value("site_surf_brute", "1234.5") == "1\u202f234,5\u00a0ha"
    assert history.display_value("terr_puissance_kva", 250) == "250\u00a0kVA"
    assert history.display_value("site_nom", None) == history.EMPTY
    assert history.display_value("terr_geomsurf", "POLYGON ((0 0, 100 0, 100 100, 0 0))") == (
        "0,5\u00a0ha"
    )
