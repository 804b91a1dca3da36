"""The pure scorer, without a database: membership functions, breakdowns, properties."""

from __future__ import annotations

import dataclasses
import math
import warnings
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matching_strategies import REFERENCE_DATE, TOURS_X, TOURS_Y, needs_data, plots, valid_needs

from foncier.matching import (
    CRITERIA,
    DEFAULT_WEIGHTS,
    PlotArrays,
    PlotFacts,
    hard_failures,
    parse_needs,
    score_arrays,
    score_plot,
)
from foncier.matching.engine import top_indices
from foncier.matching.scoring import (
    HARD_CONSTRAINT_NAMES,
    NETWORKS,
    STAGE_VALUES,
    criterion_values,
    resolve_weights,
    tie_key,
)

PROPERTIES = settings(max_examples=200, deadline=None)


def plot(**changes) -> PlotFacts:
    base = PlotFacts(
        terr_id="37000_TERRAIN-ECO_00001",
        site_id="37000_SITE-ECO_00001",
        surface_ha=5.0,
        divisible=False,
        lot_min_ha=None,
        price_eur_m2=20.0,
        stade_comm="en vente",
        stade_amngt="viabilisé et aménagé",
        icpe_max="autorisation",
        networks=frozenset(NETWORKS),
        power_kva=1000.0,
        available_from=None,
        turnkey=True,
        height_max_m=15.0,
        motorway_km=3.0,
        x=TOURS_X,
        y=TOURS_Y,
        zone_types=frozenset(),
        vocation="entrepôts, logistique",
    )
    return dataclasses.replace(base, **changes)


def needs(**data):
    return parse_needs({"surface_min_ha": 4, "reference_date": REFERENCE_DATE.isoformat(), **data})


def value_of(plot_facts: PlotFacts, the_needs, name: str) -> float:
    return next(c.value for c in score_plot(plot_facts, the_needs).criteria if c.name == name)


def explanation_of(plot_facts: PlotFacts, the_needs, name: str) -> str:
    return next(c.explanation for c in score_plot(plot_facts, the_needs).criteria if c.name == name)


# --- Criteria and weights ------------------------------------------------------------------


def test_default_weights_sum_to_one_and_every_criterion_is_documented():
    assert math.isclose(sum(DEFAULT_WEIGHTS.values()), 1.0)
    assert [c.name for c in CRITERIA] == list(DEFAULT_WEIGHTS)
    assert all(c.label and c.membership and c.default_weight > 0 for c in CRITERIA)


def test_criteria_not_asked_for_weigh_nothing_and_the_rest_is_renormalised():
    weights = resolve_weights(needs())
    assert weights["prix"] == weights["puissance"] == weights["vocation"] == 0
    assert weights["proximite"] == 0
    assert math.isclose(sum(weights.values()), 1.0)
    assert math.isclose(weights["surface"] / weights["autoroute"], 0.20 / 0.15)


def test_weight_overrides_apply_before_normalisation():
    weights = resolve_weights(needs(budget_max_eur_m2=30, weights={"prix": 3, "surface": 0}))
    assert weights["surface"] == 0
    assert weights["prix"] == pytest.approx(3 / (3 + 0.15 + 0.10 + 0.10 + 0.05))


# --- Membership functions (the tables of docs/matching.md) ---------------------------------


@pytest.mark.parametrize(
    ("price", "expected"),
    [(10, 1.0), (15, 1.0), (24, 0.7), (30, 0.5), (39, 0.2), (45, 0.0), (60, 0.0)],
)
def test_price_is_one_up_to_half_the_budget_half_at_the_budget_zero_at_one_and_a_half(
    price, expected
):
    assert value_of(plot(price_eur_m2=price), needs(budget_max_eur_m2=30), "prix") == pytest.approx(
        expected
    )


@pytest.mark.parametrize(("km", "expected"), [(0, 1.0), (3, 0.9), (15, 0.5), (30, 0.0), (45, 0.0)])
def test_motorway_access_decreases_linearly_to_zero_at_30_km(km, expected):
    assert value_of(plot(motorway_km=km), needs(), "autoroute") == pytest.approx(expected)


