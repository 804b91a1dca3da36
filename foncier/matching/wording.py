"""French wording of numbers, dates and values in the explanations a referent reads aloud."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

MONTHS: Final = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
# A narrow no-break space between thousands and a no-break space before units, as the pages do.
THOUSANDS: Final = "\u202f"
UNIT: Final = "\u00a0"


def number(value: float, decimals: int = 1) -> str:
    """« 1 234,5 »: rounded to ``decimals`` at most, without trailing zeros."""
    text = f"{value:,.{decimals}f}"
    if decimals:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.replace(",", THOUSANDS).replace(".", ",")


def quantity(value: float, unit: str, decimals: int = 1) -> str:
    return f"{number(value, decimals)}{UNIT}{unit}"


def plural(value: float, decimals: int = 1) -> bool:
    """French agreement: plural from 2 on, as the number is read (« 1,5 ha demandé »)."""
    return abs(round(value, decimals)) >= 2


def agreed(value: float, singular: str, plural_form: str, decimals: int = 1) -> str:
    """``singular`` or ``plural_form``, as ``value`` shown with ``decimals`` calls for."""
    return plural_form if plural(value, decimals) else singular


def distance(km: float) -> str:
    """A distance in kilometres, « moins de 0,1 km » rather than « 0 km » under 50 m."""
    if km < 0.05:
        return f"moins de {quantity(0.1, 'km')}"
    return quantity(km, "km")


def score(value: float) -> str:
    """A membership value as read aloud: two decimals, always shown, halves up (« 0,63 »)."""
    rounded = Decimal(repr(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"{rounded:.2f}".replace(".", ",")


def french_date(value: date) -> str:
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {MONTHS[value.month - 1]} {value.year}"


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` (rounded to the nearest), for « dans 10 mois »."""
    return round((end - start).days / 30.44)


def enumerate_fr(items: list[str]) -> str:
    """« a, b et c »."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " et " + items[-1]
