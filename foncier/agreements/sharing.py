"""Splitting an amount of euros among EPCIs, exact to the cent: the calculator of the
shared-benefit agreements (and of the network's shared costs).

Pure: no database, no web. Every split returns euros with two decimals that add up to
**exactly** the amount split.

The rounding rule is the largest remainder (Hamilton) method, on cents:

1. each party's exact share is ``amount × weight / total weight``, in cents (a fraction);
2. each party first gets the whole cents of its exact share (rounded down);
3. the cents left over (fewer than the number of parties) go one each to the parties with
   the largest fractional remainders; equal remainders go to the larger weight first, then
   to the party listed first.

So each part is within one cent of its exact share, a larger weight never gets less, and
equal weights get parts that differ by one cent at most. A negative amount (a cost to
recover rather than a sum to share out) is split symmetrically: the parts of -X are the
parts of X with their signs changed.

Refused, with a French message (ValidationError, by field): an amount with more than two
decimals, not a number or beyond ±1 000 000 000 000 € (MAX_AMOUNT), no parties, a negative
weight, weights that are all zero or beyond what exact arithmetic handles quickly (more than
six decimals, above 10^15), for fixed shares percentages above 100, with more than two
decimals or that do not add up to exactly 100, and for a projection a yearly growth outside
-100 % < g ≤ 100 % or with more than two decimals. The bounds keep every computation small:
the calculator is a page anyone signed in can call with any number.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final, TypeVar

from foncier.core.errors import ValidationError

Key = TypeVar("Key", bound=Hashable)

CENTS_PER_EURO: Final = 100
HUNDRED: Final = Decimal(100)
MAX_YEARS: Final = 50
# Beyond any tax revenue or budget of a network of territories; past it, refused.
MAX_AMOUNT: Final = Decimal("1000000000000")
# A yearly change of the revenue: more than doubling every year is no estimate.
MAX_GROWTH_PERCENT: Final = HUNDRED
# Exact fractions of weights stay small: populations, equal weights, percentages.
MAX_WEIGHT: Final = Decimal("1e15")
MAX_WEIGHT_DECIMALS: Final = 6
# Years the projection accepts: a tax revenue starts within this century or the next.
YEAR_RANGE: Final = range(1900, 2201)


def split_amount(amount: Decimal | int, weights: Mapping[Key, Decimal | int]) -> dict[Key, Decimal]:
    """``amount`` split in proportion to ``weights`` (key -> non-negative weight), by the
    largest remainder method; the parts, in the order of ``weights``, add up to ``amount``."""
    return _split(_cents(amount), _checked_weights(weights))


def _split(cents: int, weights: dict[Key, Fraction]) -> dict[Key, Decimal]:
    sign = -1 if cents < 0 else 1
    parts = _hamilton(abs(cents), weights)
    return {key: _euros(sign * part) for key, part in parts.items()}


def split_by_population(
    amount: Decimal | int, populations: Mapping[Key, int]
) -> dict[Key, Decimal]:
    """``amount`` split in proportion to the parties' populations (inhabitants)."""
    for key, population in populations.items():
        if not isinstance(population, int) or isinstance(population, bool):
            raise ValidationError({"weights": f"Population non entière pour {key}."})
    return split_amount(amount, populations)


def split_by_shares(
    amount: Decimal | int, percents: Mapping[Key, Decimal | int]
) -> dict[Key, Decimal]:
    """``amount`` split by fixed percentages, which must add up to exactly 100."""
    check_percents(percents)
    return split_amount(amount, percents)


def split_equally(amount: Decimal | int, keys: Sequence[Key]) -> dict[Key, Decimal]:
    """``amount`` split in equal parts; the leftover cents go to the parties listed first."""
    if len(set(keys)) != len(keys):
        raise ValidationError({"weights": "Chaque partie ne peut figurer qu’une fois."})
    return split_amount(amount, dict.fromkeys(keys, 1))


