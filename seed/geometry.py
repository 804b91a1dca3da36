"""Plausible park perimeters and plot layouts, generated deterministically with shapely.

All coordinates are Lambert-93 metres. The layout of a park is a grid, in the park's own
rotated frame, of rows of lots along service roads, clipped by the perimeter.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import shapely
from pyproj import Transformer
from shapely import affinity
from shapely.geometry import Point, Polygon, box
from shapely.ops import nearest_points

TO_LAMBERT93 = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
ROAD_WIDTH_M = 20.0
# Keep perimeters a little inside their commune so that they never touch a neighbour.
COMMUNE_MARGIN_M = 25.0
# Sites of the CNIG standard must not overlap; neighbours keep this gap.
SITE_GAP_M = 30.0
PRECISION_M = 0.01  # centimetre grid: what CNIG exports write, so round trips are exact


def lambert93(lon: float, lat: float) -> Point:
    return Point(TO_LAMBERT93.transform(lon, lat))


def snap(geometry: shapely.Geometry) -> shapely.Geometry:
    """Round coordinates to the centimetre without breaking validity."""
    return shapely.set_precision(geometry, PRECISION_M)


def largest_polygon(geometry: shapely.Geometry) -> Polygon:
    if isinstance(geometry, Polygon):
        return geometry
    polygons = [g for g in getattr(geometry, "geoms", []) if isinstance(g, Polygon)]
    if not polygons:
        raise ValueError("no polygon left after clipping")
    return max(polygons, key=lambda polygon: polygon.area)


def centre_inside(centre: Point, commune: shapely.Geometry, margin_m: float = 300.0) -> Point:
    """The estimated centre, moved into its commune when the estimate falls outside."""
    inner = commune.buffer(-margin_m)
    if inner.is_empty:
        inner = commune
    if inner.contains(centre):
        return centre
    return nearest_points(inner, centre)[0]


@dataclass(frozen=True)
class Perimeter:
    polygon: Polygon
    centre: Point
    angle_deg: float


def park_perimeter(
    centre: Point,
    area_ha: float,
    commune: shapely.Geometry,
    taken: shapely.Geometry | None,
    rng: random.Random,
) -> Perimeter:
    """A rotated rectangle of about ``area_ha`` around ``centre``, kept inside its commune and
    away from parks already placed (``taken``)."""
    aspect = rng.uniform(1.2, 1.8)
    width = math.sqrt(area_ha * 10_000 * aspect)
    height = area_ha * 10_000 / width
    angle = rng.uniform(-35.0, 35.0)
    rectangle = box(centre.x - width / 2, centre.y - height / 2, centre.x + width / 2,
                    centre.y + height / 2)  # fmt: skip
    shape = affinity.rotate(rectangle, angle, origin=centre)
    shape = shape.intersection(commune.buffer(-COMMUNE_MARGIN_M))
    if taken is not None and not taken.is_empty:
        shape = shape.difference(taken.buffer(SITE_GAP_M))
    polygon = largest_polygon(snap(shape))
    return Perimeter(polygon=polygon, centre=centre, angle_deg=angle)


@dataclass(frozen=True)
class LotStyle:
    """Typical lot dimensions of a kind of park, in metres."""

    depth: float
    frontage: float


LOT_STYLES = {
    "entrepôts, logistique": LotStyle(depth=220.0, frontage=200.0),
    "industrielle": LotStyle(depth=160.0, frontage=140.0),
    "mixte": LotStyle(depth=110.0, frontage=90.0),
    "artisanale": LotStyle(depth=70.0, frontage=50.0),
    "tertiaire": LotStyle(depth=80.0, frontage=70.0),
}
MIN_LOT_M2 = 600.0
MAX_LOTS = 16


def _rows_of_cells(bounds: tuple[float, float, float, float], style: LotStyle,
                   rng: random.Random) -> list[Polygon]:  # fmt: skip
    """Cells of two lot rows back to back, then a road, repeated across the bounds."""
    minx, miny, maxx, maxy = bounds
    cells: list[Polygon] = []
    y = miny + ROAD_WIDTH_M
    row = 0
    while y < maxy:
        x = minx
        while x < maxx:
            frontage = style.frontage * rng.uniform(0.6, 1.5)
            cells.append(box(x, y, x + frontage, y + style.depth))
            x += frontage
        y += style.depth + (ROAD_WIDTH_M if row % 2 else 0.0)
        row += 1
    return cells


def plot_layout(perimeter: Perimeter, vocation: str, rng: random.Random) -> list[Polygon]:
    """Lots of the park: a grid in the park's frame clipped by its perimeter inset by 5 m, so
    that every lot lies strictly inside the park."""
    style = LOT_STYLES.get(vocation, LOT_STYLES["mixte"])
    frame = affinity.rotate(perimeter.polygon, -perimeter.angle_deg, origin=perimeter.centre)
    inner = frame.buffer(-5.0)
    while True:
        lots = []
        for cell in _rows_of_cells(frame.bounds, style, rng):
            piece = cell.intersection(inner)
            if piece.area >= max(MIN_LOT_M2, 0.4 * cell.area):
                lots.append(largest_polygon(piece))
        if len(lots) <= MAX_LOTS:
            break
        # Too many small lots for a readable demo: make them larger and try again.
        style = LotStyle(depth=style.depth * 1.25, frontage=style.frontage * 1.25)
    back = [affinity.rotate(lot, perimeter.angle_deg, origin=perimeter.centre) for lot in lots]
    return [largest_polygon(snap(lot)) for lot in back]
