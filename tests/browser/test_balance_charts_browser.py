"""The charts and the flow map of /reseau/bilans in a real Chromium: Chart.js draws its three
charts from the page's data, Leaflet a curve and an arrowhead per flow between the EPCIs'
centres, coloured as the legend says, with no console or CSP error (the ``signed_in``
fixture fails on any). Its redirections are committed in 2001, a period no other test looks
at, and removed afterwards. Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from case_helpers import GATINE_RACAN, METROPOLE, accepted_redirection, third_epci
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from foncier.core import audit
from foncier.core.permissions import Actor
from foncier.meetings.balances import Period, balances
from foncier.models import Prospect, Redirection
from seed.accounts import PARTNER_EMAIL

pytestmark = pytest.mark.browser

ACTOR = Actor.system("tests")
PERIOD = Period(date(2001, 1, 1), date(2001, 12, 31))

CHARTS = ("graphique-redirections", "graphique-exposition", "graphique-tendance")


@pytest.fixture
def flows_of_2001(browser_engine: Engine) -> Iterator[None]:
    """Three flows, one of each outcome: settled, accepted, waiting."""
    with Session(browser_engine) as session, session.begin():
        audit.acting_as(session, ACTOR)
        kinds = [
            (METROPOLE, GATINE_RACAN, {"jobs_created": 5}),
            (GATINE_RACAN, METROPOLE, {}),
            (METROPOLE, third_epci(session), {"status": "proposee"}),
        ]
        made = [
            accepted_redirection(session, from_siren=origin, to_siren=target, **options)
            for origin, target, options in kinds
        ]
        for month, redirection in enumerate(made, 2):
            redirection.proposed_at = datetime(2001, month, 1, 9, tzinfo=UTC)
        ids = [(redirection.id, redirection.prospect_id) for redirection in made]
    yield
    with Session(browser_engine) as session, session.begin():
        audit.acting_as(session, ACTOR)
        session.execute(delete(Redirection).where(Redirection.id.in_([r for r, _ in ids])))
        session.execute(delete(Prospect).where(Prospect.id.in_([p for _, p in ids])))


@pytest.mark.usefixtures("flows_of_2001")
def test_the_charts_and_the_flow_map_are_drawn(
    live_server, signed_in, screenshot, rolled_back_session, browser_engine
):
    with rolled_back_session(browser_engine) as session:
        figures = balances(session, PERIOD)
    assert len(figures.flows) == 3
    page = signed_in(PARTNER_EMAIL)
    page.goto(f"{live_server}/reseau/bilans?du=2001-01-01&au=2001-12-31")
    page.wait_for_function("() => window.foncierFlowMap !== undefined", timeout=15_000)
    drawn = page.evaluate(
        "(ids) => ids.map((id) => { const c = document.getElementById(id);"
        " return c ? [Chart.getChart(c) !== undefined, c.width > 0] : null; })",
        list(CHARTS),
    )
    expected = [[True, True] if figures.comparable else None]
    assert drawn == [[True, True], *expected, [True, True]]
    assert page.locator("#graphiques-erreur").is_hidden()
    # A curve and an arrowhead per flow, and a dot per EPCI.
    paths = page.locator("#carte-flux path.leaflet-interactive")
    assert paths.count() == 2 * len(figures.flows) + len(figures.epcis)
    colours = set(
        page.locator("#carte-flux path[stroke-width]").evaluate_all(
            "paths => paths.filter((p) => Number(p.getAttribute('stroke-width')) >= 2)"
            ".map((p) => p.getAttribute('stroke'))"
        )
    )
    legend = set(
        page.locator(".legende-flux [data-outcome]").evaluate_all(
            "swatches => swatches.map((s) => getComputedStyle(s).backgroundColor)"
        )
    )
    assert len(legend) == 3 and colours == legend  # one flow of each outcome
    screenshot(page, "balances-charts")
