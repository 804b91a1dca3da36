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

from foncier.codelists import TERR_STADE_COMM
from foncier.errors import FoncierError, NotFoundError
from foncier.inventory import CONFIDENTIAL_TERRAIN_FIELDS, select_sites, zone_intersects_terrain
from foncier.models import SRID, WGS84, Commune, ConstraintZone, Epci, Site, Terrain
from foncier.models.views import site_summary

# Six decimals of a degree are about 10 cm: finer than any perimeter we hold.
COORDINATE_DECIMALS: Final = 6
# EPCI outlines are drawn whole on the overview map; 25 m is invisible there and lighter.
EPCI_TOLERANCE_M: Final = 25.0
# A bbox is densified before it is transformed, so that its edges keep following the
# meridians and parallels the client meant (a straight Lambert-93 edge would bend away).
BBOX_SEGMENT_DEG: Final = 0.01

FEATURE_ID: Final = "feature_id"
FEATURE_GEOMETRY: Final = "feature_geometry"
# Bookkeeping columns, meaningless to a reader of the inventory.
INTERNAL_COLUMNS: Final = frozenset({"version", "created_at", "updated_at"})
# The site_summary figures that the CNIG standard names; the others keep their own names.
CNIG_SUMMARY_NAMES: Final = {
    "uf_nbre": "site_uf_nbre",
    "uf_vacant_nbre": "site_uf_vacant_nbre",
    "taux_vacance": "site_taux_vacance",
    "uf_bati_nbre": "site_uf_bati_nbre",
}


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

    def lambert93(self) -> ColumnElement[Any]:
        """The box in the stored projection, computed once per query."""
        envelope = func.ST_MakeEnvelope(
            self.min_lon, self.min_lat, self.max_lon, self.max_lat, WGS84
        )
        return func.ST_Transform(func.ST_Segmentize(envelope, BBOX_SEGMENT_DEG), SRID)


@dataclass(frozen=True)
class Layer:
    """A kind of feature: its query and the columns that identify and locate it."""

    # Selects FEATURE_ID, FEATURE_GEOMETRY (GeoJSON text) and then the properties.
    query: Select[Any]
    id_column: ColumnElement[Any]
    # The stored Lambert-93 geometry, which the bbox filter tests.
    geometry_column: ColumnElement[Any]


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
    """``query`` with the feature id and geometry (``drawn``, else the stored one) in front."""
    drawn_geometry = geojson_geometry(geometry_column if drawn is None else drawn)
    located = query.add_columns(id_column.label(FEATURE_ID), drawn_geometry.label(FEATURE_GEOMETRY))
    return Layer(query=located, id_column=id_column, geometry_column=geometry_column)


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
    drawn=func.ST_SimplifyPreserveTopology(Epci.geom, EPCI_TOLERANCE_M),
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
) -> FeaturePage:
    """Features in ``bbox`` meeting ``conditions``, ordered by id, and how many match in all."""
    matching = layer.query.where(*conditions)
    if bbox is not None:
        matching = matching.where(func.ST_Intersects(layer.geometry_column, bbox.lambert93()))
    number_matched = session.scalar(select(func.count()).select_from(matching.subquery()))
    rows = session.execute(matching.order_by(layer.id_column).limit(limit).offset(offset))
    return FeaturePage(
        features=[_feature(row) for row in rows.mappings()], number_matched=number_matched or 0
    )


def get_feature(session: Session, layer: Layer, feature_id: str | int) -> dict[str, Any]:
    row = session.execute(layer.query.where(layer.id_column == feature_id)).mappings().first()
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