def percents_of(weights: Mapping[Key, Decimal | int]) -> dict[Key, Decimal]:
    """Each weight's share of the total in percent, to the hundredth, by the same largest
    remainder rule: the percentages add up to exactly 100 (what a result table shows)."""
    return split_amount(HUNDRED, weights)


def check_percents(percents: Mapping[Key, Decimal | int]) -> None:
    """Refuse percentages that are negative, above 100, with more than two decimals, or that
    do not add up to exactly 100 (the sum of such percentages is exact)."""
    for key, value in percents.items():
        if not Decimal(value).is_finite() or not 0 <= Decimal(value) <= HUNDRED:
            raise ValidationError({"weights": f"Part négative ou non valide pour {key}."})
        if not _has_decimals_at_most(Decimal(value), 2):
            raise ValidationError({"weights": f"Deux décimales au plus pour la part de {key}."})
    total = sum((Decimal(value) for value in percents.values()), Decimal(0))
    if total != HUNDRED:
        raise ValidationError(
            {"weights": f"Les parts doivent totaliser exactement 100 % (total actuel : {total} %)."}
        )


# --- the projection over several years -----------------------------------------------------


@dataclass(frozen=True)
class YearShares:
    """One year of the projection: the amount expected that year and each party's part."""

    year: int
    amount: Decimal
    parts: dict[Hashable, Decimal]


@dataclass(frozen=True)
class Projection:
    """What each party receives year by year, and over the whole period."""

    years: list[YearShares]
    totals: dict[Hashable, Decimal]

    @property
    def grand_total(self) -> Decimal:
        return sum((year.amount for year in self.years), Decimal("0.00"))


def project_shares(
    annual_amount: Decimal | int,
    years: int,
    shares: Mapping[Key, Decimal | int],
    first_year: int,
    growth_percent: Decimal | int = 0,
) -> Projection:
    """Year by year, what each party receives of a revenue estimated at ``annual_amount`` the
    first year, growing by ``growth_percent`` a year (compounded), shared by the fixed
    percentages ``shares`` (adding up to 100) during ``years`` years from ``first_year``.

    Each year's amount is rounded to the cent first (half away from zero: that is what the
    tax would be), then split exactly; a party's total is the sum of its yearly parts, so the
    totals add up to the sum of the yearly amounts.
    """
    check_percents(shares)
    return project_split(annual_amount, years, shares, first_year, growth_percent)


def project_split(
    annual_amount: Decimal | int,
    years: int,
    weights: Mapping[Key, Decimal | int],
    first_year: int,
    growth_percent: Decimal | int = 0,
) -> Projection:
    """As project_shares, each year split in proportion to any ``weights`` (populations,
    equal weights...)."""
    _check_projection(annual_amount, years, first_year, growth_percent)
    start = _cents(annual_amount)
    exact_weights = _checked_weights(weights)
    factor = 1 + Fraction(Decimal(growth_percent)) / 100
    rows: list[YearShares] = []
    totals: dict[Hashable, Decimal] = {key: Decimal("0.00") for key in weights}
    for offset in range(years):
        # A later year may exceed MAX_AMOUNT (growth): the bound is on what people type.
        cents = _round_half_up(start * factor**offset)
        amount = _euros(cents)
        parts = _split(cents, exact_weights)
        rows.append(YearShares(first_year + offset, amount, dict(parts)))
        for key, part in parts.items():
            totals[key] += part
    return Projection(rows, totals)


def _check_projection(
    annual_amount: Decimal | int, years: int, first_year: int, growth_percent: Decimal | int
) -> None:
    errors: dict[str, str] = {}
    if _cents(annual_amount) < 0:
        errors["annual_amount"] = "Le montant annuel ne peut pas être négatif."
    if not 1 <= years <= MAX_YEARS:
        errors["years"] = f"Entre 1 et {MAX_YEARS} ans."
    if first_year not in YEAR_RANGE:
        errors["first_year"] = f"Année entre {YEAR_RANGE.start} et {YEAR_RANGE.stop - 1}."
    growth_error = growth_refusal(Decimal(growth_percent))
    if growth_error:
        errors["growth_percent"] = growth_error
    if errors:
        raise ValidationError(errors)


