"""A plot's outline as a static SVG path, for the printable sheet: no map, no tiles, no script.

Lambert-93 is a conformal projection in metres, so the drawing keeps the plot's true shape
and a scale bar can be drawn in metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

# Blank space around the outline, as a share of its larger side.
MARGIN: Final = 0.08
# Scale bar lengths to choose from, in metres: the longest under half the drawing's width.
SCALE_STEPS_M: Final = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


@dataclass(frozen=True)
class Outline:
    """SVG pieces: ``view_box`` and the ``path`` (y pointing down, in metres), a scale bar."""

    view_box: str
    path: str
    scale_m: int
    # Where the scale bar starts (x, y) in the drawing's coordinates, and its stroke width.
    scale_x: float
    scale_y: float
    stroke: float


def outline_of(geometry: BaseGeometry) -> Outline:
    """The outline of a Lambert-93 polygon or multipolygon, framed with a margin."""
    minx, miny, maxx, maxy = geometry.bounds
    side = max(maxx - minx, maxy - miny, 1.0)
    margin = side * MARGIN
    width, height = maxx - minx + 2 * margin, maxy - miny + 2 * margin

    def point(x: float, y: float) -> str:
        # SVG's y axis points down: north stays up.
        return f"{x - minx + margin:.1f},{maxy - y + margin:.1f}"

    rings = [ring for polygon in _polygons(geometry) for ring in _rings(polygon)]
    path = " ".join("M" + " L".join(point(x, y) for x, y in ring[:-1]) + " Z" for ring in rings)
    scale = _scale_length(width)
    return Outline(
        view_box=f"0 0 {width:.1f} {height + margin:.1f}",
        path=path,
        scale_m=scale,
        scale_x=margin,
        scale_y=height + margin / 2,
        stroke=side / 150,
    )


def _polygons(geometry: BaseGeometry) -> list[Polygon]:
    if isinstance(geometry, MultiPolygon):
        return list(geometry.geoms)
    if isinstance(geometry, Polygon):
        return [geometry]
    raise ValueError(f"not a polygon: {geometry.geom_type}")


def _rings(polygon: Polygon) -> list[list[tuple[float, float]]]:
    return [list(polygon.exterior.coords), *(list(ring.coords) for ring in polygon.interiors)]


def _scale_length(width_m: float) -> int:
    fitting = [step for step in SCALE_STEPS_M if step <= width_m / 2]
    return fitting[-1] if fitting else max(1, math.floor(width_m / 2))
