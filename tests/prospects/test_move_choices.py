"""The plots a move of the case offers are the plots the core accepts (foncier.prospects.cases):
move_plots and advance_case share their conditions — of the lead EPCI, held by no other
project, on sale or, for an installation, under option for this project."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from case_helpers import (
    GATINE_RACAN,
    METROPOLE,
    keep_plots,
    new_prospect,
    plots_on_sale,
    referent_of,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from foncier.core.errors import PermissionDeniedError, ValidationError
from foncier.core.permissions import Actor
from foncier.models import Prospect, Site, Terrain
from foncier.prospects.cases import advance_case, move_plots

INSTALLED = {"on": date.today() - timedelta(days=1), "jobs_created": 4}


def move(session: Session, actor: Actor, prospect: Prospect, to_stage: str, terr_id: str) -> None:
    extra = INSTALLED if to_stage == "installe" else {}
    advance_case(
        session, actor, prospect, to_stage, version=prospect.version, terr_id=terr_id, **extra
    )


def accepted(session: Session, actor: Actor, prospect: Prospect, to_stage: str) -> list[str]:
    """The lead EPCI's plots the core accepts in a move to ``to_stage``, each tried in a
    savepoint rolled back afterwards, by id."""
    plots = session.scalars(
        select(Terrain.terr_id)
        .join(Site)
        .where(Site.site_epci_siren == prospect.lead_epci_siren)
        .order_by(Terrain.terr_id)
    )
    taken = []
    for terr_id in plots:
        attempt = session.begin_nested()
        try:
            move(session, actor, prospect, to_stage, terr_id)
            taken.append(terr_id)
        except ValidationError:
            pass
        finally:
            attempt.rollback()
    return taken


@pytest.fixture
def lead(session) -> Actor:
    return referent_of(session, METROPOLE)


@pytest.fixture
def held_elsewhere(session, lead) -> Terrain:
    """A Métropole plot another project holds under option, put back « en vente » by hand."""
    holder = new_prospect(session, stage="offre")
    plot = plots_on_sale(session, METROPOLE)[0]
    move(session, lead, holder, "option", plot.terr_id)
    plot.terr_stade_comm = "en vente"
    session.flush()
    return plot


@pytest.mark.parametrize("to_stage", ["option", "installe"])
def test_a_move_offers_exactly_the_plots_the_core_accepts(session, lead, held_elsewhere, to_stage):
    prospect = new_prospect(session, stage="offre")
    kept = plots_on_sale(session, METROPOLE, 3)[-1].terr_id
    keep_plots(session, prospect, [kept])
    offered = [plot.terr_id for plot in move_plots(session, lead, prospect, to_stage)]
    assert offered[0] == kept  # the selection's first
    assert held_elsewhere.terr_id not in offered
    assert sorted(offered) == accepted(session, lead, prospect, to_stage)


def test_an_installation_offers_the_plot_under_option_first(session, lead, held_elsewhere):
    prospect = new_prospect(session, stage="offre")
    optioned = plots_on_sale(session, METROPOLE, 2)[-1].terr_id
    move(session, lead, prospect, "option", optioned)
    plots = move_plots(session, lead, prospect, "installe")
    assert plots[0].terr_id == optioned
    assert sorted(plot.terr_id for plot in plots) == accepted(session, lead, prospect, "installe")
    # An option is taken on a plot on sale: the one it holds already is not.
    assert optioned not in [plot.terr_id for plot in move_plots(session, lead, prospect, "option")]


def test_another_epci_s_plot_is_neither_offered_nor_accepted(session, lead):
    prospect = new_prospect(session, stage="offre")
    elsewhere = plots_on_sale(session, GATINE_RACAN)[0].terr_id
    keep_plots(session, prospect, [elsewhere])
    assert elsewhere not in [plot.terr_id for plot in move_plots(session, lead, prospect, "option")]
    with pytest.raises(PermissionDeniedError):
        move(session, lead, prospect, "option", elsewhere)


def test_only_the_lead_is_offered_plots(session):
    prospect = new_prospect(session, stage="offre")
    with pytest.raises(PermissionDeniedError):
        move_plots(session, referent_of(session, GATINE_RACAN), prospect, "option")
