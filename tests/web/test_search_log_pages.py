"""The search log from a project's plots page (/projets/<id>/terrains): a run is logged with
its top 10 and their EPCIs and nothing of the company; a reload with the same needs logs
nothing; new needs, or a last run older than a day, log a new run."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from case_helpers import COMPANY, METROPOLE, new_prospect, referent_user
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_helpers import page_of

from foncier.matching.scoring import CRITERION_NAMES
from foncier.models import Prospect, SearchRun, Site, Terrain

SIREN = "732829320"
CONTACT = {"contact_name": "Bérengère Soulier", "contact_email": "b.soulier@confiserie.example"}


@pytest.fixture
def project(session: Session) -> Prospect:
    """A Métropole project with usable needs, a company SIREN and a contact."""
    prospect = new_prospect(
        session,
        company_siren=SIREN,
        contact_retention_until=date.today() + timedelta(days=30),
        **CONTACT,
    )
    prospect.needs = {"surface_min_ha": 1, "surface_max_ha": 4}
    session.flush()
    return prospect


@pytest.fixture
def metropole(session: Session, client_for: Callable[[str], FlaskClient]) -> FlaskClient:
    return client_for(referent_user(session, METROPOLE).email)


def runs_of(session: Session, prospect: Prospect) -> list[SearchRun]:
    session.expire_all()
    return list(
        session.scalars(
            select(SearchRun).where(SearchRun.prospect_id == prospect.id).order_by(SearchRun.id)
        )
    )


def show_plots(client: FlaskClient, prospect: Prospect) -> list[str]:
    page = page_of(client.get(f"/projets/{prospect.id}/terrains"))
    assert page.status == 200, page.text
    return page.values("data-terr-id")


def test_a_run_is_logged_with_its_top_10_and_nothing_of_the_company(
    session: Session, metropole: FlaskClient, project: Prospect
) -> None:
    shown = show_plots(metropole, project)
    assert len(shown) > 10  # the page ranks 20: the log keeps the first 10
    [run] = runs_of(session, project)
    assert [result.rank for result in run.results] == list(range(1, 11))
    assert [result.terr_id for result in run.results] == shown[:10]
    plots = select(Terrain.terr_id, Site.site_epci_siren).join(Site)
    epcis = {
        terr_id: siren
        for terr_id, siren in session.execute(plots.where(Terrain.terr_id.in_(shown)))
    }
    assert all(result.epci_siren == epcis[result.terr_id] for result in run.results)
    assert [result.score for result in run.results] == sorted(
        (result.score for result in run.results), reverse=True
    )
    for result in run.results:
        assert set(result.criteria) <= set(CRITERION_NAMES)
        assert all(0 <= value <= 1 for value in result.criteria.values())
    assert run.needs["surface_min_ha"] == 1 and "label" not in run.needs
    logged = json.dumps([run.needs, *(vars_of(result) for result in run.results)])
    for secret in (COMPANY, SIREN, *CONTACT.values()):
        assert secret not in logged


def vars_of(result: object) -> dict[str, object]:
    return {name: value for name, value in vars(result).items() if not name.startswith("_")}


def test_a_reload_logs_nothing_new_needs_or_a_day_later_log_again(
    session: Session, metropole: FlaskClient, project: Prospect
) -> None:
    show_plots(metropole, project)
    show_plots(metropole, project)
    [first] = runs_of(session, project)

    project.needs = {"surface_min_ha": 2, "surface_max_ha": 4}
    session.flush()
    show_plots(metropole, project)
    show_plots(metropole, project)
    runs = runs_of(session, project)
    assert len(runs) == 2 and runs[1].needs["surface_min_ha"] == 2

    runs[1].ran_at -= timedelta(days=1, seconds=1)  # the same needs, a day later
    session.flush()
    show_plots(metropole, project)
    assert len(runs_of(session, project)) == 3
    assert runs_of(session, project)[0].id == first.id
