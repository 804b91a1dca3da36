"""The inputs the probe of issue 11 answered with a 500, and outlines with too many vertices,
built in memory for the tests of every path that reads JSON or a geometry."""

from __future__ import annotations

from typing import Final

import numpy as np
from shapely import Point, Polygon
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from foncier.inventory.cnig.geometry import MAX_VERTICES
from foncier.models import AuditEvent

# A terrain CSV's terr_geomsurf: RecursionError in json.loads.
DEEP_GEOJSON: Final = '{"type":"Polygon","coordinates":' + "[" * 50_000
# A 5,001-digit coordinate: « Exceeds the limit (4300 digits) » in json.loads.
LONG_NUMBER_GEOJSON: Final = (
    '{"type":"Polygon","coordinates":[[[' + "5" * 5001 + ",6700000],[525010,6700000],"
    "[525010,6700010],[525000,6700000]]]}"
)
DEEP_WKT: Final = "POLYGON" + "(" * 50_000
LONG_NUMBER_WKT: Final = "POLYGON((" + "5" * 5001 + " 6700000, 1 2, 3 4, 5 6))"
PROBE_TEXTS: Final = {
    "deep GeoJSON": DEEP_GEOJSON,
    "5001-digit GeoJSON": LONG_NUMBER_GEOJSON,
    "deep WKT": DEEP_WKT,
    "5001-digit WKT": LONG_NUMBER_WKT,
}
# What each refusal says, in French.
TOO_DEEP: Final = "imbriqué trop profondément (plus de 64 niveaux)"
TOO_MANY_DIGITS: Final = "a trop de chiffres (plus de 40)"
TOO_MANY_VERTICES: Final = "La géométrie compte plus de 100\u202f000 sommets"
EXPECTED: Final = {
    "deep GeoJSON": TOO_DEEP,
    "5001-digit GeoJSON": TOO_MANY_DIGITS,
    "deep WKT": TOO_DEEP,
    "5001-digit WKT": TOO_MANY_DIGITS,
}


def ten_million_brackets() -> bytes:
    """The probe's GeoJSON file: 10 MB of nested [ (RecursionError in json.loads)."""
    return b'{"type":"FeatureCollection","features":' + b"[" * 10_000_000


def too_many_vertices(centre: Point) -> Polygon:
    """A valid 50 m disc around ``centre`` with MAX_VERTICES + 1 vertices (the closing one)."""
    angles = np.linspace(0, 2 * np.pi, MAX_VERTICES, endpoint=False)
    return Polygon(
        np.column_stack([centre.x + 50 * np.cos(angles), centre.y + 50 * np.sin(angles)])
    )


def inventory_events(session: Session) -> int:
    """The audit events: every write to the inventory adds one in its transaction, so an
    unchanged count proves that nothing was written."""
    return session.scalar(select(func.count()).select_from(AuditEvent))
