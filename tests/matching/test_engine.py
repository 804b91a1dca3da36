"""The engine on the demo inventory (real PostGIS): the candidate query agrees with the pure
hard constraints, results are explained and ranked, neutral, and follow every edit."""

from __future__ import annotations

import dataclasses
from collections import Counter
from decimal import Decimal

import numpy as np
import pytest
from geoalchemy2.shape import from_shape, to_shape
from hypothesis import HealthCheck, given, settings
from matching_strategies import needs_data
from shapely.affinity import translate
from shapely.geometry import MultiPolygon
from sqlalchemy import select, text

from foncier.core.errors import NotFoundError
from foncier.matching import (
    HARD_CONSTRAINTS,
    PlotArrays,
    engine,
    hard_failures,
    load_plot_facts,
    match,
    parse_needs,
    rebuild_matching_data,
    scoring,
    why_not,
)
from foncier.matching.engine import scan_offer
from foncier.models import ConstraintZone, MatchingPlot, Site, Terrain

REFERENCE = "2026-09-01"
FLOOD_ZONE = "Zone inondable de la Loire (illustrative)"
EXAMPLES = {
    "logisticien": {
        "surface_min_ha": 4.5,
        "surface_max_ha": 8,
        "naf": "52.10B",
        "power_min_kva": 1000,
        "motorway_max_km": 10,
        "networks_wanted": ["reseau_fret_ferroviaire", "reseau_electrique", "reseau_fibre_optique"],
    },
    "artisan": {
        "surface_min_ha": 0.3,
        "surface_max_ha": 0.5,
        "naf": "43.22A",
        "budget_max_eur_m2": 25,
    },
    "industriel": {
        "surface_min_ha": 1,
        "icpe_regime": "autorisation",
        "power_min_kva": 2000,
        "avoid_zones": ["inondation"],
        "budget_max_eur_m2": 30,
        "budget_is_hard": True,
    },
    "everything": {"surface_min_ha": 0.01},
    "flood-averse": {
        "surface_min_ha": 0.5,
        "avoid_zones": ["inondation"],
        "motorway_max_km": 6,
        "needed_by": "2027-06-30",
        "near": {"lat": 47.39, "lon": 0.69, "max_km": 35},
    },
}
DB_PROPERTIES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def needs_for(name: str, **more):
    return parse_needs({**EXAMPLES[name], "reference_date": REFERENCE, **more})


@pytest.fixture
def all_facts(session):
    return load_plot_facts(session)


def first_failures(facts, needs) -> Counter:
    counts = Counter()
    for plot in facts:
        failures = hard_failures(plot, needs)
        counts[failures[0].constraint if failures else None] += 1
    return counts


def assert_sql_agrees_with_python(session, facts, needs):
    eligible = sorted(p.terr_id for p in facts if not hard_failures(p, needs))
    offer = scan_offer(session, needs)
    assert sorted(offer.candidates.terr_id) == eligible
    python = first_failures(facts, needs)
    assert offer.excluded == {name: python.get(name, 0) for name, _ in HARD_CONSTRAINTS}
    assert offer.plots == len(facts)
    assert sum(offer.excluded.values()) == offer.plots - len(eligible)
    assert offer.available == sum(
        1 for p in facts if p.stade_comm in ("en vente", "en vente avec contraintes")
    )


# --- The candidate query and the pure hard constraints agree -------------------------------


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_candidate_query_and_hard_failures_agree_on_the_examples(session, all_facts, name):
    assert_sql_agrees_with_python(session, all_facts, needs_for(name))


@DB_PROPERTIES
@given(data=needs_data())
def test_candidate_query_and_hard_failures_agree_on_random_needs(session, all_facts, data):
    assert_sql_agrees_with_python(session, all_facts, parse_needs(data))


def test_the_matching_table_holds_the_facts_of_every_plot_on_offer(session):
    """Same numbers as the ORM path gives the pure scorer: floats, codes, masks, centroids."""
    stored = scan_offer(session, parse_needs({"surface_min_ha": 1e-9})).candidates
    expected = PlotArrays.from_facts(load_plot_facts(session, available_only=True))
    assert len(stored) == len(expected) > 50
    order = np.argsort(np.array(list(stored.terr_id)))
    assert [stored.terr_id[i] for i in order] == list(expected.terr_id)
    for field in dataclasses.fields(PlotArrays)[1:]:
        np.testing.assert_array_equal(
            getattr(stored, field.name)[order], getattr(expected, field.name)
        )