@pytest.mark.parametrize(
    ("lot", "expected"), [(4.0, 1.0), (6.0, 1.0), (7.5, 0.75), (9.0, 0.5), (12.0, 0.0)]
)
def test_surface_is_right_up_to_one_and_a_half_times_the_minimum_then_decreases(lot, expected):
    assert value_of(plot(surface_ha=lot), needs(), "surface") == pytest.approx(expected)


def test_a_divisible_plot_offers_the_smallest_lot_that_covers_the_need():
    big = plot(surface_ha=12.0, divisible=True, lot_min_ha=2.0)
    assert value_of(big, needs(), "surface") == 1.0
    assert "Lot possible de 4\u00a0ha" in explanation_of(big, needs(), "surface")


def test_surface_within_the_maximum_asked_is_perfect():
    assert value_of(plot(surface_ha=9.0), needs(surface_max_ha=9), "surface") == 1.0


@pytest.mark.parametrize(
    ("kva", "expected"),
    [(None, 0.0), (500, 0.25), (1000, 0.5), (1500, 0.75), (2000, 1.0), (4000, 1.0)],
)
def test_power_is_half_at_the_minimum_asked_and_full_at_twice(kva, expected):
    assert value_of(plot(power_kva=kva), needs(power_min_kva=1000), "puissance") == expected


@pytest.mark.parametrize(
    ("days_late", "expected"), [(-100, 1.0), (0, 1.0), (365, 0.5), (730, 0.0), (900, 0.0)]
)
def test_availability_decreases_over_two_years_after_the_date_wanted(days_late, expected):
    wanted = date(2027, 3, 1)
    late = plot(available_from=wanted + timedelta(days=days_late))
    assert value_of(late, needs(needed_by="2027-03-01"), "disponibilite") == pytest.approx(expected)


def test_availability_without_a_date_wanted_counts_from_the_reference_date():
    soon = plot(available_from=REFERENCE_DATE + timedelta(days=73))
    assert value_of(soon, needs(), "disponibilite") == pytest.approx(0.9)
    assert value_of(plot(available_from=None), needs(), "disponibilite") == 1.0


def test_networks_count_the_share_of_those_wanted():
    some = plot(networks=frozenset({"reseau_electrique", "reseau_eau_potable"}))
    assert value_of(some, needs(), "reseaux") == 0.5
    wanted = needs(networks_wanted=["reseau_fret_ferroviaire", "reseau_electrique"])
    assert value_of(some, wanted, "reseaux") == 0.5
    assert "sans fret ferroviaire" in explanation_of(some, wanted, "reseaux")


@pytest.mark.parametrize(
    ("site", "expected"),
    [("entrepôts, logistique", 1.0), ("mixte", 0.5), ("industrielle", 0.5), ("tertiaire", 0.0)],
)
def test_vocation_is_full_for_the_one_asked_half_for_mixed_or_related_parks(site, expected):
    assert value_of(plot(vocation=site), needs(naf="52.10B"), "vocation") == expected


def test_proximity_decreases_to_zero_at_the_radius():
    here = needs(near={"lat": 47.39, "lon": 0.69, "max_km": 20})
    at_place = plot(x=here.near.x, y=here.near.y)
    assert value_of(at_place, here, "proximite") == pytest.approx(1.0)
    ten_km = plot(x=here.near.x + 6000, y=here.near.y + 8000)
    assert value_of(ten_km, here, "proximite") == pytest.approx(0.5)


def test_explanations_are_french_sentences_read_aloud():
    scored = score_plot(plot(motorway_km=4.2), needs(budget_max_eur_m2=30, power_min_kva=800))
    sentences = {c.name: c.explanation for c in scored.criteria}
    assert sentences["autoroute"] == "Échangeur autoroutier à 4,2\u00a0km : très bon accès (0,86)."
    assert sentences["prix"] == (
        "Prix de 20\u00a0€/m² pour un budget de 30\u00a0€/m² : dans le budget (0,83)."
    )
    assert sentences["puissance"] == (
        "Puissance de 1\u202f000\u00a0kVA disponible pour 800\u00a0kVA demandés : "
        "marge de 25\u00a0% (0,63)."
    )
    assert all(s[0].isupper() and s.endswith(".") for s in sentences.values()), sentences


