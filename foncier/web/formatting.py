"""French formatting of values for the templates: 1 234,5 ha, 30 juin 2026, oui/non."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Final

from flask import Flask

from foncier.core import french
from foncier.matching.wording import THOUSANDS, UNIT, french_date

NOT_GIVEN: Final = "non renseigné"
# French typography (narrow no-break space between thousands, no-break space before units)
# and dates, as the matching engine's explanations write them.
THOUSANDS_SEPARATOR: Final = THOUSANDS
UNIT_SPACE: Final = UNIT
# Kind of value -> (unit, most decimals shown).
UNITS: Final = {
    "ha": ("ha", 2),
    "km": ("km", 1),
    "euros_m2": ("€/m²", 2),
    "kva": ("kVA", 0),
    "m": ("m", 1),
    "percent": ("%", 0),
    "count": ("", 0),
}


def number(value: Decimal | float | int, decimals: int = 0) -> str:
    """``value`` rounded to ``decimals`` at most, without trailing zeros, the French way."""
    text = f"{value:,.{decimals}f}"
    if decimals:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", THOUSANDS_SEPARATOR).replace(".", ",")


def file_size(size_bytes: int) -> str:
    """A file's size as people read it: « 850 octets », « 12 Ko », « 3,4 Mo »."""
    if size_bytes < 1024:
        return f"{number(size_bytes)} octets"
    if size_bytes < 2**20:
        return f"{number(size_bytes / 1024)} Ko"
    return f"{number(size_bytes / 2**20, 1)} Mo"


def display(value: object, kind: str = "text") -> str:
    """A stored value as a reader expects it; ``kind`` is one of UNITS, bool, date or text."""
    if value is None or value == "":
        return NOT_GIVEN
    if kind == "bool":
        return "oui" if value else "non"
    if kind == "date" and isinstance(value, date):
        return french_date(value)
    if kind in UNITS and isinstance(value, Decimal | float | int):
        unit, decimals = UNITS[kind]
        return f"{number(value, decimals)}{UNIT_SPACE}{unit}" if unit else number(value, decimals)
    return str(value)


def sentence(text: str) -> str:
    """The first letter in capitals, the rest untouched (unlike Jinja's capitalize)."""
    return text[:1].upper() + text[1:]


def plural(count: int, singular: str, plural_form: str) -> str:
    """« 1 parc », « 23 parcs » (French uses the singular for 0 and 1)."""
    return f"{number(count)} {singular if count <= 1 else plural_form}"


def init_app(app: Flask) -> None:
    app.add_template_filter(display)
    app.add_template_filter(number)
    app.add_template_filter(file_size)
    app.add_template_filter(french_date)
    app.add_template_filter(sentence)
    app.add_template_global(plural)
    # EPCI names in sentences, with their article (« proposé à la Communauté de communes … »).
    for phrase in (french.epci_named, french.to_epci, french.by_epci, french.of_epci):
        app.add_template_filter(phrase)
    app.add_template_filter(french.between)
