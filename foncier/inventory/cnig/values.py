"""Cells of CNIG files: text to Python values on import, and back to text on export.

Reading follows the standard (ISO dates, oui/non, the schemas' patterns and missing values)
and is lenient only where French spreadsheets are predictable: a decimal comma ("9,9") is a
number. Numbers are rounded to the scale of their database column, as PostgreSQL would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from sqlalchemy import Integer, Numeric, SmallInteger, String
from sqlalchemy.types import TypeEngine

from foncier.core.formulas import looks_like_formula
from foncier.inventory.cnig.columns import STRICTLY_POSITIVE, Column, Kind
from foncier.inventory.cnig.geometry import (
    as_multipolygon,
    check_lambert93,
    check_valid,
    geojson_text,
    geometry_from_text,
)
from foncier.inventory.cnig.issues import IssueError
from foncier.models import codelists

# The schemas' "missingValues": such a cell is empty.
MISSING_VALUES: Final = ("", "NA", "NaN", "N/A")

# re.ASCII: without it \d matches any Unicode digit ("١٢"), which Decimal() and int() then
# read as 12; the standard's digits are ASCII ones.
NUMBER: Final = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)$", re.ASCII)
INTEGER: Final = re.compile(r"^[+-]?\d+$", re.ASCII)
YEAR: Final = re.compile(r"^\d{4}$", re.ASCII)
ISO_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
GEOPOINT: Final = re.compile(r"^(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)$", re.ASCII)
# The schemas' patterns, anchored at both ends as frictionless anchors them. URL has no digit
# class and keeps Unicode \s, so that a non-breaking space is refused too.
URL: Final = re.compile(r"^(https?)://[^\s/$.?#].[^\s]*$")
REFCAD: Final = re.compile(
    r"^(?:(?:^|\|)(\d{8}[0-9A-Z]{2}\d{4}|)\1+\d{8}[0-9A-Z]{2}\d{4})+$", re.ASCII
)
# [INSEE code of the commune]_[class]_[number]; Corsican INSEE codes start with 2A or 2B.
INSEE_PREFIX: Final = r"(?:\d{5}|2[AB]\d{3})"
BOOLEANS: Final = {"oui": True, "non": False}

Parser = Callable[[Column, str, TypeEngine[Any] | None], Any]


def parse_cell(column: Column, raw: str, sql_type: TypeEngine[Any] | None) -> Any:
    """The value of a stripped cell; ``sql_type`` is the type of the column it is stored in."""
    if raw in MISSING_VALUES:
        if column.required:
            raise IssueError("missing_value")
        return None
    return PARSERS[column.kind](column, raw, sql_type)


def _text(column: Column, raw: str, sql_type: TypeEngine[Any] | None) -> str:
    # Exports write it back byte for byte: it must not run in whoever's spreadsheet opens them.
    if looks_like_formula(raw):
        raise IssueError("formula_text")
    return raw


def _identifier(column: Column, raw: str, sql_type: TypeEngine[Any] | None) -> str:
    assert isinstance(sql_type, String) and sql_type.length
    pattern = rf"^{INSEE_PREFIX}_{re.escape(str(column.detail))}_\d+$"
    if not re.match(pattern, raw, re.ASCII) or len(raw) > sql_type.length:
        raise IssueError(
            "bad_id",
            id_class=column.detail,
            max_length=sql_type.length,
            example=f"44003_{column.detail}_00012",
        )
    return raw


def _maximum(sql_type: TypeEngine[Any] | None) -> Decimal | None:
    """The largest value the database column holds (None for values that are not stored)."""
    if isinstance(sql_type, SmallInteger):
        return Decimal(2**15 - 1)
    if isinstance(sql_type, Integer):
        return Decimal(2**31 - 1)
    if isinstance(sql_type, Numeric) and sql_type.precision is not None:
        scale = sql_type.scale or 0
        return Decimal(10) ** (sql_type.precision - scale) - Decimal(10) ** -scale
    return None


def _too_large(maximum: Decimal) -> IssueError:
    return IssueError("number_too_large", maximum=plain_number(maximum))


def _checked_number(column: Column, value: Decimal, sql_type: TypeEngine[Any] | None) -> Decimal:
    if column.name in STRICTLY_POSITIVE and value <= 0:
        raise IssueError("not_positive")
    if value < 0:
        raise IssueError("negative_number")
    maximum = _maximum(sql_type)
    # More integer digits than the column holds is too large, and is refused before rounding:
    # quantize fails (InvalidOperation) on a result longer than the context's 28 digits.
    if maximum is not None and value.adjusted() > maximum.adjusted():
        raise _too_large(maximum)
    if isinstance(sql_type, Numeric) and sql_type.scale is not None:
        value = value.quantize(Decimal(10) ** -sql_type.scale, rounding=ROUND_HALF_UP)
    # Rounding may carry a value just below 10^n over the maximum (999.995 -> 1000.00).
    if maximum is not None and value > maximum:
        raise _too_large(maximum)
    return value


def _number(column: Column, raw: str, sql_type: TypeEngine[Any] | None) -> Decimal:
    if not NUMBER.match(raw):
        raise IssueError("bad_number")
    return _checked_number(column, Decimal(raw.replace(",", ".")), sql_type)


def _integer(column: Column, raw: str, sql_type: TypeEngine[Any] | None) -> int:
    if not INTEGER.match(raw):
        raise IssueError("bad_integer")
    return int(_checked_number(column, Decimal(raw), sql_type))


def _year(column: Column, raw: str, sql_type: TypeEngine[Any] | None) -> int:
    if not YEAR.match(raw):
        raise IssueError("bad_year")
    return int(raw)


def _date(column: Column, raw: str, sql_type: TypeEngine[Any] | None) -> date:
    try:
        if ISO_DATE.match(raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass  # a well-formed but impossible date, e.g. 2024-02-30
    raise IssueError("bad_date")


def _boolean(column: Column, raw: str, sql_type: TypeEngine[Any] | None) -> bool:
    if raw not in BOOLEANS:
        raise IssueError("bad_boolean")
    return BOOLEANS[raw]


def _code(column: Column, raw: str, sql_type: TypeEngine[Any] | None) -> str:
    allowed = codelists.CODE_LISTS[column.name]
    if raw not in allowed:
        raise IssueError("code_list", allowed=" | ".join(allowed))
    return raw


def _url(column: Column, raw: str, sql_type: TypeEngine[Any] | None) -> str:
    if not URL.match(raw):
        raise IssueError("bad_url")
    return raw


def _refcad(column: Column, raw: str, sql_type: TypeEngine[Any] | None) -> str:
    if not REFCAD.match(raw):
        raise IssueError("bad_refcad")
    return raw


def _geometry(column: Column, raw: str, sql_type: TypeEngine[Any] | None) -> Any:
    allowed = column.detail
    assert isinstance(allowed, tuple)
    geometry = geometry_from_text(raw, allowed)
    check_lambert93(geometry)
    check_valid(geometry)
    # Sites are stored as MultiPolygon whether the file gives one polygon or several.
    return as_multipolygon(geometry) if "MultiPolygon" in allowed else geometry


def _geopoint(column: Column, raw: str, sql_type: TypeEngine[Any] | None) -> tuple[Decimal, ...]:
    match = GEOPOINT.match(raw)
    if not match:
        raise IssueError("bad_geopoint")
    lon, lat = Decimal(match[1]), Decimal(match[2])
    if abs(lon) > 180 or abs(lat) > 90:
        raise IssueError("bad_geopoint")
    return lon, lat


PARSERS: Final[dict[Kind, Parser]] = {
    Kind.TEXT: _text,
    Kind.ID: _identifier,
    Kind.NUMBER: _number,
    Kind.INTEGER: _integer,
    Kind.YEAR: _year,
    Kind.DATE: _date,
    Kind.BOOLEAN: _boolean,
    Kind.CODE: _code,
    Kind.URL: _url,
    Kind.REFCAD: _refcad,
    Kind.GEOMETRY: _geometry,
    Kind.GEOPOINT: _geopoint,
}


# --- writing -------------------------------------------------------------------------------


def plain_number(value: Decimal) -> str:
    """A number as the CNIG examples write it: no exponent, no trailing zeros (9.9, 530000)."""
    return format(value.normalize(), "f")


def format_cell(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.kind == Kind.BOOLEAN:
        return "oui" if value else "non"
    if column.kind == Kind.NUMBER:
        return plain_number(value)
    if column.kind == Kind.DATE:
        return value.isoformat()
    if column.kind == Kind.GEOMETRY:
        return geojson_text(value)
    if column.kind == Kind.GEOPOINT:
        lon, lat = value
        return f"{plain_number(lon)}, {plain_number(lat)}"
    return str(value)
