"""The exposure share and the neutrality indicator of the balances (foncier.meetings.balances):
on runs written into the search log, each EPCI's share equals the formula worked by hand, on
the days of the period in French time; EPCIs are named past the threshold and only then."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from case_helpers import GATINE_RACAN, METROPOLE
from search_log_helpers import log_run, weight
from sqlalchemy.orm import Session

from foncier.meetings.balances import NEUTRALITY_THRESHOLD, Balances, Period, balances

MARCH = Period(date(2020, 3, 1), date(2020, 3, 31))
# 23:30 UTC on 29 February 2020 is 1 March in Tours; 22:00 UTC on 31 March is 1 April.
EARLY_ON_DU = datetime(2020, 2, 29, 23, 30, tzinfo=UTC)
DAY_AFTER_AU = datetime(2020, 3, 31, 22, 0, tzinfo=UTC)
MID_MARCH = datetime(2020, 3, 15, 10, 0, tzinfo=UTC)


def shares(figures: Balances) -> dict[str, float | None]:
    return {epci.siren: epci.exposure_share for epci in figures.epcis}


def test_the_exposure_share_is_the_formula_by_hand(session: Session) -> None:
    log_run(session, EARLY_ON_DU, [METROPOLE, GATINE_RACAN, METROPOLE])
    log_run(session, MID_MARCH, [GATINE_RACAN])
    log_run(session, DAY_AFTER_AU, [METROPOLE] * 10)  # in April: left out
    metropole = weight(1) + weight(3)  # 1 + 1/2
    gatine = weight(2) + weight(1)  # 1/log2(3) + 1
    total = metropole + gatine
    got = shares(balances(session, MARCH))
    assert got[METROPOLE] == pytest.approx(metropole / total)
    assert got[GATINE_RACAN] == pytest.approx(gatine / total)
    assert sum(got.values()) == pytest.approx(1)
    assert {share for siren, share in got.items() if siren not in (METROPOLE, GATINE_RACAN)} == {0}


def test_no_search_in_the_period_is_no_share_and_nothing_to_compare(session: Session) -> None:
    log_run(session, DAY_AFTER_AU, [METROPOLE])
    figures = balances(session, MARCH)
    assert set(shares(figures).values()) == {None}
    assert figures.neutrality == [] and not figures.comparable
    assert figures.to_json()["neutrality"] == []


def test_every_epci_past_the_threshold_is_named_and_no_other(session: Session) -> None:
    log_run(session, MID_MARCH, [METROPOLE])  # all the exposure to the Métropole
    figures = balances(session, MARCH)
    land = {epci.siren: epci.land_share for epci in figures.epcis}
    expected = {
        siren
        for siren, share in land.items()
        if abs((1.0 if siren == METROPOLE else 0.0) - share) > NEUTRALITY_THRESHOLD
    }
    assert METROPOLE in expected and len(expected) > 1  # over- and under-exposed alike
    assert {imbalance.siren for imbalance in figures.neutrality} == expected
    named = {imbalance.siren: imbalance for imbalance in figures.neutrality}
    percent = round(land[METROPOLE] * 100)
    assert named[METROPOLE].over_exposed
    assert named[METROPOLE].sentence == (
        f"Tours Métropole Val de Loire a reçu 100\u00a0% de l’exposition pour "
        f"{percent}\u00a0% des surfaces en vente"
    )
    under = next(imbalance for siren, imbalance in named.items() if siren != METROPOLE)
    assert not under.over_exposed and "a reçu 0\u00a0% de l’exposition" in under.sentence
    assert figures.to_json()["neutrality"][0]["sentence"] == figures.neutrality[0].sentence


def test_an_exposure_that_follows_the_land_names_nobody(session: Session) -> None:
    land = {epci.siren: epci.land_share for epci in balances(session, MARCH).epcis}
    for siren, share in land.items():  # a hundred first places shared as the land is
        for _ in range(round(share * 100)):
            log_run(session, MID_MARCH, [siren])
    figures = balances(session, MARCH)
    assert figures.comparable and figures.neutrality == []
    assert all(
        abs(epci.exposure_share - epci.land_share) <= NEUTRALITY_THRESHOLD for epci in figures.epcis
    )
