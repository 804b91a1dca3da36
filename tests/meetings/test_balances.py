"""Balances between territories (foncier.meetings.balances): on the demo plus redirections made
through the core's own steps, every figure agrees with a plain SQL count made here; a
redirection counts on the days of the period it was proposed in, both ends included; the flows
between EPCIs; the shares."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from case_helpers import (
    GATINE_RACAN,
    METROPOLE,
    keep_plots,
    new_prospect,
    plots_on_sale,
    referent_of,
    third_epci,
)
from sqlalchemy import text
from sqlalchemy.orm import Session

from foncier.core.french import epci_sort_key
from foncier.meetings.balances import (
    Balances,
    Period,
    Quarter,
    balances,
    epci_centres,
    proposed_by_quarter,
)
from foncier.models import Redirection, Terrain
from foncier.prospects.cases import advance_case
from foncier.redirections.proposals import (
    accept_redirection,
    decline_redirection,
    propose_redirection,
    withdraw_redirection,
)
from foncier.territory.epcis import list_epcis

# A period of long ago, empty in the demo: only this test's redirections fall in it.
DU, AU = date(2020, 3, 1), date(2020, 3, 31)
# Everything: the demo's redirections and this test's.
ALWAYS = Period(date(2000, 1, 1), date(2100, 12, 31))
# French time: a proposal at 23:30 UTC on 29 February 2020 was made on 1 March in Tours.
LATE_ON_THE_DAY_BEFORE = datetime(2020, 2, 29, 22, 30, tzinfo=UTC)
EARLY_ON_DU = datetime(2020, 2, 29, 23, 30, tzinfo=UTC)
LAST_MINUTE_OF_AU = datetime(2020, 3, 31, 21, 59, tzinfo=UTC)
DAY_AFTER_AU = datetime(2020, 3, 31, 22, 0, tzinfo=UTC)


def propose(session: Session, to: str, when: datetime, *, lead: str = METROPOLE) -> Redirection:
    """A new project of ``lead`` proposed to ``to`` through the core, dated ``when``."""
    prospect = new_prospect(session, lead)
    plots = [plots_on_sale(session, to)[0].terr_id]
    keep_plots(session, prospect, plots)
    redirection = propose_redirection(
        session, referent_of(session, lead), prospect, to, plots, "Un terrain chez vous ?"
    )
    # The only thing the core cannot do for a test: propose in the past.
    redirection.proposed_at = when
    session.flush()
    return redirection


def settle(session: Session, redirection: Redirection) -> None:
    """The target accepts, and the company settles on the proposed plot."""
    target = referent_of(session, redirection.to_epci_siren)
    accept_redirection(session, target, redirection, redirection.version)
    prospect = redirection.prospect
    for stage in ("recherche", "visite", "offre"):
        advance_case(session, target, prospect, stage, version=prospect.version)
    advance_case(
        session, target, prospect, "installe", version=prospect.version,
        terr_id=redirection.plots[0].terr_id, on=date(2020, 6, 1), jobs_created=30,
    )  # fmt: skip


@pytest.fixture
def march(session: Session) -> dict[str, Redirection]:
    """In March 2020: the Métropole sends four projects to Gâtine-Racan (one settles, one is
    declined, one withdrawn, one waits) and one to a third EPCI (settled); two more proposals
    fall just outside the month."""
    third = third_epci(session)
    made = {
        "settled": propose(session, GATINE_RACAN, EARLY_ON_DU),
        "declined": propose(session, GATINE_RACAN, LAST_MINUTE_OF_AU),
        "withdrawn": propose(session, GATINE_RACAN, datetime(2020, 3, 10, 9, tzinfo=UTC)),
        "waiting": propose(session, GATINE_RACAN, datetime(2020, 3, 11, 9, tzinfo=UTC)),
        "third": propose(session, third, datetime(2020, 3, 12, 9, tzinfo=UTC)),
        "before": propose(session, GATINE_RACAN, LATE_ON_THE_DAY_BEFORE),
        "after": propose(session, GATINE_RACAN, DAY_AFTER_AU),
    }
    gatine = referent_of(session, GATINE_RACAN)
    settle(session, made["settled"])
    settle(session, made["third"])
    declined = made["declined"]
    decline_redirection(session, gatine, declined, declined.version, "delai", None)
    withdrawn = made["withdrawn"]
    withdraw_redirection(session, referent_of(session, METROPOLE), withdrawn, withdrawn.version)
    return made


def by_siren(result: Balances) -> dict[str, dict]:
    return {epci["siren"]: epci for epci in result.to_json()["epcis"]}


def test_the_figures_of_every_epci_agree_with_a_count_made_in_sql(session, march):
    result = by_siren(balances(session, ALWAYS))
    counted = session.execute(
        text(
            """
            SELECT e.siren,
                   (SELECT count(*) FROM redirection WHERE from_epci_siren = e.siren),
                   (SELECT count(*) FROM redirection WHERE to_epci_siren = e.siren),
                   (SELECT count(*) FROM redirection
                     WHERE to_epci_siren = e.siren AND status = 'acceptee'),
                   (SELECT count(*) FROM redirection
                     WHERE to_epci_siren = e.siren AND status = 'declinee'),
                   (SELECT count(*) FROM redirection
                     WHERE to_epci_siren = e.siren AND status = 'retiree'),
                   (SELECT count(*) FROM redirection
                     WHERE to_epci_siren = e.siren AND status = 'proposee'),
                   (SELECT count(*) FROM redirection r JOIN prospect p ON p.id = r.prospect_id
                     WHERE r.to_epci_siren = e.siren AND r.status = 'acceptee'
                       AND p.stage = 'installe' AND p.lead_epci_siren = e.siren),
                   (SELECT count(*) FROM agreement a JOIN agreement_party ap
                       ON ap.agreement_id = a.id
                     WHERE ap.epci_siren = e.siren AND a.status = 'en_vigueur'),
                   (SELECT coalesce(sum(t.terr_surf_brute), 0) FROM terrain t
                       JOIN site s ON s.site_id = t.site_id
                     WHERE s.site_epci_siren = e.siren AND t.terr_utile IS DISTINCT FROM false
                       AND t.terr_stade_comm IN ('en vente', 'en vente avec contraintes'))
            FROM epci e
            """
        )
    ).all()
    assert len(counted) == len(result) > 2
    names = ("sent", "received", "accepted", "declined", "withdrawn", "waiting", "installed")
    for siren, *counts, in_force, on_sale in counted:
        epci = result[siren]
        assert [epci[name] for name in names] == counts, siren
        assert epci["agreements_in_force"] == in_force, siren
        assert Decimal(str(epci["hectares_on_sale"])) == on_sale, siren
    # The two of this test: the tests' demo database has the inventory but no case.
    assert sum(epci["installed"] for epci in result.values()) == 2


def test_a_redirection_counts_in_the_period_it_was_proposed_in_both_ends_included(session, march):
    gatine = by_siren(balances(session, Period(DU, AU)))[GATINE_RACAN]
    # settled (at 00:30 on du in Tours), declined (last minute of au), withdrawn, waiting;
    # not the one of the evening before du, nor the one of the day after au.
    assert gatine["received"] == 4
    assert (gatine["accepted"], gatine["declined"], gatine["withdrawn"], gatine["waiting"]) == (
        1, 1, 1, 1,
    )  # fmt: skip
    assert gatine["declined_by_reason"] == {
        "pas_de_terrain": 0, "activite_non_souhaitee": 0, "delai": 1, "capacite": 0,
        "projet_incomplet": 0, "autre": 0,
    }  # fmt: skip
    assert gatine["installed"] == 1
    one_day = by_siren(balances(session, Period(date(2020, 2, 29), date(2020, 2, 29))))
    assert one_day[GATINE_RACAN]["received"] == 1  # the one of the evening before du


def test_hectares_and_jobs_move_with_the_redirected_projects(session, march):
    result = by_siren(balances(session, Period(DU, AU)))
    hectares = {
        name: float(session.get(Terrain, march[name].plots[0].terr_id).terr_surf_brute)
        for name in ("settled", "third")
    }
    gatine, metropole = result[GATINE_RACAN], result[METROPOLE]
    assert gatine["hectares_in"] == hectares["settled"]
    assert gatine["jobs_in"] == 4 * 40  # four projects of 40 planned jobs each
    assert metropole["hectares_out"] == pytest.approx(hectares["settled"] + hectares["third"])
    assert metropole["jobs_out"] == 5 * 40
    assert (metropole["sent"], metropole["received"], metropole["hectares_in"]) == (5, 0, 0)


def test_the_flows_and_the_shares(session, march):
    third = third_epci(session)
    result = balances(session, Period(DU, AU)).to_json()
    assert result["du"] == "2020-03-01" and result["au"] == "2020-03-31"
    # In the order of the EPCIs' list: the same origin, so in the order of the targets' names.
    names = dict(list_epcis(session))
    assert result["flows"] == sorted(
        [
            {"from": METROPOLE, "to": GATINE_RACAN, "proposed": 4, "accepted": 1, "installed": 1},
            {"from": METROPOLE, "to": third, "proposed": 1, "accepted": 1, "installed": 1},
        ],
        key=lambda flow: epci_sort_key(names[flow["to"]]),
    )
    epcis = {epci["siren"]: epci for epci in result["epcis"]}
    assert epcis[GATINE_RACAN]["success_share"] == epcis[third]["success_share"] == 0.5
    assert epcis[METROPOLE]["success_share"] == 0
    assert sum(epci["land_share"] for epci in epcis.values()) == pytest.approx(1)
    on_sale = sum(epci["hectares_on_sale"] for epci in epcis.values())
    assert epcis[GATINE_RACAN]["land_share"] == pytest.approx(
        epcis[GATINE_RACAN]["hectares_on_sale"] / on_sale
    )


def test_an_empty_period_has_no_flow_and_no_success_share(session):
    result = balances(session, Period(date(1990, 1, 1), date(1990, 12, 31))).to_json()
    assert result["flows"] == []
    assert {epci["success_share"] for epci in result["epcis"]} == {None}
    assert {epci["received"] + epci["sent"] for epci in result["epcis"]} == {0}


def test_a_period_cannot_end_before_it_starts():
    with pytest.raises(ValueError, match="after it ends"):
        Period(date(2020, 3, 2), date(2020, 3, 1))


def test_the_trend_counts_each_quarter_in_french_time_and_keeps_the_empty_ones(session, march):
    # 29 February at 23:30 in Tours is in the first quarter, 1 April at 00:00 in the second.
    period = Period(date(2019, 12, 15), date(2020, 4, 1))
    assert proposed_by_quarter(session, period) == [
        Quarter(date(2019, 10, 1), 0),
        Quarter(date(2020, 1, 1), 6),
        Quarter(date(2020, 4, 1), 1),
    ]
    assert [quarter.label for quarter in proposed_by_quarter(session, period)] == [
        "T4 2019", "T1 2020", "T2 2020"]  # fmt: skip
    # The quarter's days outside the period do not count.
    assert proposed_by_quarter(session, Period(DU, AU)) == [Quarter(date(2020, 1, 1), 5)]


def test_each_epci_centre_lies_inside_the_epci(session):
    centres = epci_centres(session)
    assert set(centres) == {siren for siren, _nom in list_epcis(session)}
    inside = session.execute(
        text(
            """
            SELECT count(*) FROM epci e
              JOIN unnest(CAST(:sirens AS text[]), CAST(:lats AS float8[]),
                          CAST(:lons AS float8[])) AS c(siren, lat, lon)
              ON c.siren = e.siren
            WHERE ST_Contains(e.geom, ST_Transform(ST_SetSRID(ST_MakePoint(c.lon, c.lat), 4326),
                                                   ST_SRID(e.geom)))
            """
        ),
        {
            "sirens": list(centres),
            "lats": [lat for lat, _lon in centres.values()],
            "lons": [lon for _lat, lon in centres.values()],
        },
    ).scalar_one()
    assert inside == len(centres) == 11
