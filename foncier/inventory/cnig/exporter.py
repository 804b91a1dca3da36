"""Export of the inventory as CNIG files: site-eco.csv and terrain-eco.csv.

The files have exactly the standard's columns in its order (plus, on request, foncier's
extension columns at the end of terrain-eco.csv), ';'-separated like the CNIG examples, UTF-8,
CRLF line ends. Computed columns come from the site_summary view and the reference tables.
Owners (the Owner table) are personal data and never exported; the columns the standard says
are not to be published are left empty unless the caller asks for them, and then filled only
for the plots whose EPCI the person exporting may see them of.

The rows built here (Python values, geometries in Lambert-93) feed the other export formats
too (foncier.inventory.cnig.geojson_export, foncier.inventory.cnig.xlsx_export).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TextIO

from geoalchemy2.shape import to_shape
from pyproj import Transformer
from shapely import MultiPolygon, Polygon
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from foncier.core.db import get_or_raise
from foncier.core.permissions import Actor
from foncier.inventory.cnig.columns import (
    FROM_SITE_SUMMARY,
    SITE_COLUMNS,
    TERRAIN_COLUMNS,
    TERRAIN_EXTENSIONS,
    Column,
)
from foncier.inventory.cnig.geometry import rounded_to_centimetre
from foncier.inventory.cnig.values import format_cell
from foncier.inventory.queries import select_sites
from foncier.models import SRID, WGS84, Commune, Epci, Site, Terrain
from foncier.models.codelists import CONFIDENTIAL_TERRAIN_FIELDS
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


@dataclass(frozen=True)
class ExportScope:
    """What an export covers: the whole network, one EPCI (``epci``) or one park (``site``)."""

    epci: str | None = None
    site: str | None = None

    def check(self, session: Session) -> None:
        """Refuse an EPCI or a park that does not exist (an empty file would hide the typo)."""
        if self.epci:
            missing = f"unknown EPCI SIREN {self.epci}: not in the loaded territory"
            get_or_raise(session, Epci, self.epci, missing)
        if self.site:
            missing = f"unknown park {self.site}: no site has this site_id"
            get_or_raise(session, Site, self.site, missing)

    @property
    def slug(self) -> str:
        """A name for the exported files: « reseau », the EPCI's SIREN or the park's id."""
        return self.site or self.epci or "reseau"

    def sites(self, query: Select[Any]) -> Select[Any]:
        if self.epci:
            query = query.where(Site.site_epci_siren == self.epci)
        if self.site:
            query = query.where(Site.site_id == self.site)
        return query


# Whether the private sale fields of a plot of the EPCI (SIREN) are filled in.
PrivateFilter = Callable[[str], bool]


def private_fields(confidential: bool, actor: Actor | None = None) -> PrivateFilter:
    """Who sees the buyer, sale date and amount in an export: nobody unless ``confidential``
    is asked for; then the plots of the EPCIs ``actor`` may see them of (every plot for an
    operator's command, ``actor`` None)."""
    if not confidential:
        return lambda _siren: False
    if actor is None:
        return lambda _siren: True
    return actor.can_see_private


def geopoint(perimeter: Polygon | MultiPolygon) -> tuple[Decimal, Decimal]:
    """The centroid in WGS84 (lon, lat), as the standard's site_geompoint wants it."""
    centroid = perimeter.centroid
    lon, lat = TO_WGS84.transform(centroid.x, centroid.y)
    return Decimal(f"{lon:.{DEGREE_DECIMALS}f}"), Decimal(f"{lat:.{DEGREE_DECIMALS}f}")


def write_csv(stream: TextIO, columns: Sequence[Column], rows: Iterable[dict[str, Any]]) -> int:
    """Write a CNIG CSV file of ``columns`` to ``stream`` (opened with newline=""); the rows."""
    count = 0
    writer = csv.writer(stream, delimiter=DELIMITER, lineterminator="\r\n")
    writer.writerow([column.name for column in columns])
    for row in rows:
        writer.writerow([format_cell(column, row.get(column.name)) for column in columns])
        count += 1
    return count


def _write(path: Path, columns: Sequence[Column], rows: Iterable[dict[str, Any]]) -> int:
    with path.open("w", encoding="utf-8", newline="") as stream:
        return write_csv(stream, columns, rows)


def _values(obj: Site | Terrain, columns: Sequence[Column]) -> dict[str, Any]:
    return {column.name: getattr(obj, column.name) for column in columns if column.stored}


def _site_query(scope: ExportScope) -> Select[Any]:
    query = select_sites(Site, Epci.nom, Commune.nom, *CNIG_SUMMARY_COLUMNS.values()).order_by(
        Site.site_id
    )
    return scope.sites(query)


def site_rows(session: Session, scope: ExportScope) -> Iterable[dict[str, Any]]:
    """Every SITE-ECO column of the parks in ``scope``; geometries rounded to the centimetre."""
    for site, epci_nom, commune_nom, *figures in session.execute(_site_query(scope)):
        perimeter = rounded_to_centimetre(to_shape(site.site_geomsurf))
        yield {
            **_values(site, SITE_COLUMNS),
            **dict(zip(CNIG_SUMMARY_COLUMNS, figures, strict=True)),
            "site_epci_nom": epci_nom,
            "site_comm_nom": commune_nom,
            "site_geomsurf": perimeter,
            "site_geompoint": geopoint(perimeter),
        }


def terrain_rows(
    session: Session, columns: Sequence[Column], scope: ExportScope, private: PrivateFilter
) -> Iterable[dict[str, Any]]:
    """The ``columns`` of the plots in ``scope``; private fields blank unless ``private``."""
    query = scope.sites(select(Terrain, Site.site_epci_siren).join(Site).order_by(Terrain.terr_id))
    blanked = dict.fromkeys(CONFIDENTIAL_TERRAIN_FIELDS)
    for terrain, siren in session.execute(query):
        plot = rounded_to_centimetre(to_shape(terrain.terr_geomsurf))
        hidden = {} if private(siren) else blanked
        yield {**_values(terrain, columns), "terr_geomsurf": plot, **hidden}


def terrain_columns(with_extensions: bool) -> tuple[Column, ...]:
    return TERRAIN_COLUMNS + (TERRAIN_EXTENSIONS if with_extensions else ())


def export_cnig(
    session: Session,
    outdir: Path,
    *,
    epci: str | None = None,
    site: str | None = None,
    confidential: bool = False,
    with_extensions: bool = False,
    actor: Actor | None = None,
) -> ExportReport:
    """Write site-eco.csv and terrain-eco.csv into ``outdir`` (created if needed).

    ``epci``, ``site``: only that EPCI's or that park's sites and plots. ``confidential``: fill
    in the columns the standard says are not to be published (buyer, sale date and amount),
    left empty by default so that no export leaks them by mistake; with an ``actor``, only
    for the plots of the EPCIs that person may see them of. ``with_extensions``: append
    foncier's extension columns to terrain-eco.csv, so that importing the files back keeps
    every matching attribute.
    """
    scope = ExportScope(epci, site)
    scope.check(session)
    outdir.mkdir(parents=True, exist_ok=True)
    columns = terrain_columns(with_extensions)
    private = private_fields(confidential, actor)
    site_path, terrain_path = outdir / SITE_FILE, outdir / TERRAIN_FILE
    sites = _write(site_path, SITE_COLUMNS, site_rows(session, scope))
    terrains = _write(terrain_path, columns, terrain_rows(session, columns, scope, private))
    return ExportReport(site_path, terrain_path, sites, terrains)
