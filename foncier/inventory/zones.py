"""Import of constraint zones (flood risk, PPRT, Natura 2000...) from GeoJSON files.

A file is taken whole or not at all. Its coordinate reference system is the ``--crs``
override, else the legacy "crs" member of GeoJSON 2008 (e.g. urn:ogc:def:crs:EPSG::2154),
else WGS84 as RFC 7946 says; geometries are reprojected to Lambert-93. Importing a file again
replaces the zones of the same type that came from a file of the same name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from geoalchemy2.shape import from_shape
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely import MultiPolygon, Polygon
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from foncier.core.errors import ImportRejectedError
from foncier.core.formulas import looks_like_formula
from foncier.inventory.cnig.geojson import (
    LAMBERT93,
    PROPERTIES_NOT_OBJECT,
    check_storable,
    feature_list,
    read_document,
    source_crs,
)
from foncier.inventory.cnig.geometry import (
    POLYGONAL,
    as_multipolygon,
    check_degrees,
    check_lambert93,
    check_valid,
    geometry_from_geojson,
)
from foncier.inventory.cnig.issues import FileReport, IssueError, IssueLog, SourceFile
from foncier.models import SRID, ConstraintZone
from foncier.models.codelists import ZONE_TYPES


@dataclass(frozen=True)
class Zone:
    nom: str
    properties: dict[str, Any]
    geometry: MultiPolygon


@dataclass
class ZoneImportReport(FileReport):
    source: str = ""
    zone_type: str = ""
    created: int = 0
    replaced: int = 0

    def summary_lines(self) -> list[str]:
        return [
            f"{self.source}: {self.created} {self.zone_type} zone(s) imported, "
            f"{self.replaced} from an earlier import of this file replaced"
        ]


@dataclass(frozen=True)
class FeatureReader:
    """Turns the features of one file into zones in Lambert-93."""

    source: str
    crs: CRS
    # Whether the system is the --crs option's rather than the file's (or RFC 7946's WGS84).
    crs_from_option: bool
    name_field: str | None
    to_lambert93: Transformer

    def zone(self, feature: Any, index: int) -> Zone:
        if not isinstance(feature, dict) or feature.get("geometry") is None:
            raise IssueError("missing_geometry")
        geometry = geometry_from_geojson(feature["geometry"], POLYGONAL)
        if self.crs.is_geographic:
            self.check_degrees(geometry)
        # Checked before reprojection, so that the reported point is in the file's coordinates.
        check_valid(geometry)
        projected = shapely.transform(geometry, self.to_lambert93.transform, interleaved=False)
        check_lambert93(projected)
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            raise IssueError("bad_geojson", **PROPERTIES_NOT_OBJECT)
        # All that is stored from the file besides the geometry (the name is a property).
        check_storable(properties)
        return Zone(
            nom=self.name(properties, index),
            properties=properties,
            geometry=as_multipolygon(projected),
        )

    def check_degrees(self, geometry: Polygon | MultiPolygon) -> None:
        try:
            check_degrees(geometry, self.crs.name)
        except IssueError as error:
            # Giving --crs is the remedy for a file's system, not for the option's own.
            if self.crs_from_option:
                raise IssueError("not_degrees_option", **error.params) from None
            raise

    def name(self, properties: dict[str, Any], index: int) -> str:
        if self.name_field is None:
            return f"{self.source} #{index}"
        value = properties.get(self.name_field)
        if value is None or not str(value).strip():
            raise IssueError("missing_name", name_field=self.name_field)
        name = str(value).strip()
        if looks_like_formula(name):
            raise IssueError("formula_text")
        return name


def _crs(document: dict[str, Any], override: str | None, name: str, log: IssueLog) -> CRS | None:
    """The file's CRS, or None after reporting it unknown."""
    try:
        return source_crs(document, override)
    except CRSError:
        # The remedy depends on where the system came from: a wrong option is to be corrected,
        # an unknown "crs" member of the file can be overridden with the option.
        if override:
            log.add(IssueError("unknown_crs_option"), name, value=override)
        else:
            log.add(IssueError("unknown_crs"), name, value=json.dumps(document["crs"]))
        return None


def read_zones(
    source: SourceFile, name_field: str | None, crs_override: str | None, log: IssueLog
) -> list[Zone]:
    """The zones of a GeoJSON file in Lambert-93; problems go to ``log``."""
    document = read_document(source, log)
    features = feature_list(document, source.name, log) if document is not None else []
    if not features:
        return []
    crs = _crs(document, crs_override, source.name, log)
    if crs is None:
        return []
    to_lambert93 = Transformer.from_crs(crs, LAMBERT93, always_xy=True)
    reader = FeatureReader(source.basename, crs, bool(crs_override), name_field, to_lambert93)
    zones = []
    for index, feature in enumerate(features):
        try:
            zones.append(reader.zone(feature, index))
        except IssueError as error:
            log.add(error, source.name, feature=index)
    return zones


def import_zones(
    session: Session,
    source: Path | SourceFile,
    zone_type: str,
    *,
    name_field: str | None = None,
    crs: str | None = None,
    dry_run: bool = False,
) -> ZoneImportReport:
    """Import the zones of a GeoJSON file, replacing those an earlier import of it brought.

    Flushes, does not commit. Raises ImportRejectedError (nothing written) if any feature is
    wrong. ``name_field``: the property that names each zone (default: file name and index).
    """
    if zone_type not in ZONE_TYPES:
        raise ValueError(f"zone type {zone_type!r} is not one of {', '.join(ZONE_TYPES)}")
    source = SourceFile.of(source)
    # The file's name, not its path: a file re-imported from elsewhere replaces its zones.
    origin = source.basename
    log = IssueLog()
    zones = read_zones(source, name_field, crs, log)
    report = ZoneImportReport(
        dry_run=dry_run, issues=log.issues, source=origin, zone_type=zone_type
    )
    if log:
        raise ImportRejectedError(report)
    same_origin = (ConstraintZone.source == origin, ConstraintZone.zone_type == zone_type)
    report.replaced = session.scalar(select(func.count()).where(*same_origin)) or 0
    report.created = len(zones)
    if dry_run:
        return report
    session.execute(delete(ConstraintZone).where(*same_origin))
    session.add_all(
        ConstraintZone(
            zone_type=zone_type,
            nom=zone.nom,
            source=origin,
            properties=zone.properties,
            geom=from_shape(zone.geometry, srid=SRID),
        )
        for zone in zones
    )
    session.flush()
    return report