# --- Results -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_no_result_violates_a_hard_constraint_and_ranks_are_ordered(session, name):
    needs = needs_for(name)
    result = match(session, needs, limit=50)
    facts = {p.terr_id: p for p in load_plot_facts(session, [r.terr_id for r in result.results])}
    assert all(hard_failures(facts[r.terr_id], needs) == [] for r in result.results)
    assert [r.rank for r in result.results] == list(range(1, len(result.results) + 1))
    keys = [(-r.score, *scoring.tie_key([r.terr_id], needs)) for r in result.results]
    assert keys == sorted(keys)
    assert len(result.results) == min(50, result.candidates)


def test_the_logistics_company_finds_credible_plots_in_several_epcis(session):
    result = match(session, needs_for("logisticien"), limit=5)
    assert len({r.epci_siren for r in result.results}) >= 2
    best = result.to_json()["results"][0]
    assert {c["name"] for c in best["criteria"]} >= {"surface", "autoroute", "puissance"}
    assert all(c["explanation"].endswith(").") for c in best["criteria"] if c["weight"] > 0)
    assert sum(c["contribution"] for c in best["criteria"]) == pytest.approx(
        best["score"], abs=1e-5
    )
    assert 0 < best["score"] <= 1 and best["site_nom"] and len(best["epci_siren"]) == 9
    assert 46.5 < best["lat"] < 48 and 0 < best["lon"] < 1.5


def test_the_output_has_the_documented_shape(session):
    data = match(session, needs_for("artisan"), limit=3).to_json()
    assert set(data) == {
        "needs",
        "weights",
        "results",
        "excluded",
        "candidates",
        "available",
        "plots",
    }
    assert data["needs"]["vocation"] == "artisanale" and data["needs"]["naf"] == "43.22A"
    assert list(data["excluded"]) == [name for name, _ in HARD_CONSTRAINTS]
    assert sum(data["weights"].values()) == pytest.approx(1, abs=1e-5)
    assert set(data["results"][0]) == {"rank", "terr_id", "site_id", "site_nom", "epci_siren",
                                       "score", "criteria", "lon", "lat"}  # fmt: skip
    assert set(data["results"][0]["criteria"][0]) == {
        "name", "label", "raw", "value", "weight", "contribution", "explanation",
    }  # fmt: skip


def test_the_same_search_gives_the_same_output(session):
    needs = needs_for("everything")
    assert match(session, needs, limit=300).to_json() == match(session, needs, limit=300).to_json()


def test_limit_zero_still_counts(session):
    result = match(session, needs_for("everything"), limit=0)
    assert result.results == [] and result.candidates > 0


# --- Neutrality ----------------------------------------------------------------------------


def scores_by_plot(session, needs) -> dict[str, float]:
    return {r.terr_id: r.score for r in match(session, needs, limit=1000).results}


def test_swapping_the_epci_of_two_parks_changes_no_score(session):
    needs = needs_for("everything")
    before = match(session, needs, limit=1000)
    first = before.results[0]
    other = next(r for r in before.results if r.epci_siren != first.epci_siren)
    parks = {
        s.site_id: s
        for s in session.scalars(
            select(Site).where(Site.site_id.in_([first.site_id, other.site_id]))
        )
    }
    parks[first.site_id].site_epci_siren, parks[other.site_id].site_epci_siren = (
        other.epci_siren,
        first.epci_siren,
    )
    session.flush()
    after = match(session, needs, limit=1000)
    assert [(r.terr_id, r.score) for r in after.results] == [
        (r.terr_id, r.score) for r in before.results
    ]
    swapped = {r.terr_id: r.epci_siren for r in after.results}
    assert swapped[first.terr_id] == other.epci_siren and swapped[other.terr_id] == first.epci_siren


def test_the_origin_epci_of_the_company_changes_nothing(session):
    without = match(session, needs_for("logisticien"), limit=100).to_json()
    for siren in ("243700754", "200073237"):
        with_origin = match(
            session, needs_for("logisticien", origin_epci=siren), limit=100
        ).to_json()
        assert with_origin["needs"].pop("origin_epci") == siren
        without["needs"].pop("origin_epci", None)
        assert with_origin == without


# --- Why not -------------------------------------------------------------------------------


def test_why_not_names_the_flood_zone(session, all_facts):
    flooded = next(
        p for p in all_facts if "inondation" in p.zone_types and p.stade_comm.startswith("en vente")
    )
    answer = why_not(
        session, needs_for("flood-averse", surface_min_ha=0.01), flooded.terr_id
    ).to_json()
    assert answer["eligible"] is False
    zones = next(f for f in answer["failed"] if f["constraint"] == "zones")
    assert zones["explanation"] == (
        f"Terrain situé en zone inondable (PPRI) (« {FLOOD_ZONE} ») : "
        "l’activité ne peut pas l’accepter."
    )