# --- Hard constraints ----------------------------------------------------------------------


def test_a_plot_meeting_everything_fails_nothing():
    assert hard_failures(plot(), needs(power_min_kva=1000, icpe_regime="autorisation")) == []


def test_failures_come_in_the_documented_order_with_french_explanations():
    bad = plot(
        stade_comm="vendu, commercialisation achevée",
        surface_ha=2.0,
        icpe_max="déclaration",
        zone_types=frozenset({"inondation"}),
        zone_names=("Zone inondable de la Loire",),
    )
    failures = hard_failures(bad, needs(icpe_regime="autorisation", avoid_zones=["inondation"]))
    assert [f.constraint for f in failures] == ["disponibilite", "surface", "icpe", "zones"]
    assert failures[0].explanation == (
        "Terrain non disponible à la vente : stade de commercialisation "
        "« vendu, commercialisation achevée »."
    )
    assert failures[3].explanation == (
        "Terrain situé en zone inondable (PPRI) (« Zone inondable de la Loire ») : "
        "l’activité ne peut pas l’accepter."
    )
    assert [name for name in HARD_CONSTRAINT_NAMES][:3] == ["disponibilite", "surface", "icpe"]


def test_a_divisible_plot_serves_a_smaller_need_down_to_its_minimum_lot():
    big = plot(surface_ha=12.0, divisible=True, lot_min_ha=3.0)
    assert hard_failures(big, needs(surface_max_ha=5)) == []
    assert [
        f.constraint for f in hard_failures(big, needs(surface_min_ha=1, surface_max_ha=2))
    ] == ["surface"]
    assert [
        f.constraint for f in hard_failures(plot(surface_ha=12.0), needs(surface_max_ha=5))
    ] == ["surface"]


@pytest.mark.parametrize(
    ("changes", "asked", "constraint"),
    [
        ({"power_kva": None}, {"power_min_kva": 10}, "puissance"),
        ({"icpe_max": None}, {"icpe_regime": "déclaration"}, "icpe"),
        ({"motorway_km": None}, {"motorway_max_km": 50}, "autoroute"),
        ({"price_eur_m2": None}, {"budget_max_eur_m2": 50, "budget_is_hard": True}, "budget"),
        ({"turnkey": None}, {"turnkey_required": True}, "cle_en_main"),
    ],
)
def test_what_is_unknown_cannot_be_promised(changes, asked, constraint):
    assert [f.constraint for f in hard_failures(plot(**changes), needs(**asked))] == [constraint]


def test_an_unknown_height_limit_is_no_limit_and_a_soft_budget_excludes_nothing():
    assert hard_failures(plot(height_max_m=None), needs(height_min_m=30)) == []
    assert hard_failures(plot(height_max_m=12), needs(height_min_m=30))[0].constraint == "hauteur"
    assert hard_failures(plot(price_eur_m2=90), needs(budget_max_eur_m2=30)) == []


# --- Properties ----------------------------------------------------------------------------


@PROPERTIES
@given(plots(), valid_needs())
def test_contributions_sum_to_a_score_in_the_unit_interval(plot_facts, the_needs):
    scored = score_plot(plot_facts, the_needs)
    assert 0.0 <= scored.score <= 1.0
    assert math.isclose(sum(c.contribution for c in scored.criteria), scored.score, abs_tol=1e-12)
    assert math.isclose(sum(c.weight for c in scored.criteria), 1.0)
    for criterion in scored.criteria:
        assert 0.0 <= criterion.value <= 1.0
        assert criterion.contribution == criterion.value * criterion.weight


