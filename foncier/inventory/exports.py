"""Exports a person downloads: the inventory of the network, of one EPCI or of one park, as CNIG
CSV files (zipped), GeoJSON files (zipped) or an Excel workbook, built in memory.

Everyone in the network may export the inventory. The private sale fields (buyer, sale date
and amount) are filled in only when asked for, and then only for the plots whose EPCI the
person may see them of; owners are never exported.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from foncier.core.french import FRENCH_COLLATION
from foncier.core.permissions import Actor
from foncier.inventory.cnig.columns import SITE_COLUMNS
from foncier.inventory.cnig.exporter import (
    SITE_FILE,
    TERRAIN_FILE,
    ExportScope,
    private_fields,
    site_rows,
    terrain_columns,
    terrain_rows,
    write_csv,
)
from foncier.inventory.cnig.geojson_export import (
    SITE_GEOJSON,
    TERRAIN_GEOJSON,
    geojson_bytes,
    site_collection,
    terrain_collection,
)
from foncier.inventory.cnig.xlsx_export import workbook_bytes
from foncier.models import Epci, Site

ZIP_TYPE: Final = "application/zip"
XLSX_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ExportFormat(StrEnum):
    CSV = "csv"
    GEOJSON = "geojson"
    XLSX = "xlsx"

    @property
    def label(self) -> str:
        return FORMAT_LABELS[self]


FORMAT_LABELS: Final = {
    ExportFormat.CSV: "CNIG CSV",
    ExportFormat.GEOJSON: "GeoJSON",
    ExportFormat.XLSX: "Excel",
}


@dataclass(frozen=True)
class ExportFile:
    filename: str
    media_type: str
    content: bytes


@dataclass(frozen=True)
class ExportRequest:
    format: ExportFormat
    scope: ExportScope = field(default_factory=ExportScope)
    # Fill in the private sale fields the person may see (else they stay empty).
    confidential: bool = False
    # CSV and GeoJSON: add foncier's extension columns to the plots (Excel always has them).
    with_extensions: bool = False


def _zip(files: dict[str, bytes]) -> bytes:
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return stream.getvalue()


def _csv_files(session: Session, request: ExportRequest, actor: Actor) -> dict[str, bytes]:
    columns = terrain_columns(request.with_extensions)
    private = private_fields(request.confidential, actor)
    sites, terrains = io.StringIO(newline=""), io.StringIO(newline="")
    write_csv(sites, SITE_COLUMNS, site_rows(session, request.scope))
    write_csv(terrains, columns, terrain_rows(session, columns, request.scope, private))
    return {
        SITE_FILE: sites.getvalue().encode("utf-8"),
        TERRAIN_FILE: terrains.getvalue().encode("utf-8"),
    }


def _geojson_files(session: Session, request: ExportRequest, actor: Actor) -> dict[str, bytes]:
    private = private_fields(request.confidential, actor)
    terrains = terrain_collection(session, request.scope, private, request.with_extensions)
    return {
        SITE_GEOJSON: geojson_bytes(site_collection(session, request.scope)),
        TERRAIN_GEOJSON: geojson_bytes(terrains),
    }


def build_export(session: Session, actor: Actor, request: ExportRequest) -> ExportFile:
    """The file ``actor`` downloads; NotFoundError for an unknown EPCI or park."""
    request.scope.check(session)
    # "inventaire-reseau-2025-03-26.zip": where it comes from and when, once downloaded.
    stem = f"inventaire-{request.scope.slug}-{date.today().isoformat()}"
    if request.format is ExportFormat.XLSX:
        private = private_fields(request.confidential, actor)
        content = workbook_bytes(session, request.scope, private)
        return ExportFile(f"{stem}.xlsx", XLSX_TYPE, content)
    if request.format is ExportFormat.GEOJSON:
        files = _geojson_files(session, request, actor)
        return ExportFile(f"{stem}-geojson.zip", ZIP_TYPE, _zip(files))
    return ExportFile(f"{stem}-cnig.zip", ZIP_TYPE, _zip(_csv_files(session, request, actor)))


@dataclass(frozen=True)
class ParkChoice:
    site_id: str
    site_nom: str
    epci_nom: str


def list_parks(session: Session) -> list[ParkChoice]:
    """Every park with its EPCI, by EPCI then name (French order), to choose one to export."""
    rows = session.execute(
        select(Site.site_id, Site.site_nom, Epci.nom)
        .join(Epci, Epci.siren == Site.site_epci_siren)
        .order_by(Epci.nom.collate(FRENCH_COLLATION), Site.site_nom.collate(FRENCH_COLLATION))
    )
    return [ParkChoice(*row) for row in rows]
