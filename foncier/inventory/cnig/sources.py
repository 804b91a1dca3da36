"""The files a CNIG inventory comes in, read into the same records: CSV, GeoJSON, GeoPackage.

A CSV file is one table. A GeoJSON FeatureCollection is one table whose features carry the
CNIG columns as properties. A GeoPackage holds one table per layer named like the CNIG classes
(site_eco, terrain_eco, also SITE-ECO...; case does not matter), as the CNIG QGIS template
makes them. Every feature becomes a record of text cells written as a CSV file would write
them ("oui"/"non", ISO dates, plain numbers, the geometry as GeoJSON in Lambert-93), so that
every value then goes through the one validation path of CSV cells (foncier.inventory.cnig.values).

Geometries of geographic files come in any coordinate reference system: GeoJSON's legacy
"crs" member (else WGS84, as RFC 7946 says), a GeoPackage layer's own (else Lambert-93, the
standard's). Validity is checked in the file's coordinates, so that the reported point can be
found in the file, then the geometry is reprojected to EPSG:2154 with pyproj.
"""

from __future__ import annotations

import json
import math
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyogrio
import shapely
import shapely.geometry
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely import MultiPolygon, Polygon
from shapely.errors import ShapelyError
from shapely.geometry.base import BaseGeometry

from foncier.inventory.cnig.columns import Column, Kind
from foncier.inventory.cnig.csvfile import (
    Record,
    check_header,
    first_line,
    header_labels,
    header_names,
    non_empty_text,
    read_records,
    too_many_rows,
)
from foncier.inventory.cnig.geojson import (
    LAMBERT93,
    NOT_FINITE,
    PROPERTIES_NOT_OBJECT,
    feature_list,
    read_document,
    source_crs,
    unstorable_text,
)
from foncier.inventory.cnig.geometry import (
    MAX_VERTICES,
    POLYGONAL,
    check_degrees,
    check_valid,
    check_vertex_count,
    geometry_from_geojson,
    too_many_vertices,
)
from foncier.inventory.cnig.issues import IssueError, IssueLog, SourceFile
from foncier.inventory.cnig.tables import SITES, TERRAINS, Table, table_of_columns

# The first bytes of every SQLite database, hence of every GeoPackage.
SQLITE_MAGIC: Final = b"SQLite format 3\x00"
GEOJSON_SUFFIXES: Final = (".geojson", ".json")
LAYER_TABLES: Final = {"site_eco": SITES, "terrain_eco": TERRAINS}
# A WKB vertex takes 16 to 32 bytes (XY to XYZM), a ring or a part a few more: a larger blob
# holds more than MAX_VERTICES vertices (or is no outline at all).
MAX_WKB_BYTES: Final = 36 * MAX_VERTICES
NOT_AN_OBJECT: Final = {
    "detail_fr": "l’entité n’est pas un objet",
    "detail_en": "the feature is not an object",
}


class Format(StrEnum):
    CSV = "CSV"
    GEOJSON = "GeoJSON"
    GEOPACKAGE = "GeoPackage"


@dataclass(frozen=True)
class Layer:
    """One table read from a file: a CSV file, a GeoJSON file or a GeoPackage layer."""

    # How reports name it: the file, or "file (layer)" for a GeoPackage layer.
    name: str
    table: Table
    records: list[Record]
    # Records are features (numbered from 1) rather than lines of text.
    by_feature: bool


def format_of(source: SourceFile) -> Format:
    """The format of a file: by its content for a GeoPackage, else by its name's suffix; a
    file named otherwise (an upload without suffix) is GeoJSON if it starts like JSON."""
    if source.content.startswith(SQLITE_MAGIC):
        return Format.GEOPACKAGE
    suffix = Path(source.name).suffix.lower()
    if suffix in GEOJSON_SUFFIXES:
        return Format.GEOJSON
    if suffix not in (".csv", ".txt", ".gpkg"):
        start = source.content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        if start == b"{":
            return Format.GEOJSON
    return Format.GEOPACKAGE if suffix == ".gpkg" else Format.CSV


