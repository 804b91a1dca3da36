"""Reading GeoJSON files: the document, its features, its coordinate reference system, and the
property values PostgreSQL could not store. Shared by the zone and the CNIG importers."""

from __future__ import annotations

import json
import math
from typing import Any, Final

from pyproj import CRS
from pyproj.exceptions import CRSError

from foncier.core.bounded_text import TextLimitError, TextLimits, load_json
from foncier.inventory.cnig.geometry import beyond_limits
from foncier.inventory.cnig.issues import IssueError, IssueLog, SourceFile
from foncier.models import SRID, WGS84

LAMBERT93: Final = CRS.from_epsg(SRID)
RFC7946_CRS: Final = CRS.from_epsg(WGS84)
# A whole file: the web's uploads stop well below; the largest communes' Etalab cadastre files
# (foncier cadastre load) weigh tens of megabytes uncompressed.
GEOJSON_FILE: Final = TextLimits("GeoJSON", 128 * 2**20)

PROPERTIES_NOT_OBJECT: Final = {
    "detail_fr": "« properties » doit être un objet",
    "detail_en": "'properties' must be an object",
}
# What json.loads reads but PostgreSQL cannot store (the flush would fail on the whole file).
NOT_FINITE: Final = {
    "detail_fr": "nombre NaN ou infini, que JSON n’admet pas",
    "detail_en": "NaN or infinite number, which JSON does not allow",
}
NUL_CHARACTER: Final = {
    "detail_fr": "caractère nul (\\u0000), que PostgreSQL refuse",
    "detail_en": "NUL character (\\u0000), which PostgreSQL refuses",
}
LONE_SURROGATE: Final = {
    "detail_fr": "caractère Unicode invalide (moitié de paire de substitution, \\ud800-\\udfff)",
    "detail_en": "invalid Unicode character (half of a surrogate pair, \\ud800-\\udfff)",
}


def read_document(source: SourceFile, log: IssueLog) -> Any:
    """The parsed JSON of the file, or None after reporting why it cannot be read."""
    try:
        return load_json(source.content.decode("utf-8-sig"), GEOJSON_FILE)
    except UnicodeDecodeError:
        log.add(IssueError("encoding"), source.name)
    except TextLimitError as error:
        log.add(beyond_limits(error), source.name)
    except json.JSONDecodeError as error:
        log.add(IssueError("bad_json", reason=error.msg), source.name, line=error.lineno)
    return None


def feature_list(document: Any, name: str, log: IssueLog) -> list[Any]:
    """The features of a FeatureCollection; anything else is reported."""
    if not isinstance(document, dict) or not isinstance(document.get("features"), list):
        log.add(IssueError("not_feature_collection"), name)
        return []
    if not document["features"]:
        log.add(IssueError("no_features"), name)
    return document["features"]


def source_crs(document: dict[str, Any], override: str | None) -> CRS:
    """The file's CRS: the override, else its legacy "crs" member, else WGS84 (RFC 7946)."""
    if override:
        return CRS.from_user_input(override)
    member = document.get("crs")
    if member is None:
        return RFC7946_CRS
    try:
        return CRS.from_user_input(member["properties"]["name"])
    except (KeyError, TypeError):
        raise CRSError(f"unreadable crs member {member!r}") from None


def unstorable_text(text: str) -> dict[str, str] | None:
    if "\x00" in text:
        return NUL_CHARACTER
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return LONE_SURROGATE
    return None


def unstorable(value: Any) -> dict[str, str] | None:
    """Why a JSON value cannot be stored, or None. json.loads accepts NaN and Infinity, reads
    1e400 as infinity, and decodes \\u0000 and lone surrogates: PostgreSQL refuses them all."""
    if isinstance(value, float) and not math.isfinite(value):
        return NOT_FINITE
    if isinstance(value, str):
        return unstorable_text(value)
    if isinstance(value, dict):
        parts = [*value, *value.values()]
    elif isinstance(value, list):
        parts = value
    else:
        return None
    return next(filter(None, map(unstorable, parts)), None)


def shown(text: str) -> str:
    """A property name fit for a message: NUL and lone surrogates escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def check_storable(properties: dict[str, Any]) -> None:
    for name, value in properties.items():
        reason = unstorable(name) or unstorable(value)
        if reason:
            raise IssueError("bad_property", name=shown(name), **reason)
