"""Geometries typed, pasted, drawn or uploaded by a person, read into Lambert-93 shapes.

Accepted (docs/geometry.md): GeoJSON (a geometry, a Feature, or a FeatureCollection of exactly
one Feature) in WGS84 longitude/latitude as RFC 7946 says, or in the system its legacy "crs"
member declares (e.g. EPSG:2154); WKT, in degrees or Lambert-93 metres (told apart by their
range, which cannot overlap in France); EWKT with its SRID. Nothing is repaired: a
self-intersection is refused with the point where it lies, as imports refuse it.

The parsing and checks are those of the file importers (foncier.inventory.cnig.geometry,
foncier.inventory.zones), with messages written for a form field rather than for a file report.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Final, Literal

import shapely
import shapely.geometry
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely import MultiPolygon, Polygon
from shapely.errors import ShapelyError

from foncier.core.bounded_text import TextLimitError, TextLimits, check_wkt, load_json
from foncier.core.errors import FoncierError
from foncier.inventory.cnig.geojson import source_crs
from foncier.inventory.cnig.geometry import (
    DEGREE_BOUNDS,
    GEOJSON_TEXT,
    GEOMETRY_TEXT_CHARS,
    LAMBERT93_BOUNDS,
    POLYGONAL,
    as_multipolygon,
    check_valid,
    check_vertex_count,
    geometry_from_geojson,
    rounded_to_centimetre,
    within,
)
from foncier.inventory.cnig.issues import IssueError
from foncier.models import SRID, WGS84

GeometryKind = Literal["terrain", "site"]

# The GeoJSON read back into the browser: 7 decimals of a degree are about a centimetre.
DEGREE_DECIMALS: Final = 7
EWKT: Final = re.compile(r"^\s*SRID\s*=\s*(\d+)\s*;(.*)$", re.IGNORECASE | re.DOTALL)
WKT_TEXT: Final = TextLimits("WKT", GEOMETRY_TEXT_CHARS)
EXPECTED: Final[dict[str, str]] = {
    "terrain": "un polygone (Polygon) est attendu pour un terrain",
    "site": "un polygone ou un multipolygone (Polygon, MultiPolygon) est attendu pour un site",
}


class GeometryInputError(FoncierError):
    """A geometry given by a person cannot be used; the message (French) says why."""


def parse_geometry_text(text: str, kind: GeometryKind) -> Polygon | MultiPolygon:
    """The Lambert-93 geometry of a GeoJSON, WKT or EWKT text: a Polygon for a plot
    ("terrain"), a MultiPolygon for a park ("site", a Polygon is promoted).

    Raises GeometryInputError (French message) on anything unusable: unreadable, empty, of
    the wrong type, invalid (the reason and point are given), or outside France.
    """
    if kind not in EXPECTED:
        raise ValueError(f"kind {kind!r} is neither 'terrain' nor 'site'")
    text = text.strip()
    if not text:
        raise GeometryInputError("Aucune géométrie : dessinez-la sur la carte ou collez-la.")
    geometry, crs = _read_geojson(text, kind) if text.startswith("{") else _read_wkt(text, kind)
    return _checked(geometry, crs, kind)


def geojson_wgs84(geometry: Polygon | MultiPolygon) -> dict[str, Any]:
    """A Lambert-93 geometry as a GeoJSON geometry object in WGS84 (what browsers draw)."""
    degrees = shapely.transform(geometry, _transformer(SRID, WGS84).transform, interleaved=False)
    rounded = shapely.set_precision(degrees, 10**-DEGREE_DECIMALS, mode="pointwise")
    return dict(shapely.geometry.mapping(rounded))


def geojson_wgs84_text(geometry: Polygon | MultiPolygon) -> str:
    return json.dumps(geojson_wgs84(geometry), separators=(",", ":"))


# --- reading -------------------------------------------------------------------------------


def _read_geojson(text: str, kind: GeometryKind) -> tuple[Polygon | MultiPolygon, CRS]:
    try:
        document = load_json(text, GEOJSON_TEXT)
    except TextLimitError as error:
        raise GeometryInputError(error.french) from None
    except json.JSONDecodeError as error:
        raise GeometryInputError(
            f"GeoJSON illisible (ligne {error.lineno}, colonne {error.colno}) : vérifiez "
            "les accolades, crochets et virgules."
        ) from None
    if not isinstance(document, dict):
        raise GeometryInputError("GeoJSON illisible : un objet { … } est attendu.")
    crs = _declared_crs(document)
    geometry_object = _geometry_object(document)
    return _read_geometry_object(geometry_object, kind), crs


def _declared_crs(document: dict[str, Any]) -> CRS:
    try:
        return source_crs(document, None)
    except CRSError:
        raise GeometryInputError(
            "Système de coordonnées (membre « crs ») inconnu : omettez-le pour du WGS84 "
            "(longitude, latitude) ou indiquez EPSG:2154."
        ) from None


def _geometry_object(document: dict[str, Any]) -> Any:
    """The geometry of a GeoJSON geometry, Feature or one-Feature FeatureCollection."""
    kind = document.get("type")
    if kind == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list) or len(features) != 1:
            count = len(features) if isinstance(features, list) else 0
            found = f"contient {count} entités" if count else "ne contient aucune entité"
            raise GeometryInputError(f"La FeatureCollection {found} : une seule est attendue.")
        document = features[0]
        kind = document.get("type") if isinstance(document, dict) else None
    if kind == "Feature":
        if document.get("geometry") is None:
            raise GeometryInputError("L’entité GeoJSON n’a pas de géométrie.")
        return document["geometry"]
    return document


def _read_geometry_object(geometry_object: Any, kind: GeometryKind) -> Polygon | MultiPolygon:
    try:
        return geometry_from_geojson(geometry_object, POLYGONAL)
    except IssueError as error:
        if error.code == "geometry_type":
            raise GeometryInputError(_wrong_type(error.params["found"], kind)) from None
        raise GeometryInputError(error.french) from None


def _wrong_type(found: str, kind: GeometryKind) -> str:
    return f"Géométrie de type {found} refusée : {EXPECTED[kind]}."


def _read_wkt(text: str, kind: GeometryKind) -> tuple[Polygon | MultiPolygon, CRS | None]:
    try:
        check_wkt(text, WKT_TEXT)  # GEOS's reader recurses at every parenthesis
    except TextLimitError as error:
        raise GeometryInputError(error.french) from None
    srid, wkt = (None, text)
    match = EWKT.match(text)
    if match:
        srid, wkt = int(match.group(1)), match.group(2)
    try:
        geometry = shapely.from_wkt(wkt)
    except ShapelyError:
        raise GeometryInputError(
            "Texte illisible : collez du GeoJSON ou du WKT, par exemple "
            "POLYGON((x1 y1, x2 y2, x3 y3, x1 y1))."
        ) from None
    if geometry.geom_type not in POLYGONAL:
        raise GeometryInputError(_wrong_type(geometry.geom_type, kind))
    if geometry.is_empty:
        raise GeometryInputError("La géométrie est vide.")
    try:
        check_vertex_count(shapely.get_num_coordinates(geometry))
    except IssueError as error:
        raise GeometryInputError(error.french) from None
    return shapely.force_2d(geometry), _epsg(srid) if srid is not None else None


def _epsg(srid: int) -> CRS:
    try:
        return CRS.from_epsg(srid)
    except CRSError:
        raise GeometryInputError(f"Système de coordonnées SRID={srid} inconnu.") from None


# --- checking ------------------------------------------------------------------------------


def _checked(
    geometry: Polygon | MultiPolygon, crs: CRS | None, kind: GeometryKind
) -> Polygon | MultiPolygon:
    if geometry.is_empty:
        raise GeometryInputError("La géométrie est vide.")
    geometry = as_kind(geometry, kind)
    if crs is None:
        # WKT says nothing of its system: degrees and Lambert-93 metres cannot be confused
        # in France (Lambert-93 northings exceed 6,000,000).
        crs = CRS.from_epsg(WGS84 if within(geometry.bounds, DEGREE_BOUNDS) else SRID)
    elif crs.is_geographic and not within(geometry.bounds, DEGREE_BOUNDS):
        raise GeometryInputError(
            "Coordonnées hors des bornes des degrés : le texte est lu en WGS84 (longitude, "
            "latitude), comme tout GeoJSON sans membre « crs ». Pour du Lambert-93, collez du "
            "WKT ou déclarez EPSG:2154."
        )
    # Checked before reprojection, so that the point named is in the coordinates typed.
    try:
        check_valid(geometry)
    except IssueError as error:
        raise GeometryInputError(error.french) from None
    projected = _to_lambert93(geometry, crs)
    _check_in_france(projected, crs)
    rounded = rounded_to_centimetre(projected)
    # Rounding keeps validity, at the cost of collapsing what is thinner than a centimetre.
    if rounded.is_empty:
        raise GeometryInputError("La géométrie est trop petite : moins d’un centimètre.")
    return as_kind(rounded, kind)


def as_kind(geometry: Polygon | MultiPolygon, kind: GeometryKind) -> Polygon | MultiPolygon:
    """A MultiPolygon for a park; a Polygon for a plot (from a one-part MultiPolygon too)."""
    if kind == "site":
        return as_multipolygon(geometry)
    if isinstance(geometry, MultiPolygon):
        # A one-part MultiPolygon is what many GIS tools export for a single outline.
        if len(geometry.geoms) != 1:
            raise GeometryInputError(
                f"Géométrie en {len(geometry.geoms)} morceaux refusée : {EXPECTED[kind]}."
            )
        return geometry.geoms[0]
    return geometry


def _to_lambert93(geometry: Polygon | MultiPolygon, crs: CRS) -> Polygon | MultiPolygon:
    epsg = crs.to_epsg()
    if epsg == SRID:
        return geometry
    transformer = (
        _transformer(epsg, SRID)
        if epsg is not None
        else Transformer.from_crs(crs, CRS.from_epsg(SRID), always_xy=True)
    )
    return shapely.transform(geometry, transformer.transform, interleaved=False)


def _check_in_france(projected: Polygon | MultiPolygon, crs: CRS) -> None:
    if within(projected.bounds, LAMBERT93_BOUNDS):
        return
    hint = (
        " Les coordonnées sont-elles dans l’ordre longitude, latitude ?"
        if crs.is_geographic
        else ""
    )
    raise GeometryInputError(f"La géométrie est hors de France métropolitaine.{hint}")


@lru_cache(maxsize=8)
def _transformer(source: int, target: int) -> Transformer:
    return Transformer.from_crs(CRS.from_epsg(source), CRS.from_epsg(target), always_xy=True)