def read_layers(
    source: SourceFile, table: Table | None, log: IssueLog, max_rows: int | None = None
) -> list[Layer]:
    """The CNIG tables of a file. ``table``: the class the caller says the file holds; None to
    tell it from the file (a CSV header, GeoJSON properties, GeoPackage layer names).
    ``max_rows``: the most rows (lines, features) a table may have, counted before its rows
    are read into records; a larger one is reported (``too_many_rows``) and left out."""
    kind = format_of(source)
    if kind is Format.GEOJSON:
        return read_geojson(source, table, log, max_rows)
    if kind is Format.GEOPACKAGE:
        return read_geopackage(source, table, log, max_rows)
    return read_csv(source, table, log, max_rows)


def csv_table(source: SourceFile) -> Table | None:
    """The class of a CSV file, told by its header (None when it cannot be told)."""
    return table_of_columns(header_names(source))


def read_csv(
    source: SourceFile, table: Table | None, log: IssueLog, max_rows: int | None = None
) -> list[Layer]:
    # Unreadable or empty files are reported as such, not as of an unknown class.
    text = non_empty_text(source, log)
    if text is None:
        return []
    table = table or table_of_columns(header_labels(first_line(text)))
    if table is None:
        log.add(IssueError("unknown_class"), source.name)
        return []
    records = read_records(source.name, text, table.columns, table.label, log, max_rows)
    return [Layer(source.name, table, records, by_feature=False)]


# --- values of geographic files ---------------------------------------------------------------


def cell_text(column: Column, value: Any) -> str:
    """A native value (JSON, or a GeoPackage field) as the text a CNIG CSV cell would hold."""
    if isinstance(value, np.generic):
        value = _python_value(value)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise IssueError("compound_value")
    if isinstance(value, str):
        reason = unstorable_text(value)
        if reason:
            raise IssueError("bad_property", name=column.name, **reason)
        return value.strip()
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int | float):
        return _number_text(column, value)
    if isinstance(value, datetime):
        # A date field saved as a date-time at midnight is that date; another time is refused
        # by the date check rather than cut off.
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise IssueError("compound_value")


def _python_value(value: np.generic) -> Any:
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return None
        # Nanoseconds would come back as an integer: microseconds give a datetime.
        return value.astype("datetime64[us]").item()
    return value.item()