@PROPERTIES
@given(st.lists(plots(), min_size=1, max_size=8), valid_needs())
def test_the_vectorised_scorer_gives_exactly_the_one_plot_scores(many, the_needs):
    # One score: the one ranked (score_arrays) is the one shown (score_plot), to the last bit.
    arrays = PlotArrays.from_facts(many)
    values = criterion_values(arrays, the_needs)
    scores = score_arrays(arrays, the_needs)
    for i, plot_facts in enumerate(many):
        scored = score_plot(plot_facts, the_needs)
        assert float(scores[i]) == scored.score
        for criterion in scored.criteria:
            assert float(values[criterion.name][i]) == criterion.value


@PROPERTIES
@given(
    st.lists(plots(), min_size=2, max_size=8, unique_by=lambda p: p.terr_id),
    valid_needs(),
    st.randoms(),
)
def test_scores_are_deterministic_and_independent_of_the_order_of_plots(many, the_needs, rng):
    shuffled = list(many)
    rng.shuffle(shuffled)
    by_id = dict(
        zip(
            [p.terr_id for p in many],
            score_arrays(PlotArrays.from_facts(many), the_needs),
            strict=False,
        )
    )
    again = score_arrays(PlotArrays.from_facts(shuffled), the_needs)
    for plot_facts, score in zip(shuffled, again, strict=True):
        assert score == pytest.approx(by_id[plot_facts.terr_id], abs=1e-15)
    assert score_plot(many[0], the_needs) == score_plot(many[0], the_needs)


STAGES_BY_VALUE = sorted(STAGE_VALUES, key=STAGE_VALUES.__getitem__)


def _earlier(p: PlotFacts, d: float) -> PlotFacts:
    """An earlier availability date, or none (at once, the best) on odd steps."""
    if p.available_from is None or int(d) % 2:
        return dataclasses.replace(p, available_from=None)
    return dataclasses.replace(p, available_from=p.available_from - timedelta(days=int(30 * d)))


def _better_stage(p: PlotFacts, d: float) -> PlotFacts:
    current = STAGE_VALUES.get(p.stade_amngt, 0.0)
    better = [stage for stage in STAGES_BY_VALUE if STAGE_VALUES[stage] > current]
    return dataclasses.replace(p, stade_amngt=better[int(d) % len(better)]) if better else p


def _closer(p: PlotFacts, d: float, n) -> PlotFacts:
    """Towards the place asked for (anywhere 1 to 30 km nearer to Tours when none is asked)."""
    to_x, to_y = (n.near.x, n.near.y) if n.near is not None else (TOURS_X, TOURS_Y)
    keep = 1.0 - d / 31.0
    return dataclasses.replace(p, x=to_x + (p.x - to_x) * keep, y=to_y + (p.y - to_y) * keep)


# Each improves one attribute of a plot by a step d in 1..30, for needs n. Unknown → known
# is an improvement for price and motorway (unknown scores 0 and fails what asks for it);
# for the date, unknown means "at once", the best there is.
IMPROVEMENTS = {
    "prix": lambda p, d, n: dataclasses.replace(
        p,
        price_eur_m2=max(0.5, p.price_eur_m2 - d) if p.price_eur_m2 is not None else 4.0 * d,
    ),
    "puissance": lambda p, d, n: dataclasses.replace(p, power_kva=(p.power_kva or 0) + 100 * d),
    "autoroute": lambda p, d, n: dataclasses.replace(
        p, motorway_km=max(0.0, p.motorway_km - d) if p.motorway_km is not None else 2.0 * d
    ),
    "disponibilite": lambda p, d, n: _earlier(p, d),
    "reseaux": lambda p, d, n: dataclasses.replace(p, networks=p.networks | {NETWORKS[int(d) % 8]}),
    "amenagement": lambda p, d, n: _better_stage(p, d),
    "proximite": _closer,
}


@PROPERTIES
@given(plots(), valid_needs(), st.sampled_from(sorted(IMPROVEMENTS)), st.integers(1, 30))
def test_improving_one_attribute_never_lowers_the_score(plot_facts, the_needs, attribute, step):
    better = IMPROVEMENTS[attribute](plot_facts, float(step), the_needs)
    assert score_plot(better, the_needs).score >= score_plot(plot_facts, the_needs).score
    assert {f.constraint for f in hard_failures(better, the_needs)} <= {
        f.constraint for f in hard_failures(plot_facts, the_needs)
    }


