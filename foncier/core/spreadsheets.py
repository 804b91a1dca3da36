"""Spreadsheets people download: CSV for spreadsheets set to French, Excel sheets laid out
alike, and cells that never run as formulas. Every CSV and Excel download of the platform
(inventory, history, projects, ledger) is written through here.
"""

from __future__ import annotations

import _csv
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, TextIO

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

DATE_FORMAT: Final = "DD/MM/YYYY"
# What a spreadsheet reads as the start of a formula.
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
MIN_WIDTH: Final = 10
MAX_WIDTH: Final = 50
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


def workbook_of(sheets: Sequence[Sheet]) -> bytes:
    """The .xlsx file of ``sheets``, in that order, each laid out by ``fill_sheet``: every
    Excel download of the platform looks the same."""
    workbook = Workbook()
    for index, sheet in enumerate(sheets):
        fill_sheet(workbook.active if index == 0 else workbook.create_sheet(), sheet)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def spreadsheet_csv(out: TextIO, header: Sequence[str]) -> _csv.Writer:
    """A CSV writer on ``out`` for spreadsheets set to French (semicolons, CRLF, a byte-order
    mark), its header row written; every CSV download of the platform is written this way."""
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    out.write("\ufeff")
    writer.writerow(header)
    return writer


def inert_cell(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (a park named "=HYPERLINK(…)")."""
    return "'" + cell if cell[:1] in FORMULA_STARTS else cell