def test_why_not_lists_every_failed_constraint_of_a_sold_plot(session, all_facts):
    sold = next(p for p in all_facts if p.stade_comm == "vendu, commercialisation achevée")
    answer = why_not(session, needs_for("industriel"), sold.terr_id)
    assert answer.failed[0].constraint == "disponibilite"
    assert answer.to_json()["failed"] == [
        f.to_json() for f in hard_failures(sold, needs_for("industriel"))
    ]


def test_why_not_gives_an_eligible_plot_its_rank_and_breakdown(session):
    needs = needs_for("everything")
    ranked = match(session, needs, limit=1000).results
    for result in (ranked[0], ranked[7], ranked[-1]):
        answer = why_not(session, needs, result.terr_id).to_json()
        assert answer["eligible"] is True and answer["failed"] == []
        assert answer["rank"] == result.rank
        assert answer["score"] == round(result.score, 6)
        assert answer["criteria"] == [c.to_json() for c in result.criteria]


def test_why_not_an_unknown_plot_is_not_found(session):
    with pytest.raises(NotFoundError):
        why_not(session, needs_for("everything"), "00000_TERRAIN-ECO_00000")


# --- The matching table follows every change at once ---------------------------------------


def candidate_ids(session, **data) -> set[str]:
    return set(
        scan_offer(session, parse_needs({"surface_min_ha": 0.01, **data})).candidates.terr_id
    )


def on_offer(session) -> Terrain:
    return session.scalars(
        select(Terrain).where(Terrain.terr_stade_comm == "en vente").order_by(Terrain.terr_id)
    ).first()


def test_a_price_change_is_seen_by_the_next_search(session):
    plot = on_offer(session)
    hard_budget = {"budget_max_eur_m2": 5, "budget_is_hard": True}
    assert plot.terr_id not in candidate_ids(session, **hard_budget)
    plot.terr_m2_prix = Decimal("4.50")
    session.flush()
    assert plot.terr_id in candidate_ids(session, **hard_budget)


def test_a_plot_sold_leaves_the_offer_and_one_put_on_sale_joins_it(session):
    plot = on_offer(session)
    plot.terr_stade_comm = "réservé par option de réservation"
    session.flush()
    assert plot.terr_id not in candidate_ids(session)
    plot.terr_stade_comm = "en vente avec contraintes"
    session.flush()
    assert plot.terr_id in candidate_ids(session)


def test_new_and_deleted_plots_change_the_offer_and_the_plot_count(session):
    plots_before = scan_offer(session, parse_needs({"surface_min_ha": 1})).plots
    model = on_offer(session)
    copy = Terrain(
        **{
            column.key: getattr(model, column.key)
            for column in Terrain.__mapper__.column_attrs
            if column.key not in ("terr_id", "version", "created_at", "updated_at")
        },
        terr_id="37000_TERRAIN-ECO_99999",
    )
    session.add(copy)
    session.flush()
    assert copy.terr_id in candidate_ids(session)
    assert scan_offer(session, parse_needs({"surface_min_ha": 1})).plots == plots_before + 1
    session.delete(copy)
    session.flush()
    assert copy.terr_id not in candidate_ids(session)
    assert scan_offer(session, parse_needs({"surface_min_ha": 1})).plots == plots_before


def test_a_park_gaining_rail_brings_its_plots_to_rail_searches(session):
    park = session.scalars(
        select(Site)
        .where(Site.reseau_fret_ferroviaire.is_not(True))
        .join(Terrain)
        .where(Terrain.terr_stade_comm == "en vente")
        .order_by(Site.site_id)
    ).first()
    rail = {"networks_required": ["reseau_fret_ferroviaire"]}
    plots = {t.terr_id for t in park.terrains if t.terr_stade_comm == "en vente"}
    assert not plots & candidate_ids(session, **rail)
    park.reseau_fret_ferroviaire = True
    session.flush()
    assert plots <= candidate_ids(session, **rail)


