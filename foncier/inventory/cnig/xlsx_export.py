"""Export of the inventory as an Excel workbook, for the people who work in spreadsheets.

One sheet per CNIG class, « Parcs » and « Terrains », with French headers (their unit in
brackets; the CNIG column name in the header cell's comment), numbers as numbers, dates as
dates, text as text (never a formula), the header row and the identifier column frozen,
filters and column widths set.
Geometries are left out (a spreadsheet cannot show them); each park's centroid is given as
longitude and latitude. Plots carry foncier's extension columns: they are what companies ask.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

from sqlalchemy.orm import Session

from foncier.core.permissions import Actor
from foncier.core.spreadsheets import Sheet, workbook_of
from foncier.inventory.cnig.columns import SITE_COLUMNS, Column, Kind
from foncier.inventory.cnig.exporter import (
    ExportScope,
    PrivateFilter,
    private_fields,
    site_rows,
    terrain_columns,
    terrain_rows,
)
from foncier.inventory.cnig.labels import header

SITES_SHEET: Final = "Parcs"
TERRAINS_SHEET: Final = "Terrains"
CENTROID_HEADERS: Final = ("Longitude du centroïde", "Latitude du centroïde")


def cell_value(column: Column, value: Any) -> Any:
    """A value as a spreadsheet cell: numbers and dates stay so, booleans read oui/non."""
    if value is None:
        return None
    if column.kind is Kind.BOOLEAN:
        return "oui" if value else "non"
    return value


def _table_columns(columns: Sequence[Column]) -> list[Column]:
    return [column for column in columns if column.kind not in (Kind.GEOMETRY, Kind.GEOPOINT)]


def _sites_sheet(rows: Iterable[dict[str, Any]]) -> Sheet:
    columns = _table_columns(SITE_COLUMNS)
    headers = [(header(column.name), column.name) for column in columns]
    headers += [(title, None) for title in CENTROID_HEADERS]
    values = [
        [cell_value(column, row.get(column.name)) for column in columns]
        + list(row["site_geompoint"])
        for row in rows
    ]
    return Sheet(SITES_SHEET, headers, values)


def _terrains_sheet(rows: Iterable[dict[str, Any]], columns: Sequence[Column]) -> Sheet:
    shown = _table_columns(columns)
    headers = [(header(column.name), column.name) for column in shown]
    values = [[cell_value(column, row.get(column.name)) for column in shown] for row in rows]
    return Sheet(TERRAINS_SHEET, headers, values)


def workbook_bytes(session: Session, scope: ExportScope, private: PrivateFilter) -> bytes:
    """The .xlsx file of the parks and plots in ``scope``."""
    columns = terrain_columns(with_extensions=True)
    sheets = (
        _sites_sheet(site_rows(session, scope)),
        _terrains_sheet(terrain_rows(session, columns, scope, private), columns),
    )
    return workbook_of(sheets)


def export_xlsx(
    session: Session,
    path: Path,
    *,
    epci: str | None = None,
    site: str | None = None,
    confidential: bool = False,
    actor: Actor | None = None,
) -> Path:
    """Write the workbook to ``path`` (options: export_cnig's)."""
    scope = ExportScope(epci, site)
    scope.check(session)
    path.write_bytes(workbook_bytes(session, scope, private_fields(confidential, actor)))
    return path
