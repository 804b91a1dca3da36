"""The calculator of the shared-benefit agreements: splits exact to the cent."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from random import Random
from time import process_time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from foncier.agreements.sharing import (
    MAX_AMOUNT,
    check_percents,
    percents_of,
    project_shares,
    project_split,
    split_amount,
    split_by_population,
    split_by_shares,
    split_equally,
)
from foncier.core.errors import ValidationError
from foncier.models import Epci

CENT = Decimal("0.01")

amounts = st.integers(min_value=-(10**12), max_value=10**12).map(lambda cents: Decimal(cents) / 100)
positive_amounts = st.integers(min_value=0, max_value=10**12).map(lambda c: Decimal(c) / 100)
weight_lists = st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=12).filter(
    any
)


def weights_of(values: list[int]) -> dict[str, int]:
    return {f"p{index}": value for index, value in enumerate(values)}


def exact_share(amount: Decimal, weight: int, total: int) -> Fraction:
    return Fraction(amount) * weight / total


# --- properties ---------------------------------------------------------------------------------


@given(amounts, weight_lists)
def test_parts_always_add_up_to_the_amount(amount: Decimal, values: list[int]) -> None:
    parts = split_amount(amount, weights_of(values))
    assert sum(parts.values()) == amount
    assert all(part == part.quantize(CENT) for part in parts.values())


@given(amounts, weight_lists)
def test_each_part_is_within_a_cent_of_its_exact_share(amount: Decimal, values: list[int]) -> None:
    weights = weights_of(values)
    parts = split_amount(amount, weights)
    total = sum(values)
    for key, part in parts.items():
        assert abs(Fraction(part) - exact_share(amount, weights[key], total)) < Fraction(1, 100)


@given(positive_amounts, weight_lists)
def test_a_larger_weight_never_gets_less(amount: Decimal, values: list[int]) -> None:
    weights = weights_of(values)
    parts = split_amount(amount, weights)
    for a in weights:
        for b in weights:
            if weights[a] > weights[b]:
                assert parts[a] >= parts[b]


@given(positive_amounts, st.integers(min_value=1, max_value=15))
def test_equal_weights_differ_by_one_cent_at_most(amount: Decimal, count: int) -> None:
    parts = split_equally(amount, [f"p{i}" for i in range(count)])
    assert max(parts.values()) - min(parts.values()) <= CENT
    assert sum(parts.values()) == amount


@given(amounts, weight_lists, st.randoms(use_true_random=False))
def test_order_only_breaks_ties_of_equal_weights(
    amount: Decimal, values: list[int], random: Random
) -> None:
    weights = weights_of(values)
    keys = list(weights)
    random.shuffle(keys)
    shuffled = split_amount(amount, {key: weights[key] for key in keys})
    original = split_amount(amount, weights)
    # The same multiset of parts whatever the order; the same part per key when no two
    # parties have the same weight (the documented tie-break is the order given).
    assert sorted(shuffled.values()) == sorted(original.values())
    if len(set(values)) == len(values):
        assert shuffled == original
    for key in weights:
        equal_weight = [other for other in weights if weights[other] == weights[key]]
        if len(equal_weight) == 1:
            assert shuffled[key] == original[key]


@given(amounts, weight_lists)
def test_a_negative_amount_is_split_symmetrically(amount: Decimal, values: list[int]) -> None:
    weights = weights_of(values)
    assert split_amount(-amount, weights) == {
        key: -part for key, part in split_amount(amount, weights).items()
    }


@given(
    st.integers(min_value=0, max_value=10**9).map(lambda c: Decimal(c) / 100),
    st.integers(min_value=1, max_value=50),
    st.integers(min_value=-50, max_value=50),
)
def test_projection_totals_add_up_year_by_year(amount: Decimal, years: int, growth: int) -> None:
    projection = project_shares(
        amount, years, {"a": Decimal("62.5"), "b": Decimal("37.5")}, 2027, growth
    )
    assert len(projection.years) == years
    for row in projection.years:
        assert sum(row.parts.values()) == row.amount
    assert sum(projection.totals.values()) == projection.grand_total


# --- examples -----------------------------------------------------------------------------------


@given(weight_lists)
def test_percentages_of_weights_add_up_to_exactly_one_hundred(values: list[int]) -> None:
    percents = percents_of(weights_of(values))
    assert sum(percents.values()) == Decimal(100)
    total = sum(values)
    for key, value in weights_of(values).items():
        assert abs(percents[key] - Decimal(value) * 100 / total) < CENT


def test_leftover_cents_go_to_the_largest_remainders() -> None:
    # 100.00 by 1:1:1 -> exact 33.333… each: one cent left, to the first listed (tie).
    assert split_equally(Decimal("100.00"), ["a", "b", "c"]) == {
        "a": Decimal("33.34"),
        "b": Decimal("33.33"),
        "c": Decimal("33.33"),
    }
    # 10.00 by 1:2:3 -> 1.666…, 3.333…, 5.00: the largest remainder (a, .666) gets the cent.
    assert split_amount(Decimal("10.00"), {"a": 1, "b": 2, "c": 3}) == {
        "a": Decimal("1.67"),
        "b": Decimal("3.33"),
        "c": Decimal("5.00"),
    }


def test_equal_remainders_go_to_the_larger_weight_then_to_the_first_listed() -> None:
    # 0.03 by 1:2:3 -> 0.5, 1.0, 1.5 cents: a and c tie on the remainder, c weighs more.
    assert split_amount(Decimal("0.03"), {"a": 1, "b": 2, "c": 3}) == {
        "a": Decimal("0.00"),
        "b": Decimal("0.01"),
        "c": Decimal("0.02"),
    }
    # 0.02 by 1:1:2 -> 0.5, 0.5, 1.0 cents: a and b tie on remainder and weight: a is first.
    assert split_amount(Decimal("0.02"), {"a": 1, "b": 1, "c": 2}) == {
        "a": Decimal("0.01"),
        "b": Decimal("0.00"),
        "c": Decimal("0.01"),
    }


def test_fixed_shares_must_add_up_to_one_hundred() -> None:
    assert split_by_shares(Decimal("1000"), {"a": Decimal("70"), "b": Decimal("30")}) == {
        "a": Decimal("700.00"),
        "b": Decimal("300.00"),
    }
    with pytest.raises(ValidationError, match="100 %"):
        split_by_shares(Decimal("1000"), {"a": Decimal("70"), "b": Decimal("29.99")})


@pytest.mark.parametrize(
    ("amount", "weights", "field"),
    [
        (Decimal("10.001"), {"a": 1}, "amount"),
        (Decimal("NaN"), {"a": 1}, "amount"),
        (Decimal("10"), {}, "weights"),
        (Decimal("10"), {"a": 0, "b": 0}, "weights"),
        (Decimal("10"), {"a": -1, "b": 2}, "weights"),
    ],
)
def test_refused_inputs_say_why_in_french(
    amount: Decimal, weights: dict[str, int], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        split_amount(amount, weights)
    assert list(refused.value.errors) == [field]


def test_trailing_zeros_beyond_the_cent_are_still_cents() -> None:
    assert split_equally(Decimal("1.000"), ["a", "b"]) == {
        "a": Decimal("0.50"),
        "b": Decimal("0.50"),
    }


def test_projection_rounds_each_year_then_splits() -> None:
    projection = project_shares(
        Decimal("1000.00"), 3, {"metropole": 50, "cc": 50}, 2027, growth_percent=Decimal("1.5")
    )
    # 1000 × 1.015 = 1015.00; × 1.015² = 1030.225 -> 1030.23 (half up).
    assert [(row.year, row.amount) for row in projection.years] == [
        (2027, Decimal("1000.00")),
        (2028, Decimal("1015.00")),
        (2029, Decimal("1030.23")),
    ]
    assert projection.years[2].parts == {"metropole": Decimal("515.12"), "cc": Decimal("515.11")}
    assert projection.totals == {"metropole": Decimal("1522.62"), "cc": Decimal("1522.61")}
    assert projection.grand_total == Decimal("3045.23")


def test_projection_refuses_impossible_periods() -> None:
    with pytest.raises(ValidationError) as refused:
        project_shares(Decimal("-1"), 0, {"a": 100}, 1800, growth_percent=-100)
    assert set(refused.value.errors) == {"annual_amount", "years", "first_year", "growth_percent"}


# --- bounds: every computation stays small -------------------------------------------------


def refusal_of(call: object, *args: object) -> tuple[dict[str, str], float]:
    """The errors ``call(*args)`` is refused with, and the CPU seconds it took to refuse."""
    start = process_time()
    with pytest.raises(ValidationError) as refused:
        call(*args)  # type: ignore[operator]
    return refused.value.errors, process_time() - start


@pytest.mark.parametrize(
    "growth", [Decimal("1e3000"), Decimal("100.01"), Decimal("-100"), Decimal("0." + "1" * 3000)]
)
def test_a_growth_outside_its_bounds_is_refused_at_once(growth: Decimal) -> None:
    # 1e3000 % a year over 50 years used to cost some twenty seconds of CPU on the web page.
    errors, seconds = refusal_of(project_split, Decimal("1"), 50, {"a": 1}, 2027, growth)
    assert list(errors) == ["growth_percent"] and seconds < 0.5


def test_growth_bounds_are_included_up_and_excluded_down() -> None:
    doubling = project_split(Decimal("1.00"), 50, {"a": 1, "b": 1}, 2027, Decimal("100"))
    assert doubling.years[-1].amount == Decimal(2**49)  # 1 € doubled 49 times
    assert sum(doubling.totals.values()) == doubling.grand_total
    assert project_split(Decimal("100"), 2, {"a": 1}, 2027, Decimal("-99.99")).years[1].amount == (
        Decimal("0.01")
    )


@pytest.mark.parametrize("amount", [MAX_AMOUNT + CENT, -MAX_AMOUNT - CENT, Decimal("1e3000")])
def test_amounts_beyond_a_thousand_billion_euros_are_refused(amount: Decimal) -> None:
    errors, seconds = refusal_of(split_amount, amount, {"a": 1, "b": 2})
    assert errors == {"amount": "Montant trop élevé : 1 000 000 000 000 € au plus."}
    assert seconds < 0.5
    assert sum(split_amount(MAX_AMOUNT, {"a": 1, "b": 2}).values()) == MAX_AMOUNT


def test_a_projection_may_grow_past_the_bound_it_started_under() -> None:
    projection = project_split(MAX_AMOUNT, 3, {"a": 1, "b": 2}, 2027, Decimal("100"))
    assert projection.years[-1].amount == 4 * MAX_AMOUNT


@pytest.mark.parametrize(
    "weights",
    [
        # Sums to 100 once rounded to 28 digits, and its exact fraction has a billion digits.
        {"a": Decimal("100"), "b": Decimal("1e-999999999")},
        {"a": Decimal("50.005"), "b": Decimal("49.995")},
        {"a": Decimal("150"), "b": Decimal("-50")},
    ],
)
def test_percentages_are_two_decimal_numbers_up_to_a_hundred(weights: dict[str, Decimal]) -> None:
    errors, seconds = refusal_of(check_percents, weights)
    assert list(errors) == ["weights"] and seconds < 0.5


def test_weights_beyond_exact_arithmetic_limits_are_refused_at_once() -> None:
    for weight in (Decimal("1e-999999999"), Decimal("1e16")):
        errors, seconds = refusal_of(split_amount, Decimal("10"), {"a": 1, "b": weight})
        assert list(errors) == ["weights"] and seconds < 0.5


# --- the Done-when case: the 10 communautés de communes of Indre-et-Loire -----------------------


def test_ten_thousand_euros_among_the_ten_ccs_by_population(session: Session) -> None:
    populations = {
        siren: population
        for siren, population in session.execute(
            select(Epci.siren, Epci.population).where(Epci.nature == "CC").order_by(Epci.siren)
        )
    }
    assert len(populations) == 10
    parts = split_by_population(Decimal("10000.00"), populations)
    assert sum(parts.values()) == Decimal("10000.00")
    assert parts == independent_largest_remainder(1_000_000, populations)


def independent_largest_remainder(cents: int, populations: dict[str, int]) -> dict[str, Decimal]:
    """The same rule computed another way: integer arithmetic only, remainders compared as
    numerators over the common total population."""
    total = sum(populations.values())
    floors = {siren: cents * pop // total for siren, pop in populations.items()}
    numerators = {siren: cents * pop % total for siren, pop in populations.items()}
    leftover = cents - sum(floors.values())
    ranked = sorted(populations, key=lambda s: (numerators[s], populations[s]), reverse=True)
    winners = set(ranked[:leftover])
    return {siren: Decimal(floors[siren] + (siren in winners)) / 100 for siren in populations}