def growth_refusal(growth_percent: Decimal) -> str | None:
    """Why a yearly growth of ``growth_percent`` is refused (French), None if accepted: it
    must lie in -100 % < g ≤ 100 %, with two decimals at most."""
    if not growth_percent.is_finite():
        return "Évolution annuelle non valide."
    if not growth_percent > -HUNDRED:
        return "Une baisse annuelle de 100 % ou plus n’a pas de sens."
    if growth_percent > MAX_GROWTH_PERCENT:
        return f"Une hausse annuelle de plus de {MAX_GROWTH_PERCENT} % n’est pas une estimation."
    if not _has_decimals_at_most(growth_percent, 2):
        return "Deux décimales au plus pour l’évolution annuelle."
    return None


def amount_refusal(amount: Decimal) -> str | None:
    """Why ``amount`` (euros) is refused (French), None if accepted: a finite number of cents
    within ±MAX_AMOUNT."""
    if not amount.is_finite():
        return "Montant non valide."
    if abs(amount) > MAX_AMOUNT:
        return "Montant trop élevé : 1 000 000 000 000 € au plus."
    if not _has_decimals_at_most(amount, 2):
        return "Le montant ne peut pas avoir plus de deux décimales."
    return None


# --- arithmetic --------------------------------------------------------------------------------


def _cents(amount: Decimal | int) -> int:
    """The amount in whole cents, or ValidationError if it is not a number of cents within
    ±MAX_AMOUNT."""
    value = Decimal(amount)
    refusal = amount_refusal(value)
    if refusal:
        raise ValidationError({"amount": refusal})
    return int(value * CENTS_PER_EURO)


def _has_decimals_at_most(value: Decimal, places: int) -> bool:
    """``value`` (finite) has no significant digit beyond ``places`` decimals; decided on its
    digits, without arithmetic that rounds to 28 digits (1 + 1e-30 is not a whole number)."""
    _, digits, exponent = value.as_tuple()
    significant = "".join(map(str, digits)).rstrip("0")
    if not significant:
        return True
    last_digit_exponent = int(exponent) + len(digits) - len(significant)
    return last_digit_exponent >= -places


def _euros(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _checked_weights(weights: Mapping[Key, Decimal | int]) -> dict[Key, Fraction]:
    if not weights:
        raise ValidationError({"weights": "Choisissez au moins une partie."})
    exact: dict[Key, Fraction] = {}
    for key, weight in weights.items():
        value = Decimal(weight)
        if not value.is_finite() or value < 0:
            raise ValidationError({"weights": f"Poids négatif ou non valide pour {key}."})
        if value > MAX_WEIGHT or not _has_decimals_at_most(value, MAX_WEIGHT_DECIMALS):
            raise ValidationError({"weights": f"Poids hors des limites pour {key}."})
        exact[key] = Fraction(value)
    if not any(exact.values()):
        raise ValidationError({"weights": "Les poids sont tous nuls : rien ne permet de répartir."})
    return exact


def _hamilton(cents: int, weights: dict[Key, Fraction]) -> dict[Key, int]:
    """Non-negative ``cents`` split by the largest remainder method (see the module's doc)."""
    total = sum(weights.values())
    shares = {key: cents * weight / total for key, weight in weights.items()}
    parts = {key: math.floor(share) for key, share in shares.items()}
    leftover = cents - sum(parts.values())
    order = sorted(
        enumerate(weights),
        key=lambda item: (-(shares[item[1]] - parts[item[1]]), -weights[item[1]], item[0]),
    )
    for _, key in order[:leftover]:
        parts[key] += 1
    return parts


def _round_half_up(value: Fraction) -> int:
    """``value`` (non-negative) rounded to the nearest integer, halves up."""
    return math.floor(value + Fraction(1, 2))