@pytest.mark.parametrize(
    ("attribute", "unknown", "asked"),
    [
        ("prix", {"price_eur_m2": None}, {"budget_max_eur_m2": 30}),
        ("autoroute", {"motorway_km": None}, {"motorway_max_km": 40}),
        ("disponibilite", {"available_from": REFERENCE_DATE + timedelta(days=400)},
         {"needed_by": "2026-10-01"}),
        ("amenagement", {"stade_amngt": "non aménagé, non viabilisé"}, {}),
        ("proximite", {"x": TOURS_X + 15_000}, {"near": {"lat": 47.39, "lon": 0.69}}),
    ],
)  # fmt: skip
def test_each_improvement_can_raise_the_score(attribute, unknown, asked):
    """The improvements above do improve: from unknown to known, nearer, further developed."""
    worse, the_needs = plot(**unknown), needs(**asked)
    better = IMPROVEMENTS[attribute](worse, 5.0, the_needs)
    assert value_of(better, the_needs, attribute) > value_of(worse, the_needs, attribute)
    assert score_plot(better, the_needs).score > score_plot(worse, the_needs).score


@PROPERTIES
@given(
    plots(terr_id="37000_TERRAIN-ECO_00002"),
    valid_needs(),
    st.lists(st.sampled_from(sorted(IMPROVEMENTS)), min_size=1, unique=True),
    st.integers(1, 30),
)
def test_a_dominating_plot_ranks_above(plot_facts, the_needs, attributes, step):
    better = plot_facts
    for attribute in attributes:
        better = IMPROVEMENTS[attribute](better, float(step), the_needs)
    better = dataclasses.replace(better, terr_id="37000_TERRAIN-ECO_00009")
    weights = resolve_weights(the_needs)
    worse_values = {c.name: c.value for c in score_plot(plot_facts, the_needs).criteria}
    better_values = {c.name: c.value for c in score_plot(better, the_needs).criteria}
    assert all(better_values[name] >= worse_values[name] for name in weights)
    arrays = PlotArrays.from_facts([plot_facts, better])
    ranked = top_indices(score_arrays(arrays, the_needs), arrays.terr_id, 2, the_needs)
    if any(better_values[n] > worse_values[n] and weights[n] > 0 for n in weights):
        assert ranked.tolist() == [1, 0]
    else:  # a tie: broken by tie_key
        keys = tie_key(arrays.terr_id, the_needs)
        assert ranked.tolist() == sorted([0, 1], key=keys.__getitem__)


@PROPERTIES
@given(st.lists(plots(), min_size=1, max_size=8), needs_data(), st.text(max_size=20))
def test_origin_epci_and_label_change_neither_scores_nor_the_order_of_ties(many, data, label):
    plain = parse_needs(data)
    told = parse_needs({**data, "origin_epci": "243700754", "label": label})
    arrays = PlotArrays.from_facts(many)
    assert score_arrays(arrays, told).tolist() == score_arrays(arrays, plain).tolist()
    assert tie_key(arrays.terr_id, told) == tie_key(arrays.terr_id, plain)


def test_plot_facts_carry_no_epci():
    assert not [
        f.name for f in dataclasses.fields(PlotFacts) if "epci" in f.name or "siren" in f.name
    ]


def test_partitioning_keeps_every_tie_and_ties_follow_tie_key():
    scores = np.array([0.5, 0.9, 0.5, 0.5, 0.1])
    ids = np.array(["d", "e", "c", "a", "b"], dtype=object)
    the_needs = needs()
    tied = sorted(["d", "c", "a"], key=dict(zip("dca", tie_key("dca", the_needs), strict=True)).get)
    assert [ids[i] for i in top_indices(scores, ids, 3, the_needs)] == ["e", *tied[:2]]
    assert [ids[i] for i in top_indices(scores, ids, 10, the_needs)] == ["e", *tied, "b"]
    assert top_indices(scores, ids, 0, the_needs).tolist() == []


