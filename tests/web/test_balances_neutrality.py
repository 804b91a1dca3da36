"""The exposure share and the neutrality indicator on /reseau/bilans and in its JSON: a partner
reads each EPCI's share of the exposure and the sentences naming the EPCIs past the threshold,
the same as the core's; the sentence of an exposure within the threshold; nothing to compare
without searches."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime

from case_helpers import COMPANY, METROPOLE
from flask.testing import FlaskClient
from search_log_helpers import log_run
from sqlalchemy.orm import Session
from web_helpers import Page, visible_text

from foncier.meetings.balances import Period, balances
from foncier.web.formatting import number

MARCH = Period(date(2020, 3, 1), date(2020, 3, 31))
QUERY = "du=2020-03-01&au=2020-03-31"
MID_MARCH = datetime(2020, 3, 15, 10, 0, tzinfo=UTC)
WITHIN = "L’exposition suit les surfaces en vente : aucun EPCI ne s’en écarte de plus de 10 points."
NOTHING = "Rien à comparer"


def cells(page: Page, siren: str) -> list[str]:
    row = re.search(rf'<tr data-epci="{siren}">(.*?)</tr>', page.html, flags=re.S)
    assert row, f"no row for the EPCI {siren}"
    return [visible_text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))]


def test_a_partner_reads_the_exposure_and_the_imbalances(
    session: Session, get_page: Callable[..., Page], client: FlaskClient
) -> None:
    log_run(session, MID_MARCH, [METROPOLE])
    figures = balances(session, MARCH)
    page = get_page(f"/reseau/bilans?{QUERY}")  # as the demo partner
    assert page.status == 200
    assert "Part de l’exposition" in page.text
    for epci in figures.epcis:
        assert cells(page, epci.siren)[-2] == visible_text(
            number(epci.exposure_share * 100) + "\u00a0%"
        )
    listed = re.search(r'<ul id="desequilibres">(.*?)</ul>', page.html, flags=re.S)
    assert listed, page.text
    sentences = [visible_text(item) for item in re.findall(r"<li[^>]*>(.*?)</li>", listed[1])]
    assert sentences == [visible_text(i.sentence) + "." for i in figures.neutrality]
    assert any(s.startswith("Tours Métropole Val de Loire a reçu 100 %") for s in sentences)
    assert WITHIN not in page.text and COMPANY not in page.html

    data = client.get(f"/api/reseau/bilans?{QUERY}").get_json()
    assert data["neutrality"] == [imbalance.to_json() for imbalance in figures.neutrality]
    assert [e["exposure_share"] for e in data["epcis"]] == [e.exposure_share for e in figures.epcis]


def test_an_exposure_within_the_threshold_is_said_so(
    session: Session, get_page: Callable[..., Page]
) -> None:
    for epci in balances(session, MARCH).epcis:  # first places shared as the land is
        for _ in range(round(epci.land_share * 100)):
            log_run(session, MID_MARCH, [epci.siren])
    page = get_page(f"/reseau/bilans?{QUERY}")
    assert WITHIN in page.text and 'id="desequilibres"' not in page.html


def test_without_searches_there_is_nothing_to_compare(
    get_page: Callable[..., Page], client: FlaskClient
) -> None:
    page = get_page(f"/reseau/bilans?{QUERY}")
    assert NOTHING in page.text and WITHIN not in page.text
    data = client.get(f"/api/reseau/bilans?{QUERY}").get_json()
    assert data["neutrality"] == [] and {e["exposure_share"] for e in data["epcis"]} == {None}
