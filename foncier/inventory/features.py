"""GeoJSON (RFC 7946) features of the inventory, for maps and API clients.

Geometries are stored in Lambert-93: PostGIS filters them there, on their GiST indexes, and
transforms them to WGS84 only for output. Properties carry the CNIG attribute names, plus the
computed figures of parks and the EPCI's name; never the confidential fields of plots.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final

from geoalchemy2 import Geometry
from sqlalchemy import Column, ColumnElement, Select, Table, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from foncier.core.errors import FoncierError, NotFoundError
from foncier.inventory.cnig.columns import FROM_SITE_SUMMARY
from foncier.inventory.queries import select_sites, zone_intersects_terrain
from foncier.models import SRID, WGS84, Commune, ConstraintZone, Epci, Site, Terrain
from foncier.models.codelists import CONFIDENTIAL_TERRAIN_FIELDS, TERR_STADE_COMM
from foncier.models.views import site_summary

# Six decimals of a degree are about 10 cm: finer than any perimeter we hold.
COORDINATE_DECIMALS: Final = 6
# EPCI outlines are drawn whole on the overview map: simplified by 25 m, invisible there and
# lighter.
EPCI_OUTLINE_SIMPLIFY_M: Final = 25.0
# A bbox is densified before it is transformed, so that its edges keep following the
# meridians and parallels the client meant (a straight Lambert-93 edge would bend away).
BBOX_SEGMENT_DEG: Final = 0.01
# A bbox is clipped to this frame (minlon, minlat, maxlon, maxlat) before it is transformed:
# Lambert-93 fails towards the south pole and folds its two edges at the antimeridian of its
# central meridian onto each other, whereas every stored geometry lies in its area of use
# (mainland France and Corsica: -9.86, 41.15, 10.38, 51.56), which the frame holds with a
# margin of about 5°.
LAMBERT93_FRAME: Final = (-15.0, 36.0, 16.0, 57.0)

FEATURE_ID: Final = "feature_id"
FEATURE_GEOMETRY: Final = "feature_geometry"
# Bookkeeping columns, meaningless to a reader of the inventory.
INTERNAL_COLUMNS: Final = frozenset({"version", "created_at", "updated_at"})
# The site_summary figures that the CNIG standard names; the others keep their own names.
CNIG_SUMMARY_NAMES: Final = {view: cnig for cnig, view in FROM_SITE_SUMMARY.items()}


class InvalidParameterError(FoncierError):
    """A parameter of a feature query cannot be understood."""


@dataclass(frozen=True)
class BBox:
    """A WGS84 bounding box, as RFC 7946 and OGC API – Features write it."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    @classmethod
    def parse(cls, text: str) -> BBox:
        """Read ``minlon,minlat,maxlon,maxlat``."""
        parts = text.split(",")
        try:
            numbers = [float(part) for part in parts]
        except ValueError:
            numbers = []
        if len(numbers) != 4 or not all(math.isfinite(number) for number in numbers):
            raise InvalidParameterError(
                f"bbox must be four numbers minlon,minlat,maxlon,maxlat in WGS84, not {text!r}"
            )
        bbox = cls(*numbers)
        if not (-180 <= bbox.min_lon <= bbox.max_lon <= 180):
            raise InvalidParameterError(
                "bbox longitudes must satisfy -180 <= minlon <= maxlon <= 180"
            )
        if not (-90 <= bbox.min_lat <= bbox.max_lat <= 90):
            raise InvalidParameterError("bbox latitudes must satisfy -90 <= minlat <= maxlat <= 90")
        return bbox

    def clipped(self, frame: tuple[float, float, float, float]) -> BBox | None:
        """The part of the box inside ``frame``, None if they do not meet."""
        min_lon, min_lat = max(self.min_lon, frame[0]), max(self.min_lat, frame[1])
        max_lon, max_lat = min(self.max_lon, frame[2]), min(self.max_lat, frame[3])
        if min_lon > max_lon or min_lat > max_lat:
            return None
        return BBox(min_lon, min_lat, max_lon, max_lat)

    def lambert93(self) -> ColumnElement[Any]:
        """The box in the stored projection, computed once per query."""
        box = self.clipped(LAMBERT93_FRAME)
        if box is None:  # far from France: no stored geometry can meet it
            return func.ST_GeomFromText("POLYGON EMPTY", SRID)
        envelope = func.ST_MakeEnvelope(box.min_lon, box.min_lat, box.max_lon, box.max_lat, WGS84)
        return func.ST_Transform(func.ST_Segmentize(envelope, BBOX_SEGMENT_DEG), SRID)


@dataclass(frozen=True)
class Layer:
    """A kind of feature: its query and the columns that identify, locate and draw it."""

    # Selects the properties, then FEATURE_ID.
    query: Select[Any]
    id_column: ColumnElement[Any]
    # The stored Lambert-93 geometry, which the bbox filter tests.
    geometry_column: ColumnElement[Any]
    # The Lambert-93 geometry served: the stored one, or a lighter outline.
    drawn_column: ColumnElement[Any]

    def drawing(self, simplify_m: float = 0) -> Select[Any]:
        """The query with FEATURE_GEOMETRY (GeoJSON text) last, simplified by ``simplify_m``.

        Simplifying in Lambert-93 makes the tolerance a distance on the ground: a map asks
        for about a pixel's size, so that a large zone file stays light at low zooms.
        """
        drawn = self.drawn_column
        if simplify_m > 0:
            drawn = func.ST_SimplifyPreserveTopology(drawn, simplify_m)
        return self.query.add_columns(geojson_geometry(drawn).label(FEATURE_GEOMETRY))


