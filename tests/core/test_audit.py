"""The audit trail: every inventory change is recorded with its author, before and after."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from foncier.core import audit
from foncier.core.errors import MissingActorError
from foncier.core.permissions import Actor, Role
from foncier.models import AuditEvent, Owner, Site, Terrain

POLAXIS = "37167_SITE-ECO_00005"
REFERENT = Actor("referent@example.org", Role.REFERENT, None, "200073237")


def first_plot(session: Session, site_id: str = POLAXIS) -> Terrain:
    return session.scalars(
        select(Terrain).where(Terrain.site_id == site_id).order_by(Terrain.terr_id)
    ).first()


def events_of(session: Session, terr_id: str) -> list[AuditEvent]:
    return list(session.scalars(audit.terrain_history(terr_id)))


def test_an_update_records_who_and_the_values_before_and_after(session):
    audit.acting_as(session, REFERENT)
    plot = first_plot(session)
    before_price, version = plot.terr_m2_prix, plot.version
    with audit.reason(session, "Nouveau prix"):
        plot.terr_m2_prix = Decimal("42.50")
    latest = events_of(session, plot.terr_id)[0]
    assert latest.action == "update" and latest.actor_label == "referent@example.org"
    assert latest.changes == {
        "terr_m2_prix": [None if before_price is None else format(before_price.normalize(), "f"),
                         "42.5"]
    }  # fmt: skip
    assert latest.reason == "Nouveau prix"
    assert latest.version == version + 1
    assert (latest.site_id, latest.epci_siren) == (POLAXIS, "200073237")


def test_an_unchanged_save_records_nothing(session):
    plot = first_plot(session)
    count = len(events_of(session, plot.terr_id))
    plot.terr_m2_prix = plot.terr_m2_prix
    session.flush()
    assert len(events_of(session, plot.terr_id)) == count


def test_geometry_changes_are_recorded_as_wkt(session):
    plot = first_plot(session)
    plot.terr_geomsurf = (
        "SRID=2154;POLYGON((500000 6700000,500100 6700000,500100 6700100,500000 6700000))"
    )
    session.flush()
    before, after = events_of(session, plot.terr_id)[0].changes["terr_geomsurf"]
    assert before.startswith("POLYGON ((") and after == (
        "POLYGON ((500000 6700000, 500100 6700000, 500100 6700100, 500000 6700000))"
    )


def test_owners_show_in_their_plots_history_and_plots_in_their_parks(session):
    plot = first_plot(session)
    owner = Owner(terr_id=plot.terr_id, nom="SCI Essai", nature="personne morale")
    session.add(owner)
    session.flush()
    session.delete(owner)
    session.flush()
    owner_events = [e for e in events_of(session, plot.terr_id) if e.entity_type == "owner"]
    assert [e.action for e in owner_events[:2]] == ["delete", "create"]
    assert owner_events[1].changes["nom"] == [None, "SCI Essai"]
    park_events = session.scalars(audit.site_history(POLAXIS)).all()
    assert {e.entity_type for e in park_events} >= {"site", "terrain", "owner"}


def test_a_change_without_an_actor_is_refused(session_factory):
    with session_factory() as anonymous:
        first_plot(anonymous).terr_m2_prix = Decimal(1)
        with pytest.raises(MissingActorError):
            anonymous.flush()


def test_the_demo_seed_is_attributed_and_labelled(session):
    creations = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "create", AuditEvent.reason == "Jeu de démonstration")
    )
    assert creations == session.scalar(select(func.count()).select_from(Site)) + session.scalar(
        select(func.count()).select_from(Terrain)
    ) + session.scalar(select(func.count()).select_from(Owner))
