"""The demo inventory: real parks, placed inside their own EPCI, plausible and deterministic."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from foncier.models import Commune, ConstraintZone, Epci, Site, Terrain
from foncier.models.codelists import STADES_DISPONIBLES
from seed import demo


def test_every_listed_park_is_seeded_and_flagged(session):
    parks = demo.read_parks()
    sites = session.scalars(select(Site).where(Site.is_demo)).all()
    assert {site.site_nom for site in sites} == {park.name for park in parks}
    assert len(sites) == 23
    assert session.scalar(select(func.count()).where(Terrain.is_demo)) >= 150
    assert session.scalar(select(func.count()).select_from(Terrain).where(~Terrain.is_demo)) == 0


def test_every_park_lies_inside_its_own_epci_and_commune(session):
    outside = session.execute(
        select(Site.site_id)
        .join(Epci, Epci.siren == Site.site_epci_siren)
        .where(~func.ST_CoveredBy(Site.site_geomsurf, Epci.geom))
    ).all()
    assert outside == []
    # The seed moves estimated positions into their commune and clips perimeters by it.
    elsewhere = session.execute(
        select(Site.site_id)
        .join(Commune, Commune.insee == Site.site_comm_insee)
        .where(~func.ST_CoveredBy(Site.site_geomsurf, Commune.geom))
    ).all()
    assert elsewhere == []
    assert session.scalar(select(func.count(func.distinct(Site.site_epci_siren)))) == 11


def test_plots_lie_inside_their_park_and_parks_do_not_overlap(session):
    stray = session.execute(
        select(Terrain.terr_id)
        .join(Site)
        .where(~func.ST_CoveredBy(Terrain.terr_geomsurf, Site.site_geomsurf))
    ).all()
    assert stray == []
    overlaps = session.execute(
        text(
            "SELECT a.site_id, b.site_id FROM site a JOIN site b ON a.site_id < b.site_id "
            "AND ST_Intersects(a.site_geomsurf, b.site_geomsurf)"
        )
    ).all()
    assert overlaps == []


def test_polaxis_is_in_gatine_racan_with_plots_on_sale(session):
    polaxis = session.scalars(select(Site).where(Site.site_nom == "Polaxis")).one()
    assert polaxis.epci.nom == "Communauté de communes de Gâtine-Racan"
    assert polaxis.commune.nom == "Neuillé-Pont-Pierre"
    assert polaxis.site_creation_date == 2007


def test_plausible_attributes(session):
    available = session.scalars(
        select(Terrain).where(Terrain.terr_stade_comm.in_(STADES_DISPONIBLES))
    ).all()
    assert len(available) >= 30
    assert all(t.terr_m2_prix and 5 <= t.terr_m2_prix <= 200 for t in available)
    assert all(t.terr_etat_occup in ("inoccupé", "friche") for t in available)
    assert all(t.terr_icpe_max and t.terr_puissance_kva for t in available)
    sold = session.scalars(
        select(Terrain).where(Terrain.terr_stade_comm == "vendu, commercialisation achevée")
    ).all()
    assert all(t.terr_acquereur and t.terr_cession_date for t in sold)
    assert all(t.owners for t in available + sold)
    isoparc = session.scalars(select(Site).where(Site.site_nom == "Isoparc")).one()
    prices = [t.terr_m2_prix for t in isoparc.terrains if t.terr_m2_prix]
    assert prices and all(21 <= p <= 26 for p in prices)


def test_the_loire_flood_zone_touches_plots_on_sale(session):
    zone = session.scalars(select(ConstraintZone).where(ConstraintZone.is_demo)).one()
    assert zone.zone_type == "inondation"
    flooded = session.scalars(
        select(Terrain.terr_id).where(
            Terrain.terr_stade_comm.in_(STADES_DISPONIBLES),
            func.ST_Intersects(Terrain.terr_geomsurf, zone.geom),
        )
    ).all()
    assert flooded


def test_seeding_again_adds_nothing(session):
    before = session.scalar(select(func.count()).select_from(Terrain))
    report = demo.seed_demo(session)
    assert report.sites_created == 0 and report.sites_present == 23
    assert session.scalar(select(func.count()).select_from(Terrain)) == before


def test_reset_rebuilds_the_same_inventory(session):
    def fingerprint():
        return session.execute(
            text(
                "SELECT terr_id, terr_stade_comm, terr_m2_prix, ST_AsText(terr_geomsurf) "
                "FROM terrain ORDER BY terr_id"
            )
        ).all()

    before = fingerprint()
    # The demo's cases sell a plot: tests/test_demo_cases.py checks the reset with them.
    demo.seed_demo(session, reset=True, with_cases=False)
    assert fingerprint() == before


def test_seeding_without_the_territory_is_a_clear_error(database_builder):
    from sqlalchemy.orm import Session

    from foncier.core.db import make_engine

    engine = make_engine(database_builder("foncier_no_territory", "schema"))
    try:
        with Session(engine) as session, pytest.raises(demo.DemoDataError, match="territory load"):
            demo.seed_demo(session)
    finally:
        engine.dispose()


def test_reset_refuses_to_delete_plots_users_added_to_demo_parks(session):
    polaxis = session.scalars(select(Site).where(Site.site_nom == "Polaxis")).one()
    added = polaxis.terrains[0]
    added.is_demo = False
    session.flush()
    with pytest.raises(demo.DemoDataError, match=added.terr_id):
        demo.seed_demo(session, reset=True)