def test_ties_are_broken_by_a_hash_of_the_plot_and_the_needs_then_by_terr_id():
    ids = [f"{insee}_TERRAIN-ECO_00001" for insee in ("37001", "37050", "37261", "41018", "45234")]
    keys = tie_key(ids, needs())
    assert keys == tie_key(list(ids), needs())  # deterministic
    assert [key[1] for key in keys] == ids and all(len(key[0]) == 8 for key in keys)
    orders = {
        tuple(
            sorted(ids, key=dict(zip(ids, tie_key(ids, needs(surface_min_ha=s)), strict=True)).get)
        )
        for s in (1, 2, 3, 4, 5, 6, 7, 8)
    }
    assert len(orders) > 1  # not always the lowest INSEE code first
    assert sum(order[0] == ids[0] for order in orders) < len(orders)


# --- Wording -------------------------------------------------------------------------------


def test_distances_under_50_m_read_less_than_a_tenth_of_a_km():
    assert explanation_of(plot(motorway_km=0.03), needs(), "autoroute").startswith(
        "Échangeur autoroutier à moins de 0,1\u00a0km : "
    )
    here = needs(near={"lat": 47.39, "lon": 0.69})
    assert explanation_of(plot(x=here.near.x + 20, y=here.near.y), here, "proximite").startswith(
        "À moins de 0,1\u00a0km du lieu souhaité"
    )
    assert "à 0,1\u00a0km" in explanation_of(plot(motorway_km=0.06), needs(), "autoroute")


def test_under_two_french_is_singular():
    small = hard_failures(plot(surface_ha=1.0), needs(surface_min_ha=1.5))[0].explanation
    assert small == "Surface de 1\u00a0ha, inférieure au 1,5\u00a0ha demandé."
    big = hard_failures(plot(surface_ha=1.0), needs(surface_min_ha=2))[0].explanation
    assert big == "Surface de 1\u00a0ha, inférieure aux 2\u00a0ha demandés."
    assert "pour 1,5\u00a0ha demandé :" in explanation_of(
        plot(surface_ha=1.5), needs(surface_min_ha=1.5), "surface"
    )
    assert "pour 1 à 3\u00a0ha demandés :" in explanation_of(
        plot(surface_ha=1.5), needs(surface_min_ha=1, surface_max_ha=3), "surface"
    )
    too_far = hard_failures(plot(motorway_km=3), needs(motorway_max_km=1))[0].explanation
    assert too_far.endswith("au-delà du 1\u00a0km accepté.")


def test_available_exactly_on_the_date_wanted_says_so():
    wanted = REFERENCE_DATE + timedelta(days=90)
    the_needs = needs(needed_by=wanted.isoformat())
    on_time = explanation_of(plot(available_from=wanted), the_needs, "disponibilite")
    assert ", à la date voulue (1,00)." in on_time
    early = explanation_of(
        plot(available_from=wanted - timedelta(days=1)), the_needs, "disponibilite"
    )
    assert ", avant la date voulue (1,00)." in early


def test_a_date_wanted_already_past_excludes_no_plot_available_today():
    # Available before the reference date but after a needed_by already past: on time.
    past = needs(needed_by=(REFERENCE_DATE - timedelta(days=60)).isoformat())
    recent = plot(available_from=REFERENCE_DATE - timedelta(days=10))
    assert hard_failures(recent, past) == []
    assert value_of(recent, past, "disponibilite") == 1.0
    later = plot(available_from=REFERENCE_DATE + timedelta(days=10))
    assert [f.constraint for f in hard_failures(later, past)] == ["date"]


@PROPERTIES
@given(st.lists(plots(), min_size=1, max_size=8))
def test_the_smallest_needs_the_schema_allows_score_quietly_in_the_unit_interval(many):
    """schemathesis sent needs as small as 1e-300: ratios overflow to infinity, which the
    clipping turns into the right value; numpy must not warn about it in the logs."""
    tiny = parse_needs(
        {"surface_min_ha": 5e-324, "budget_max_eur_m2": 5e-324, "reference_date": "2026-09-01"}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = criterion_values(PlotArrays.from_facts(many), tiny)
    assert all(((v >= 0.0) & (v <= 1.0)).all() for v in values.values())
