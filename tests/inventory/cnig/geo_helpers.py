"""Geographic CNIG files for the tests, built from CSV rows the way GIS tools write them.

GeoJSON files carry JSON-typed properties (true/false, numbers, ISO dates as text). GeoPackages
are written through GDAL (pyogrio.raw), with the field types the CNIG QGIS template gives:
dates as Date, booleans as Integer(Boolean), numbers as Real, whole numbers as Integer, text
as String, and multi-polygon layers, which is what QGIS saves polygons as by default.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import shapely.geometry
from cnig_helpers import CsvTable
from pyogrio import raw
from pyproj import Transformer
from shapely import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from foncier.inventory.cnig.columns import Kind
from foncier.inventory.cnig.tables import SITES, TERRAINS, Table

LAMBERT93 = "EPSG:2154"


def table_of(rows: CsvTable) -> Table:
    return TERRAINS if "terr_id" in rows.header else SITES


def reprojected(geometry: BaseGeometry, crs: str) -> BaseGeometry:
    if crs == LAMBERT93:
        return geometry
    transformer = Transformer.from_crs(LAMBERT93, crs, always_xy=True)
    return shapely.transform(geometry, transformer.transform, interleaved=False)


def geometry_of(row: dict[str, str], table: Table) -> BaseGeometry:
    """The Lambert-93 geometry of a CSV row (its GeoJSON text cell)."""
    return shapely.geometry.shape(json.loads(row[table.geometry_column]))


def json_value(kind: Kind, text: str) -> Any:
    """A CSV cell as a GIS tool would type it in GeoJSON."""
    if text == "":
        return None
    if kind is Kind.BOOLEAN:
        return text == "oui"
    if kind is Kind.NUMBER:
        return float(text)
    if kind in (Kind.INTEGER, Kind.YEAR):
        return int(text)
    return text


def feature_collection(
    rows: CsvTable, crs: str = "EPSG:4326", *, crs_member: bool | None = None
) -> dict[str, Any]:
    """The rows as a FeatureCollection in ``crs``; the legacy "crs" member names it, except
    for WGS84 (RFC 7946's default) unless ``crs_member`` asks for it."""
    table = table_of(rows)
    columns = table.columns_by_name
    features = []
    for row in rows.rows:
        geometry = reprojected(geometry_of(row, table), crs)
        properties = {
            name: json_value(columns[name].kind, text)
            for name, text in row.items()
            if name != table.geometry_column
        }
        features.append(
            {
                "type": "Feature",
                "properties": properties,
                "geometry": shapely.geometry.mapping(geometry),
            }
        )
    document: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if crs_member if crs_member is not None else crs != "EPSG:4326":
        code = crs.split(":")[1]
        document["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{code}"}}
    return document


def write_geojson(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def _field(kind: Kind, cells: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """A GeoPackage field's values and null mask, typed as QGIS types CNIG columns."""
    nulls = np.array([cell == "" for cell in cells])
    if kind is Kind.DATE:
        values = np.array([cell or "NaT" for cell in cells], dtype="datetime64[D]")
    elif kind is Kind.BOOLEAN:
        values = np.array([cell == "oui" for cell in cells])
    elif kind is Kind.NUMBER:
        values = np.array([float(cell) if cell else 0.0 for cell in cells])
    elif kind in (Kind.INTEGER, Kind.YEAR):
        values = np.array([int(cell) if cell else 0 for cell in cells], dtype=np.int32)
    else:
        values = np.array([cell or None for cell in cells], dtype=object)
    return values, nulls


def as_multi(geometry: BaseGeometry) -> MultiPolygon:
    return MultiPolygon([geometry]) if isinstance(geometry, Polygon) else geometry


def write_geopackage_layer(
    path: Path,
    layer: str,
    rows: CsvTable,
    crs: str = LAMBERT93,
    geometries: list[BaseGeometry] | None = None,
) -> Path:
    """Add ``rows`` to the GeoPackage ``path`` as the multi-polygon layer ``layer`` in ``crs``;
    ``geometries`` (Lambert-93) replace the rows' own."""
    table = table_of(rows)
    columns = table.columns_by_name
    names = [name for name in rows.header if name != table.geometry_column]
    fields, masks = [], []
    for name in names:
        values, nulls = _field(columns[name].kind, [row[name] for row in rows.rows])
        fields.append(values)
        masks.append(nulls)
    shapes = geometries or [geometry_of(row, table) for row in rows.rows]
    wkbs = np.array(
        [shapely.to_wkb(as_multi(reprojected(shape, crs))) for shape in shapes], dtype=object
    )
    raw.write(
        path,
        wkbs,
        fields,
        names,
        field_mask=masks,
        layer=layer,
        driver="GPKG",
        geometry_type="MultiPolygon",
        crs=crs,
    )
    return path


def bowtie_inside(geometry: BaseGeometry) -> Polygon:
    """A self-intersecting quadrilateral (a bow tie) around the centre of ``geometry``."""
    x, y = geometry.centroid.x, geometry.centroid.y
    return Polygon([(x - 5, y - 5), (x + 5, y + 5), (x + 5, y - 5), (x - 5, y + 5), (x - 5, y - 5)])


def today() -> str:
    return date.today().isoformat()
