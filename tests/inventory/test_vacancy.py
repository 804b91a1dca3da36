"""The legal vacancy rate (article L318-8-2 of the Code de l'urbanisme) is computed from plots."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from foncier.models import Site, codelists
from foncier.models.views import site_summary


@pytest.fixture
def park(session):
    """A demo park whose plots are all sold and occupied: each test sets what it needs."""
    site = session.scalars(select(Site).where(Site.site_nom == "ZAC de la Liodière")).one()
    for terrain in site.terrains:
        terrain.terr_etat_occup = "occupé"
        terrain.terr_stade_comm = "vendu, commercialisation achevée"
        terrain.terr_vacant_depuis = None
        terrain.terr_utile = True
    session.flush()
    return site


def summary(session, site):
    return session.execute(select(site_summary).where(site_summary.c.site_id == site.site_id)).one()


def two_years_before_last_new_year() -> date:
    return date(date.today().year - 2, 1, 1)


def test_vacant_for_two_years_counts(session, park):
    first, second = park.terrains[:2]
    first.terr_etat_occup = "vacant"
    first.terr_vacant_depuis = two_years_before_last_new_year()
    second.terr_etat_occup = "friche"
    second.terr_vacant_depuis = date(2010, 5, 1)
    session.flush()
    figures = summary(session, park)
    assert figures.uf_nbre == len(park.terrains)
    assert figures.uf_vacant_nbre == 2
    assert figures.taux_vacance == round(100 * 2 / len(park.terrains))
    assert figures.uf_vacant_a_dater == 0


def test_recent_vacancy_does_not_count_yet(session, park):
    terrain = park.terrains[0]
    terrain.terr_etat_occup = "vacant"
    terrain.terr_vacant_depuis = date(date.today().year - 2, 1, 2)
    session.flush()
    assert summary(session, park).uf_vacant_nbre == 0
    assert summary(session, park).taux_vacance == 0


def test_undated_vacancy_takes_the_cnig_state_at_its_word(session, park):
    park.terrains[0].terr_etat_occup = "vacant"
    session.flush()
    figures = summary(session, park)
    assert figures.uf_vacant_nbre == 1
    assert figures.uf_vacant_a_dater == 1


def test_never_occupied_plots_are_not_vacant_and_unused_land_is_not_a_land_unit(session, park):
    park.terrains[0].terr_etat_occup = "inoccupé"
    road = park.terrains[1]
    road.terr_utile = False
    road.terr_etat_occup = "vacant"
    session.flush()
    figures = summary(session, park)
    assert figures.uf_nbre == len(park.terrains) - 1
    assert figures.uf_vacant_nbre == 0


@pytest.mark.parametrize("state", codelists.TERR_ETAT_OCCUP)
def test_the_view_counts_exactly_the_vacant_states(session, park, state):
    park.terrains[0].terr_etat_occup = state
    session.flush()
    assert summary(session, park).uf_vacant_nbre == (state in codelists.ETATS_VACANTS)


@pytest.mark.parametrize("stage", codelists.TERR_STADE_COMM)
def test_the_view_counts_exactly_the_available_stages(session, park, stage):
    park.terrains[0].terr_stade_comm = stage
    session.flush()
    assert summary(session, park).terrains_disponibles == (stage in codelists.STADES_DISPONIBLES)


def test_available_surface_sums_the_plots_for_sale(session, park):
    on_sale = park.terrains[:3]
    on_sale[0].terr_stade_comm = "en vente"
    on_sale[1].terr_stade_comm = "en vente avec contraintes"
    on_sale[2].terr_stade_comm = "réservé par option de réservation"
    session.flush()
    figures = summary(session, park)
    assert figures.surf_disponible == on_sale[0].terr_surf_brute + on_sale[1].terr_surf_brute
    assert figures.terrains_disponibles == 2
