"""The page of the balances between territories (/reseau/bilans): a partner and a référent read
the core's figures per EPCI and the flows for the period, never a company; a period that
cannot be read is a 400 with the French message under its field; the menu leads there."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from case_helpers import COMPANY, GATINE_RACAN, METROPOLE, accepted_redirection, referent_user
from web_helpers import Page, visible_text

from foncier.meetings.balances import (
    EpciBalance,
    Period,
    balances,
    epci_centres,
    proposed_by_quarter,
    this_year,
)
from foncier.models import Prospect
from foncier.web.formatting import number

URL = "/reseau/bilans"
NOT_A_DAY = "Saisissez une date complète : jour, mois et année."
BACKWARDS = (
    "La période finit avant de commencer : choisissez un « Au » égal ou postérieur au « Du »."
)


def row_text(page: Page, siren: str) -> str:
    match = re.search(rf'<tr data-epci="{siren}">(.*?)</tr>', page.html, flags=re.S)
    assert match, f"no row for the EPCI {siren}"
    return visible_text(match.group(1))


def expected_row(epci: EpciBalance) -> str:
    """The row as the page must write the core's figures, spaces folded as visible_text does."""
    counts = (epci.sent, epci.received, epci.accepted, epci.declined, epci.withdrawn,
              epci.waiting, epci.installed)  # fmt: skip
    cells = [
        epci.nom,
        *(number(count) for count in counts),
        f"{number(epci.hectares_in, 2)} / {number(epci.hectares_out, 2)}",
        f"{number(epci.jobs_in)} / {number(epci.jobs_out)}",
        number(epci.agreements_in_force),
        number(epci.hectares_on_sale, 2),
    ]
    return " ".join(" ".join(cells).split())


@pytest.mark.parametrize("reader", ["partner", "referent"])
def test_members_read_the_core_figures_and_no_company(session, client, client_for, get_page,
                                                      reader):  # fmt: skip
    redirection = accepted_redirection(session, jobs_created=12)
    prospect = session.get(Prospect, redirection.prospect_id)
    prospect.company_siren, prospect.jobs_planned = "123456789", 1234
    session.flush()
    through = client if reader == "partner" else client_for(
        referent_user(session, GATINE_RACAN).email)  # fmt: skip
    page = get_page(URL, through=through)
    assert page.status == 200, page.text
    figures = balances(session, this_year())
    assert page.values("data-epci") == [epci.siren for epci in figures.epcis]
    assert len(figures.epcis) == 11
    for epci in figures.epcis:
        assert row_text(page, epci.siren).startswith(expected_row(epci))
    target = next(epci for epci in figures.epcis if epci.siren == GATINE_RACAN)
    assert (target.received, target.installed, target.jobs_in) == (1, 1, 1234)
    assert "1\u202f234 / 0" in page.html  # French thousands
    assert row_text(page, GATINE_RACAN).endswith(" 100 %")  # every installation received
    assert page.values("data-flow") == [f"{METROPOLE}-{GATINE_RACAN}"]
    assert COMPANY not in page.html and "123456789" not in page.html


def test_the_period_is_kept_and_the_json_has_the_same(session, get_page):
    accepted_redirection(session)
    page = get_page(f"{URL}?du=2019-01-01&au=2019-12-31")
    assert page.status == 200
    assert 'value="2019-01-01"' in page.html and 'value="2019-12-31"' in page.html
    assert "/api/reseau/bilans?du=2019-01-01&amp;au=2019-12-31" in page.html
    assert "Aucune redirection n’a été proposée entre EPCI sur cette période." in page.text
    assert page.values("data-flow") == []
    figures = balances(session, Period(date(2019, 1, 1), date(2019, 12, 31)))
    assert all(row_text(page, e.siren).startswith(expected_row(e)) for e in figures.epcis)
    assert not any(e.sent for e in figures.epcis)  # this year's redirection left out


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("du=2020-02-30", "du", NOT_A_DAY),
        ("du=2020-01-01&au=hier", "au", NOT_A_DAY),
        ("du=2020-03-02&au=2020-03-01", "au", BACKWARDS),
    ],
)
def test_a_bad_period_is_a_400_under_its_field(get_page, query, field, message):
    page = get_page(f"{URL}?{query}")
    assert page.status == 400
    errors = re.search(rf'id="{field}-erreurs">(.*?)</ul>', page.html, flags=re.S)
    assert errors and visible_text(errors.group(1)) == message
    assert f'id="{field}"' in page.html and 'aria-invalid="true"' in page.html
    typed = dict(pair.split("=") for pair in query.split("&"))
    assert all(f'value="{value}"' in page.html for value in typed.values())
    assert 'id="bilans"' not in page.html


def test_the_menu_leads_to_the_balances(get_page):
    page = get_page("/sites")
    assert f'href="{URL}"' in page.html and "Bilans du réseau" in page.text


def test_the_wide_tables_scroll_from_the_keyboard(get_page):
    """Their rows hold no link: without the focus, a keyboard could not scroll a table wider
    than a phone (RGAA; axe-core's scrollable-region-focusable)."""
    html = get_page("/reseau/bilans?du=2026-01-01&au=2026-12-31").html
    box = 'class="tableau-defilant" tabindex="0" role="region" aria-labelledby="titre-epci"'
    assert box in html


def charts_data(page: Page) -> dict:
    match = re.search(r'<script type="application/json" id="graphiques-config">(.*?)</script>',
                      page.html, flags=re.S)  # fmt: skip
    assert match, "no data for the charts"
    return json.loads(match.group(1))


def test_the_charts_draw_the_core_figures(session, get_page):
    accepted_redirection(session)
    page = get_page(URL)
    assert page.status == 200
    period = this_year()
    figures = balances(session, period)
    charts = charts_data(page)
    assert [(e["siren"], e["sent"], e["received"]) for e in charts["epcis"]] == [
        (e.siren, e.sent, e.received) for e in figures.epcis]  # fmt: skip
    assert [(e["land_share"], e["exposure_share"]) for e in charts["epcis"]] == [
        (e.land_share, e.exposure_share) for e in figures.epcis]  # fmt: skip
    assert charts["flows"] == [flow.to_json() for flow in figures.flows]
    assert charts["flows"][0]["from"] == METROPOLE and charts["flows"][0]["proposed"] == 1
    centres = epci_centres(session)
    assert {e["siren"]: tuple(e["centre"]) for e in charts["epcis"]} == centres
    quarters = proposed_by_quarter(session, period)
    assert charts["quarters"] == [{"label": q.label, "proposed": q.proposed} for q in quarters]
    assert sum(q["proposed"] for q in charts["quarters"]) == sum(e.sent for e in figures.epcis)
    # Each canvas is an image that says what it shows, and the tables stay.
    for canvas in ("graphique-redirections", "graphique-tendance"):
        assert re.search(
            rf'<canvas id="{canvas}" role="img" aria-label="Graphique en barres', page.html
        )
    assert 'id="carte-flux"' in page.html and 'id="flux"' in page.html
    assert page.values("data-quarter") == [q.label for q in quarters]


def test_no_flow_no_flow_map(get_page):
    page = get_page(f"{URL}?du=2019-01-01&au=2019-03-31")
    assert 'id="carte-flux"' not in page.html
    assert charts_data(page)["quarters"] == [{"label": "T1 2019", "proposed": 0}]
