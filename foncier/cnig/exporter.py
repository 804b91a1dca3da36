"""Export of the inventory as CNIG files: site-eco.csv and terrain-eco.csv.

The files have exactly the standard's columns in its order (plus, on request, foncier's
extension columns at the end of terrain-eco.csv), ';'-separated like the CNIG examples, UTF-8,
CRLF line ends. Computed columns come from the site_summary view and the reference tables.
Owners (the Owner table) are personal data and never exported; the columns the standard says
are not to be published are left empty unless the caller asks for them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from geoalchemy2.shape import to_shape
from pyproj import Transformer
from shapely import MultiPolygon, Polygon
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from foncier.cnig.columns import (
    FROM_SITE_SUMMARY,
    SITE_COLUMNS,
    TERRAIN_COLUMNS,
    TERRAIN_EXTENSIONS,
    Column,
)
from foncier.cnig.geometry import rounded_to_centimetre
from foncier.cnig.values import format_cell
from foncier.codelists import CONFIDENTIAL_TERRAIN_FIELDS
from foncier.errors import NotFoundError
from foncier.inventory import select_sites
from foncier.models import SRID, WGS84, Commune, Epci, Site, Terrain
from foncier.models.views import site_summary

SITE_FILE: Final = "site-eco.csv"
TERRAIN_FILE: Final = "terrain-eco.csv"
DELIMITER: Final = ";"
TO_WGS84: Final = Transformer.from_crs(SRID, WGS84, always_xy=True)
# Six decimals of a degree: about ten centimetres, finer than any park's centroid needs.
DEGREE_DECIMALS: Final = 6

# Computed columns of SITE-ECO and the site_summary figures they are read from.
CNIG_SUMMARY_COLUMNS: Final = {
    cnig_name: site_summary.c[view_name] for cnig_name, view_name in FROM_SITE_SUMMARY.items()
}


@dataclass(frozen=True)
class ExportReport:
    site_path: Path
    terrain_path: Path
    sites: int
    terrains: int


def geopoint(perimeter: Polygon | MultiPolygon) -> tuple[Decimal, Decimal]:
    """The centroid in WGS84 (lon, lat), as the standard's site_geompoint wants it."""
    centroid = perimeter.centroid
    lon, lat = TO_WGS84.transform(centroid.x, centroid.y)
    return Decimal(f"{lon:.{DEGREE_DECIMALS}f}"), Decimal(f"{lat:.{DEGREE_DECIMALS}f}")


def _write(path: Path, columns: Sequence[Column], rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, delimiter=DELIMITER, lineterminator="\r\n")
        writer.writerow([column.name for column in columns])
        for row in rows:
            writer.writerow([format_cell(column, row.get(column.name)) for column in columns])
            count += 1
    return count


def _values(obj: Site | Terrain, columns: Sequence[Column]) -> dict[str, Any]:
    return {column.name: getattr(obj, column.name) for column in columns if column.stored}


def _site_query(epci: str | None) -> Select[Any]:
    query = select_sites(Site, Epci.nom, Commune.nom, *CNIG_SUMMARY_COLUMNS.values()).order_by(
        Site.site_id
    )
    return query.where(Site.site_epci_siren == epci) if epci else query


def _site_rows(session: Session, epci: str | None) -> Iterable[dict[str, Any]]:
    for site, epci_nom, commune_nom, *figures in session.execute(_site_query(epci)):
        perimeter = rounded_to_centimetre(to_shape(site.site_geomsurf))
        yield {
            **_values(site, SITE_COLUMNS),
            **dict(zip(CNIG_SUMMARY_COLUMNS, figures, strict=True)),
            "site_epci_nom": epci_nom,
            "site_comm_nom": commune_nom,
            "site_geomsurf": perimeter,
            "site_geompoint": geopoint(perimeter),
        }


def _terrain_rows(
    session: Session, columns: Sequence[Column], epci: str | None, confidential: bool
) -> Iterable[dict[str, Any]]:
    query = select(Terrain).join(Site).order_by(Terrain.terr_id)
    if epci:
        query = query.where(Site.site_epci_siren == epci)
    blanked = {} if confidential else dict.fromkeys(CONFIDENTIAL_TERRAIN_FIELDS)
    for terrain in session.scalars(query):
        plot = rounded_to_centimetre(to_shape(terrain.terr_geomsurf))
        yield {**_values(terrain, columns), "terr_geomsurf": plot, **blanked}


def export_cnig(
    session: Session,
    outdir: Path,
    *,
    epci: str | None = None,
    confidential: bool = False,
    with_extensions: bool = False,
) -> ExportReport:
    """Write site-eco.csv and terrain-eco.csv into ``outdir`` (created if needed).

    ``epci``: only that EPCI's sites and plots. ``confidential``: fill in the columns the
    standard says are not to be published (buyer, sale date and amount), left empty by default
    so that no export leaks them by mistake. ``with_extensions``: append foncier's extension
    columns to terrain-eco.csv, so that importing the files back keeps every matching attribute.
    """
    if epci and session.get(Epci, epci) is None:
        raise NotFoundError(f"unknown EPCI SIREN {epci}: not in the loaded territory")
    outdir.mkdir(parents=True, exist_ok=True)
    terrain_columns = TERRAIN_COLUMNS + (TERRAIN_EXTENSIONS if with_extensions else ())
    site_path, terrain_path = outdir / SITE_FILE, outdir / TERRAIN_FILE
    sites = _write(site_path, SITE_COLUMNS, _site_rows(session, epci))
    terrains = _write(
        terrain_path, terrain_columns, _terrain_rows(session, terrain_columns, epci, confidential)
    )
    return ExportReport(site_path, terrain_path, sites, terrains)