def _number_text(column: Column, value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return ""  # GeoPackage nulls of number fields come as NaN
    if isinstance(value, float) and math.isinf(value):
        raise IssueError("bad_property", name=column.name, **NOT_FINITE)
    # GIS tools store booleans as integers 0 and 1 (GeoPackage's Boolean subtype included).
    if column.kind is Kind.BOOLEAN and value in (0, 1):
        return "oui" if value else "non"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    # The shortest text that reads back as the same float, without exponent.
    return format(Decimal(repr(value)), "f")


@dataclass(frozen=True)
class Geometries:
    """Turns the geometries of one file into Lambert-93 GeoJSON cells of a table."""

    table: Table
    crs: CRS
    # One transformer for the whole file: building it costs far more than using it.
    to_lambert93: Transformer | None = field(init=False)

    def __post_init__(self) -> None:
        transformer = (
            None
            if self.crs.equals(LAMBERT93)
            else Transformer.from_crs(self.crs, LAMBERT93, always_xy=True)
        )
        object.__setattr__(self, "to_lambert93", transformer)

    def cell(self, geometry: BaseGeometry | None) -> str:
        if geometry is None or geometry.is_empty:
            return ""  # a required value: the cell check reports it missing
        geometry = _polygonal(shapely.force_2d(geometry), self.table)
        if self.crs.is_geographic:
            _check_degrees(geometry, self.crs)
        # Checked before reprojection, so that the reported point is in the file's coordinates.
        check_valid(geometry)
        if self.to_lambert93 is not None:
            geometry = shapely.transform(geometry, self.to_lambert93.transform, interleaved=False)
        return json.dumps(shapely.geometry.mapping(geometry))


def _polygonal(geometry: BaseGeometry, table: Table) -> Polygon | MultiPolygon:
    if geometry.geom_type not in POLYGONAL:
        expected = table.columns_by_name[table.geometry_column].detail
        raise IssueError("geometry_type", found=geometry.geom_type, expected=", ".join(expected))
    if table is TERRAINS and isinstance(geometry, MultiPolygon):
        # GIS tools often save polygons in multi-polygon layers: one part is one plot.
        if len(geometry.geoms) != 1:
            raise IssueError("multipart_plot", parts=len(geometry.geoms))
        return geometry.geoms[0]
    assert isinstance(geometry, Polygon | MultiPolygon)
    return geometry


def _check_degrees(geometry: BaseGeometry, crs: CRS) -> None:
    try:
        check_degrees(geometry, crs.name)
    except IssueError:
        raise IssueError("file_not_degrees", crs=crs.name) from None


def _feature_record(
    number: int,
    properties: dict[str, Any],
    geometry: BaseGeometry | IssueError | None,
    names: Sequence[str],
    geometries: Geometries,
    layer: str,
    log: IssueLog,
) -> Record:
    """The record of a feature; values refused on the way are reported and marked refused."""
    table = geometries.table
    columns = table.columns_by_name
    cells: dict[str, str] = {}
    refused: set[str] = set()
    for name in names:
        try:
            cells[name] = cell_text(columns[name], properties.get(name))
        except IssueError as error:
            log.add(error, layer, line=number, column=name)
            refused.add(name)
    try:
        if isinstance(geometry, IssueError):
            raise geometry
        cells[table.geometry_column] = geometries.cell(geometry)
    except IssueError as error:
        log.add(error, layer, line=number, column=table.geometry_column)
        refused.add(table.geometry_column)
    return Record(line=number, cells=cells, refused=frozenset(refused))


def _known_columns(names: list[str], table: Table, layer: str, log: IssueLog) -> list[str]:
    """Check the property names of a layer as a CSV header; the known ones, in file order."""
    columns = table.columns_by_name
    if table.geometry_column in names:
        log.add(IssueError("geometry_in_properties"), layer, column=table.geometry_column)
        names = [name for name in names if name != table.geometry_column]
    check_header([*names, table.geometry_column], table.columns, table.label, layer, log, None)
    return [name for name in dict.fromkeys(names) if name in columns]


# --- GeoJSON ----------------------------------------------------------------------------------


def _file_crs(document: dict[str, Any], name: str, log: IssueLog) -> CRS | None:
    try:
        return source_crs(document, None)
    except CRSError:
        log.add(IssueError("file_crs_unknown", crs=json.dumps(document.get("crs"))), name)
        return None


def _properties(feature: Any) -> dict[str, Any]:
    properties = feature.get("properties") if isinstance(feature, dict) else None
    return properties if isinstance(properties, dict) else {}


def _geojson_geometry(feature: Any) -> BaseGeometry | IssueError | None:
    """A feature's geometry, or the error that refuses it (reported with the feature's row)."""
    if not isinstance(feature, dict):
        return IssueError("bad_geojson", **NOT_AN_OBJECT)
    if not isinstance(feature.get("properties"), dict | None):
        return IssueError("bad_geojson", **PROPERTIES_NOT_OBJECT)
    document = feature.get("geometry")
    if document is None:
        return None
    try:
        return geometry_from_geojson(document, POLYGONAL)
    except IssueError as error:
        return error


def read_geojson(
    source: SourceFile, table: Table | None, log: IssueLog, max_rows: int | None = None
) -> list[Layer]:
    document = read_document(source, log)
    features = feature_list(document, source.name, log) if document is not None else []
    if not features or too_many_rows(len(features), max_rows, source.name, log):
        return []
    crs = _file_crs(document, source.name, log)
    if crs is None:
        return []
    properties = [_properties(feature) for feature in features]
    names = list(dict.fromkeys(name for values in properties for name in values))
    table = table or table_of_columns(set(names))
    if table is None:
        log.add(IssueError("unknown_class"), source.name)
        return []
    log.count_features(source.name)
    known = _known_columns(names, table, source.name, log)
    geometries = Geometries(table, crs)
    records = [
        _feature_record(
            number, values, _geojson_geometry(feature), known, geometries, source.name, log
        )
        for number, (feature, values) in enumerate(zip(features, properties, strict=True), 1)
    ]
    return [Layer(source.name, table, records, by_feature=True)]


# --- GeoPackage -------------------------------------------------------------------------------


def layer_table(layer: str) -> Table | None:
    """The CNIG class a GeoPackage layer holds, by its name: site_eco, SITE-ECO, Terrain_Eco..."""
    return LAYER_TABLES.get(layer.casefold().replace("-", "_"))


def _chosen_layers(listed: list[str], table: Table | None) -> list[tuple[str, Table]]:
    recognised = [(layer, found) for layer in listed if (found := layer_table(layer))]
    if table is None:
        return recognised
    named = [(layer, found) for layer, found in recognised if found is table]
    if named:
        return named[:1]
    # A file given as the parks (or plots) file with one layer of another name: that layer.
    return [(listed[0], table)] if len(listed) == 1 else []


def _layer_crs(meta: dict[str, Any], layer: str, log: IssueLog) -> CRS | None:
    if not meta.get("crs"):
        return LAMBERT93  # a layer without a system: the standard's
    try:
        return CRS.from_user_input(meta["crs"])
    except CRSError:
        log.add(IssueError("file_crs_unknown", crs=meta["crs"]), layer)
        return None


def _wkb_geometry(wkb: bytes | None) -> BaseGeometry | IssueError | None:
    if wkb is None:
        return None
    if len(wkb) > MAX_WKB_BYTES:
        return too_many_vertices()  # before GEOS spends time and memory reading it
    try:
        geometry = shapely.from_wkb(wkb)
        check_vertex_count(shapely.get_num_coordinates(geometry))
    except ShapelyError as error:
        return IssueError("invalid_geometry", reason_fr=str(error), reason_en=str(error))
    except IssueError as error:
        return error
    return geometry


def _read_layer(
    path: Path, layer: str, table: Table, source: SourceFile, log: IssueLog, max_rows: int | None
) -> Layer:
    name = f"{source.name} ({layer})"
    if max_rows is not None:
        # Counted from the layer's metadata, before any feature is read.
        count = pyogrio.read_info(path, layer=layer, force_feature_count=True)["features"]
        if too_many_rows(count, max_rows, name, log):
            return Layer(name, table, [], by_feature=True)
    meta, _fids, wkbs, field_data = pyogrio.raw.read(path, layer=layer)
    crs = _layer_crs(meta, name, log)
    if crs is None:
        return Layer(name, table, [], by_feature=True)
    log.count_features(name)
    fields = [str(field) for field in meta["fields"]]
    known = _known_columns(fields, table, name, log)
    geometries = Geometries(table, crs)
    values_of = dict(zip(fields, field_data, strict=True))
    count = len(wkbs) if wkbs is not None else len(field_data[0]) if field_data else 0
    records = []
    for index in range(count):
        properties = {field: values_of[field][index] for field in known}
        wkb = _wkb_geometry(wkbs[index]) if wkbs is not None else None
        records.append(_feature_record(index + 1, properties, wkb, known, geometries, name, log))
    return Layer(name, table, records, by_feature=True)


def read_geopackage(
    source: SourceFile, table: Table | None, log: IssueLog, max_rows: int | None = None
) -> list[Layer]:
    # GDAL reads GeoPackages from files named .gpkg (an in-memory copy draws warnings); its
    # warnings about a damaged file are left out, the report says it cannot be read.
    with (
        tempfile.TemporaryDirectory(prefix="foncier-gpkg-") as directory,
        warnings.catch_warnings(action="ignore", category=RuntimeWarning),
    ):
        path = Path(directory) / "import.gpkg"
        path.write_bytes(source.content)
        try:
            listed = [str(layer) for layer, _type in pyogrio.list_layers(path)]
            chosen = _chosen_layers(listed, table)
            if not chosen:
                layers = ", ".join(listed) or "aucune"
                log.add(IssueError("no_cnig_layer", layers=layers), source.name)
                return []
            return [
                _read_layer(path, layer, found, source, log, max_rows) for layer, found in chosen
            ]
        # A damaged text field is not UTF-8 (found by tests/fuzz): unreadable too, not a 500.
        except (DataSourceError, DataLayerError, UnicodeDecodeError) as error:
            reason = str(error).replace(str(path), source.basename)
            log.add(IssueError("unreadable_file", kind="GeoPackage", reason=reason), source.name)
            return []