@dataclass(frozen=True)
class FeaturePage:
    features: list[dict[str, Any]]
    number_matched: int


def geojson_geometry(geometry: ColumnElement[Any]) -> ColumnElement[str]:
    """WGS84 GeoJSON text, exterior rings counter-clockwise as RFC 7946 asks."""
    in_wgs84 = func.ST_ForcePolygonCCW(func.ST_Transform(geometry, WGS84))
    return func.ST_AsGeoJSON(in_wgs84, COORDINATE_DECIMALS)


def public_columns(table: Table, *, hidden: Iterable[str] = ()) -> list[Column[Any]]:
    """The table's attribute columns, without geometries, bookkeeping nor ``hidden`` ones."""
    excluded = INTERNAL_COLUMNS | set(hidden)
    return [
        column
        for column in table.columns
        if column.name not in excluded and not isinstance(column.type, Geometry)
    ]


def _layer(
    id_column: ColumnElement[Any],
    geometry_column: ColumnElement[Any],
    query: Select[Any],
    *,
    drawn: ColumnElement[Any] | None = None,
) -> Layer:
    """``query`` with the feature id, drawing ``drawn`` (else the stored geometry)."""
    return Layer(
        query=query.add_columns(id_column.label(FEATURE_ID)),
        id_column=id_column,
        geometry_column=geometry_column,
        drawn_column=geometry_column if drawn is None else drawn,
    )


def _constraint_zones_of_terrain() -> ColumnElement[Any]:
    """The zones a plot lies in, as a JSON list of {id, zone_type, nom}."""
    zone = func.json_build_object(
        "id", ConstraintZone.id, "zone_type", ConstraintZone.zone_type, "nom", ConstraintZone.nom
    )
    zones = func.json_agg(aggregate_order_by(zone, ConstraintZone.id))
    return (
        select(func.coalesce(zones, func.json_build_array()))
        .where(zone_intersects_terrain())
        .scalar_subquery()
    )


EPCIS: Final = _layer(
    Epci.siren,
    Epci.geom,
    select(*public_columns(Epci.__table__)),
    drawn=func.ST_SimplifyPreserveTopology(Epci.geom, EPCI_OUTLINE_SIMPLIFY_M),
)

SITES: Final = _layer(
    Site.site_id,
    Site.site_geomsurf,
    select_sites(
        *public_columns(Site.__table__),
        Epci.nom.label("site_epci_nom"),
        Commune.nom.label("site_comm_nom"),
        *(
            column.label(CNIG_SUMMARY_NAMES.get(column.name, column.name))
            for column in site_summary.c
            if column.name != "site_id"
        ),
    ),
)

TERRAINS: Final = _layer(
    Terrain.terr_id,
    Terrain.terr_geomsurf,
    select(
        *public_columns(Terrain.__table__, hidden=CONFIDENTIAL_TERRAIN_FIELDS),
        Site.site_nom,
        Site.site_epci_siren,
        Epci.nom.label("site_epci_nom"),
        _constraint_zones_of_terrain().label("contraintes"),
    )
    .join(Site, Site.site_id == Terrain.site_id)
    .join(Epci, Epci.siren == Site.site_epci_siren),
)

ZONES: Final = _layer(
    ConstraintZone.id, ConstraintZone.geom, select(*public_columns(ConstraintZone.__table__))
)


def terrain_conditions(
    site_id: str | None = None, stades_comm: Sequence[str] = ()
) -> list[ColumnElement[bool]]:
    """Plots of one park and/or at some marketing stages (CNIG terr_stade_comm values)."""
    unknown = [stade for stade in stades_comm if stade not in TERR_STADE_COMM]
    if unknown:
        raise InvalidParameterError(
            f"unknown stade_comm {unknown[0]!r}: expected one of {', '.join(TERR_STADE_COMM)}"
        )
    conditions: list[ColumnElement[bool]] = []
    if site_id is not None:
        conditions.append(Terrain.site_id == site_id)
    if stades_comm:
        conditions.append(Terrain.terr_stade_comm.in_(stades_comm))
    return conditions


def feature_page(
    session: Session,
    layer: Layer,
    *,
    limit: int,
    offset: int = 0,
    bbox: BBox | None = None,
    conditions: Sequence[ColumnElement[bool]] = (),
    simplify_m: float = 0,
) -> FeaturePage:
    """Features in ``bbox`` meeting ``conditions``, ordered by id, and how many match in all;
    their geometries simplified by ``simplify_m`` metres."""
    matching = layer.drawing(simplify_m).where(*conditions)
    if bbox is not None:
        matching = matching.where(func.ST_Intersects(layer.geometry_column, bbox.lambert93()))
    number_matched = session.scalar(select(func.count()).select_from(matching.subquery()))
    rows = session.execute(matching.order_by(layer.id_column).limit(limit).offset(offset))
    return FeaturePage(
        features=[_feature(row) for row in rows.mappings()], number_matched=number_matched or 0
    )


def get_feature(session: Session, layer: Layer, feature_id: str | int) -> dict[str, Any]:
    row = session.execute(layer.drawing().where(layer.id_column == feature_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no feature {feature_id!r}")
    return _feature(row)


def _feature(row: RowMapping) -> dict[str, Any]:
    properties = {
        name: _json_value(value)
        for name, value in row.items()
        if name not in (FEATURE_ID, FEATURE_GEOMETRY)
    }
    return {
        "type": "Feature",
        "id": row[FEATURE_ID],
        "geometry": json.loads(row[FEATURE_GEOMETRY]),
        "properties": properties,
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    return value
