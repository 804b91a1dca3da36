"""Export of the inventory as an Excel workbook, for the people who work in spreadsheets.

One sheet per CNIG class, « Parcs » and « Terrains », with French headers (their unit in
brackets; the CNIG column name in the header cell's comment), numbers as numbers, dates as
dates, text as text (never a formula), the header row and the identifier column frozen,
filters and column widths set.
Geometries are left out (a spreadsheet cannot show them); each park's centroid is given as
longitude and latitude. Plots carry foncier's extension columns: they are what companies ask.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from foncier.core.permissions import Actor
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
from foncier.inventory.history import FORMULA_STARTS

SITES_SHEET: Final = "Parcs"
TERRAINS_SHEET: Final = "Terrains"
CENTROID_HEADERS: Final = ("Longitude du centroïde", "Latitude du centroïde")
DATE_FORMAT: Final = "DD/MM/YYYY"
MIN_WIDTH, MAX_WIDTH = 10, 50
# Identifiers stay in view while scrolling right, headers while scrolling down.
FROZEN_CELL: Final = "B2"
HEADER_FONT: Final = Font(bold=True)
HEADER_FILL: Final = PatternFill("solid", fgColor="DDE6F0")


@dataclass(frozen=True)
class Sheet:
    """A sheet: its headers (with the CNIG names for the comments) and rows of cell values."""

    title: str
    headers: list[tuple[str, str | None]]
    rows: list[list[Any]]


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


def _as_cell(worksheet: Worksheet, value: Any) -> Any:
    """Text as a text cell. openpyxl writes a string starting with "=" as a live formula (a
    park named =HYPERLINK(…) would become a link) and "#N/A" as an error; the quote prefix
    keeps such text as text when the cell is edited in the spreadsheet."""
    if not isinstance(value, str):
        return value
    cell = Cell(worksheet, value=value)
    cell.data_type = "s"
    if value[:1] in FORMULA_STARTS:
        cell.quotePrefix = True
    return cell


def _width(value: Any) -> int:
    if value is None:
        return 0
    return 10 if isinstance(value, date) else len(str(value))


def fill_sheet(worksheet: Worksheet, sheet: Sheet) -> None:
    """Lay ``sheet`` out on ``worksheet``: bold headers, widths, dates, frozen header, filters."""
    worksheet.title = sheet.title
    worksheet.append([title for title, _name in sheet.headers])
    for cell, (_title, name) in zip(worksheet[1], sheet.headers, strict=True):
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if name:
            cell.comment = Comment(f"Colonne CNIG : {name}", "foncier")
    for row in sheet.rows:
        worksheet.append([_as_cell(worksheet, value) for value in row])
    for index, (title, _name) in enumerate(sheet.headers, 1):
        values = [row[index - 1] for row in sheet.rows]
        widest = max([len(title) // 2, *map(_width, values)], default=0)
        letter = get_column_letter(index)
        worksheet.column_dimensions[letter].width = min(max(widest + 2, MIN_WIDTH), MAX_WIDTH)
        if any(isinstance(value, date) for value in values):
            for cell in worksheet[letter][1:]:
                cell.number_format = DATE_FORMAT
    worksheet.freeze_panes = FROZEN_CELL
    worksheet.auto_filter.ref = worksheet.dimensions


def workbook_bytes(session: Session, scope: ExportScope, private: PrivateFilter) -> bytes:
    """The .xlsx file of the parks and plots in ``scope``."""
    columns = terrain_columns(with_extensions=True)
    sheets = (
        _sites_sheet(site_rows(session, scope)),
        _terrains_sheet(terrain_rows(session, columns, scope, private), columns),
    )
    return workbook_of(sheets)


def workbook_of(sheets: Sequence[Sheet]) -> bytes:
    """The .xlsx file of ``sheets``, in that order, each laid out by ``fill_sheet``: every
    Excel download of the platform looks the same."""
    workbook = Workbook()
    for index, sheet in enumerate(sheets):
        fill_sheet(workbook.active if index == 0 else workbook.create_sheet(), sheet)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


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
