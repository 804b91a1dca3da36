"""GeoJSON geometries of imported files, parsed strictly and checked; shared with
foncier.inventory.zones.

The parser does not repair anything: an unclosed ring or a self-intersection is reported,
never fixed, because a guessed geometry would silently change a legal perimeter.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any, Final

import numpy as np
import shapely
import shapely.geometry
from shapely import MultiPolygon, Polygon
from shapely.validation import explain_validity

from foncier.core.bounded_text import TextLimitError, TextLimits, load_json
from foncier.inventory.cnig.issues import IssueError

# Area of use of EPSG:2154 (mainland France, Corsica and their waters) in Lambert-93 metres,
# as pyproj gives it; what lies outside cannot be a French business park.
LAMBERT93_BOUNDS: Final = (-378_306.0, 6_005_281.0, 1_320_650.0, 7_235_613.0)
DEGREE_BOUNDS: Final = (-180.0, -90.0, 180.0, 90.0)
# The types json gives numbers (a bool, an int subclass, is not a coordinate).
JSON_NUMBERS: Final = (int, float)
POLYGONAL: Final = ("Polygon", "MultiPolygon")

# A plot's outline or a park's perimeter has tens to a few thousand vertices; a hundred times
# more is a mistake (a contour line, a raster traced point by point), and would make every
# spatial check and every map slow.
MAX_VERTICES: Final = 100_000
# A geometry's text (a CSV cell, a pasted or uploaded outline): MAX_VERTICES Lambert-93
# vertices to the centimetre take about 2.5 MB as GeoJSON.
GEOMETRY_TEXT_CHARS: Final = 5 * 2**20
GEOJSON_TEXT: Final = TextLimits("GeoJSON", GEOMETRY_TEXT_CHARS)

NOT_JSON: Final = {"detail_fr": "ce n’est pas du JSON", "detail_en": "not JSON"}
NO_TYPE: Final = {"detail_fr": "objet sans « type »", "detail_en": "object without 'type'"}
MALFORMED: Final = {
    "detail_fr": "coordonnées mal structurées",
    "detail_en": "malformed coordinates",
}
SHORT_RING: Final = {
    "detail_fr": "un contour compte au moins 4 positions",
    "detail_en": "a ring has at least 4 positions",
}

# GEOS's validity reasons, in French for the referents.
GEOS_REASONS_FR: Final = {
    "Self-intersection": "auto-intersection",
    "Ring Self-intersection": "contour qui se recoupe",
    "Hole lies outside shell": "trou hors du contour extérieur",
    "Holes are nested": "trous imbriqués",
    "Interior is disconnected": "intérieur en plusieurs morceaux",
    "Nested shells": "contours extérieurs imbriqués",
    "Duplicate Rings": "contours en double",
    "Too few distinct points in geometry component": "trop peu de points distincts",
    "Invalid Coordinate": "coordonnée invalide",
}


def geometry_from_text(text: str, allowed: tuple[str, ...]) -> Polygon | MultiPolygon:
    try:
        document = load_json(text, GEOJSON_TEXT)
    except TextLimitError as error:
        raise beyond_limits(error) from None
    except json.JSONDecodeError:
        raise IssueError("bad_geojson", **NOT_JSON) from None
    return geometry_from_geojson(document, allowed)


def beyond_limits(error: TextLimitError) -> IssueError:
    return IssueError("beyond_limits", french=error.french, english=error.english)


def geometry_from_geojson(document: Any, allowed: tuple[str, ...]) -> Polygon | MultiPolygon:
    """A Polygon or MultiPolygon (of the ``allowed`` types) from a GeoJSON geometry object."""
    if not isinstance(document, dict) or not isinstance(document.get("type"), str):
        raise IssueError("bad_geojson", **NO_TYPE)
    kind = document["type"]
    if kind not in allowed:
        raise IssueError("geometry_type", found=kind, expected=", ".join(allowed))
    coordinates = document.get("coordinates")
    # Counted before anything is built: Python objects for millions of vertices take seconds.
    check_vertex_count(_position_count(coordinates, 2 if kind == "Polygon" else 3))
    if kind == "Polygon":
        return _polygon(coordinates)
    if not isinstance(coordinates, list) or not coordinates:
        raise IssueError("bad_geojson", **MALFORMED)
    return MultiPolygon([_polygon(polygon) for polygon in coordinates])


def check_vertex_count(count: int) -> None:
    """Refuse a geometry of more than MAX_VERTICES vertices (positions, closing ones included)."""
    if count > MAX_VERTICES:
        raise too_many_vertices()


def too_many_vertices() -> IssueError:
    return IssueError(
        "too_many_vertices",
        maximum_fr=f"{MAX_VERTICES:,}".replace(",", "\u202f"),
        maximum_en=f"{MAX_VERTICES:,}",
    )


def _position_count(coordinates: Any, levels: int) -> int:
    """The positions ``levels`` lists down (2 for a Polygon's rings); malformed parts count
    none, the parser then refuses them."""
    if not isinstance(coordinates, list):
        return 0
    if levels == 1:
        return len(coordinates)
    return sum(_position_count(part, levels - 1) for part in coordinates)


def as_multipolygon(geometry: Polygon | MultiPolygon) -> MultiPolygon:
    return geometry if isinstance(geometry, MultiPolygon) else MultiPolygon([geometry])


def _polygon(rings: Any) -> Polygon:
    if not isinstance(rings, list) or not rings:
        raise IssueError("bad_geojson", **MALFORMED)
    shell, *holes = (_ring(ring) for ring in rings)
    return Polygon(shell, holes)


def _ring(ring: Any) -> list[tuple[float, float]]:
    if not isinstance(ring, list):
        raise IssueError("bad_geojson", **MALFORMED)
    if len(ring) < 4:
        raise IssueError("bad_geojson", **SHORT_RING)
    positions = [_position(position) for position in ring]
    if positions[0] != positions[-1]:
        raise IssueError("unclosed_ring")
    return positions


def _position(position: Any) -> tuple[float, float]:
    """x and y of a GeoJSON position; an elevation, when given, is dropped."""
    # Run for every vertex of an import (660,000 in a 31 MB file): a loop over exact types
    # (JSON gives list, int, float; a bool is refused) takes half the time of all(isinstance).
    if type(position) is not list or not 2 <= len(position) <= 3:
        raise IssueError("bad_geojson", **MALFORMED)
    for value in position:
        if type(value) not in JSON_NUMBERS or not math.isfinite(value):
            raise IssueError("bad_geojson", **MALFORMED)
    return float(position[0]), float(position[1])


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def within(bounds: tuple[float, ...], frame: tuple[float, ...]) -> bool:
    """Whether ``bounds`` (minx, miny, maxx, maxy) lie inside ``frame``, given alike."""
    minx, miny, maxx, maxy = bounds
    return frame[0] <= minx and maxx <= frame[2] and frame[1] <= miny and maxy <= frame[3]


def check_lambert93(geometry: Polygon | MultiPolygon) -> None:
    """Refuse coordinates that cannot be Lambert-93, saying so when they look like degrees."""
    if within(geometry.bounds, LAMBERT93_BOUNDS):
        return
    if within(geometry.bounds, DEGREE_BOUNDS):
        raise IssueError("wgs84_coordinates")
    raise IssueError("not_lambert93")


def check_degrees(geometry: Polygon | MultiPolygon, crs_name: str) -> None:
    if not within(geometry.bounds, DEGREE_BOUNDS):
        raise IssueError("not_degrees", crs=crs_name)


def check_valid(geometry: Polygon | MultiPolygon) -> None:
    """Refuse invalid geometries with GEOS's reason and the point where it lies."""
    if geometry.is_valid:
        return
    reason, _, point = explain_validity(geometry).partition("[")
    where = f" ({point.rstrip(']')})" if point else ""
    raise IssueError(
        "invalid_geometry",
        reason_fr=GEOS_REASONS_FR.get(reason, reason) + where,
        reason_en=reason + where,
    )


# --- writing -------------------------------------------------------------------------------

CENTIMETRE: Final = 0.01


def rounded_to_centimetre(geometry: Polygon | MultiPolygon) -> Polygon | MultiPolygon:
    """Coordinates rounded to the centimetre, as exports write them, vertex order kept."""
    rounded = shapely.transform(geometry, lambda xy: np.round(xy, 2))
    # Rounding moves vertices by up to 7 mm; on the rare geometry where that breaks validity,
    # GEOS's precision reducer rounds while keeping it valid.
    return rounded if rounded.is_valid else shapely.set_precision(geometry, CENTIMETRE)


def _centimetres(value: float) -> str:
    return format(Decimal(f"{value:.2f}").normalize(), "f")


def _coordinates_text(coordinates: Any) -> str:
    if _is_finite_number(coordinates[0]):
        return f"[{_centimetres(coordinates[0])},{_centimetres(coordinates[1])}]"
    return "[" + ",".join(_coordinates_text(part) for part in coordinates) + "]"


def geojson_text(geometry: Polygon | MultiPolygon) -> str:
    """GeoJSON laid out as in the CNIG examples, coordinates to the centimetre."""
    coordinates = _coordinates_text(shapely.geometry.mapping(geometry)["coordinates"])
    return f'{{"type": "{geometry.geom_type}", "coordinates": {coordinates}}}'
