"""Export of the inventory as GeoJSON: one FeatureCollection per CNIG class (RFC 7946).

Coordinates are WGS84 longitude/latitude, as RFC 7946 requires, with 8 decimals (about a
millimetre: a file exported then imported back leaves every outline unchanged). Each feature's
id is its CNIG identifier and its properties are the CNIG columns, typed as JSON (numbers,
true/false, ISO dates), the geometry column aside since it is the feature's geometry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import numpy as np
import shapely
import shapely.geometry
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from foncier.core.permissions import Actor
from foncier.inventory.cnig.columns import SITE_COLUMNS, Column, Kind
from foncier.inventory.cnig.exporter import (
    TO_WGS84,
    ExportReport,
    ExportScope,
    PrivateFilter,
    private_fields,
    site_rows,
    terrain_columns,
    terrain_rows,
)
from foncier.inventory.cnig.values import format_cell

SITE_GEOJSON: Final = "site-eco.geojson"
TERRAIN_GEOJSON: Final = "terrain-eco.geojson"
COORDINATE_DECIMALS: Final = 8


def _wgs84(geometry: BaseGeometry) -> dict[str, Any]:
    lon_lat = shapely.transform(geometry, TO_WGS84.transform, interleaved=False)
    rounded = shapely.transform(lon_lat, lambda xy: np.round(xy, COORDINATE_DECIMALS))
    return shapely.geometry.mapping(rounded)


def json_value(column: Column, value: Any) -> Any:
    """A column's value as a JSON property: numbers, true/false, ISO dates, else CNIG text."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, date):
        return value.isoformat()
    return format_cell(column, value)  # the centroid: "lon, lat" as in the CSV files


def _collection(
    rows: Iterable[dict[str, Any]], columns: Sequence[Column], key: str, geometry_column: str
) -> dict[str, Any]:
    properties = [column for column in columns if column.kind is not Kind.GEOMETRY]
    features = [
        {
            "type": "Feature",
            "id": row[key],
            "properties": {
                column.name: json_value(column, row.get(column.name)) for column in properties
            },
            "geometry": _wgs84(row[geometry_column]),
        }
        for row in rows
    ]
    return {"type": "FeatureCollection", "features": features}


def site_collection(session: Session, scope: ExportScope) -> dict[str, Any]:
    return _collection(site_rows(session, scope), SITE_COLUMNS, "site_id", "site_geomsurf")


def terrain_collection(
    session: Session, scope: ExportScope, private: PrivateFilter, with_extensions: bool
) -> dict[str, Any]:
    columns = terrain_columns(with_extensions)
    rows = terrain_rows(session, columns, scope, private)
    return _collection(rows, columns, "terr_id", "terr_geomsurf")


def geojson_bytes(collection: dict[str, Any]) -> bytes:
    return json.dumps(collection, ensure_ascii=False).encode("utf-8")


def export_geojson(
    session: Session,
    outdir: Path,
    *,
    epci: str | None = None,
    site: str | None = None,
    confidential: bool = False,
    with_extensions: bool = False,
    actor: Actor | None = None,
) -> ExportReport:
    """Write site-eco.geojson and terrain-eco.geojson into ``outdir`` (options: export_cnig's)."""
    scope = ExportScope(epci, site)
    scope.check(session)
    outdir.mkdir(parents=True, exist_ok=True)
    sites = site_collection(session, scope)
    private = private_fields(confidential, actor)
    terrains = terrain_collection(session, scope, private, with_extensions)
    site_path, terrain_path = outdir / SITE_GEOJSON, outdir / TERRAIN_GEOJSON
    site_path.write_bytes(geojson_bytes(sites))
    terrain_path.write_bytes(geojson_bytes(terrains))
    return ExportReport(site_path, terrain_path, len(sites["features"]), len(terrains["features"]))