def test_a_new_constraint_zone_excludes_the_plots_it_covers_until_removed(session):
    plot = on_offer(session)
    outline = MultiPolygon([to_shape(plot.terr_geomsurf).buffer(1)])
    zone = ConstraintZone(
        zone_type="natura2000",
        nom="Site Natura 2000 d’essai",
        source="test",
        geom=from_shape(outline, srid=2154),
    )
    session.add(zone)
    session.flush()
    assert plot.terr_id not in candidate_ids(session, avoid_zones=["natura2000"])
    answer = why_not(
        session, parse_needs({"surface_min_ha": 0.01, "avoid_zones": ["natura2000"]}), plot.terr_id
    )
    assert "Site Natura 2000 d’essai" in answer.failed[0].explanation
    session.delete(zone)
    session.flush()
    assert plot.terr_id in candidate_ids(session, avoid_zones=["natura2000"])


def test_rebuilding_the_matching_table_changes_nothing(session):
    def snapshot():
        return session.execute(select(MatchingPlot.__table__).order_by(MatchingPlot.terr_id)).all()

    on_offer(session).terr_puissance_kva = 4321
    session.flush()
    before, plots = snapshot(), scan_offer(session, needs_for("everything")).plots
    rebuild_matching_data(session)
    assert snapshot() == before
    assert (
        scan_offer(session, needs_for("everything")).plots == plots == len(load_plot_facts(session))
    )


def test_emptying_the_inventory_empties_the_offer(session):
    session.execute(text("TRUNCATE owner, etablissement_terrain, terrain CASCADE"))
    offer = scan_offer(session, needs_for("everything"))
    assert (offer.plots, offer.available, len(offer.candidates)) == (0, 0, 0)
    assert match(session, needs_for("everything")).results == []


def far_zone(session, plot: Terrain, shift_m: float) -> ConstraintZone:
    """A Natura 2000 zone over where ``plot`` would be ``shift_m`` metres further south."""
    outline = translate(to_shape(plot.terr_geomsurf).buffer(1), yoff=-shift_m)
    zone = ConstraintZone(
        zone_type="natura2000", nom="Zone d’essai", source="test", geom=from_shape(
            MultiPolygon([outline]), srid=2154)
    )  # fmt: skip
    session.add(zone)
    session.flush()
    return zone


def test_a_plot_moved_into_a_zone_leaves_searches_avoiding_it(session):
    plot, avoid = on_offer(session), {"avoid_zones": ["natura2000"]}
    far_zone(session, plot, 200_000)
    assert plot.terr_id in candidate_ids(session, **avoid)
    plot.terr_geomsurf = from_shape(
        translate(to_shape(plot.terr_geomsurf), yoff=-200_000), srid=2154
    )
    session.flush()
    assert plot.terr_id not in candidate_ids(session, **avoid)


def test_a_zone_moved_over_a_plot_excludes_it_and_moved_away_frees_it(session):
    plot, avoid = on_offer(session), {"avoid_zones": ["natura2000"]}
    zone = far_zone(session, plot, 200_000)
    here = to_shape(zone.geom)
    zone.geom = from_shape(translate(here, yoff=200_000), srid=2154)
    session.flush()
    assert plot.terr_id not in candidate_ids(session, **avoid)
    zone.geom = from_shape(here, srid=2154)
    session.flush()
    assert plot.terr_id in candidate_ids(session, **avoid)


def test_a_plot_moved_to_another_park_takes_that_park_s_networks(session):
    plot, rail = on_offer(session), {"networks_required": ["reseau_fret_ferroviaire"]}
    with_rail = session.scalars(
        select(Site).where(Site.reseau_fret_ferroviaire.is_(True)).order_by(Site.site_id)
    ).first()
    without_rail = session.scalars(
        select(Site).where(Site.reseau_fret_ferroviaire.is_not(True)).order_by(Site.site_id)
    ).first()
    plot.site_id = without_rail.site_id
    session.flush()
    assert plot.terr_id not in candidate_ids(session, **rail)
    plot.site_id = with_rail.site_id
    session.flush()
    assert plot.terr_id in candidate_ids(session, **rail)


def test_a_result_deleted_by_another_transaction_during_a_search_is_left_out(session, monkeypatch):
    needs = needs_for("everything")
    expected = [r.terr_id for r in match(session, needs, limit=5).results]
    read_results = engine._display_fields

    def deleted_meanwhile(session, terr_ids):
        session.execute(text("DELETE FROM terrain WHERE terr_id = :t"), {"t": expected[0]})
        return read_results(session, terr_ids)

    monkeypatch.setattr(engine, "_display_fields", deleted_meanwhile)
    results = match(session, needs, limit=5).results
    assert [r.terr_id for r in results] == expected[1:]
    assert [r.rank for r in results] == [1, 2, 3, 4]
