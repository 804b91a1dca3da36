"""Helpers of the CNIG and constraint-zone tests: CSV files to edit, checksums, issue tuples."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from foncier.inventory.cnig.issues import Issue

STANDARD = "standards/cnig-sites-economiques"


@dataclass
class CsvTable:
    """A CNIG CSV file held as a header and rows of cells, to be edited and written back."""

    header: list[str]
    rows: list[dict[str, str]]

    @classmethod
    def read(cls, path: Path) -> CsvTable:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            reader = csv.DictReader(stream, delimiter=";")
            return cls(list(reader.fieldnames or []), list(reader))

    def text(self, delimiter: str = ";") -> str:
        stream = io.StringIO()
        writer = csv.DictWriter(stream, self.header, delimiter=delimiter, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(self.rows)
        return stream.getvalue()

    def write(self, path: Path, delimiter: str = ";", bom: bool = False) -> Path:
        path.write_text(("\ufeff" if bom else "") + self.text(delimiter), encoding="utf-8")
        return path

    def find(self, column: str, value: str) -> dict[str, str]:
        return next(row for row in self.rows if row[column] == value)

    def line_of(self, row: dict[str, str]) -> int:
        """The file line of a row: the header is line 1 (no cell holds a line break)."""
        return self.rows.index(row) + 2


def inventory_checksum(session: Session) -> str:
    """A digest of every site, plot and constraint zone row, to prove nothing was written."""
    return session.execute(
        text(
            "SELECT md5(concat("
            " (SELECT string_agg(s::text, '|' ORDER BY s.site_id) FROM site s),"
            " (SELECT string_agg(t::text, '|' ORDER BY t.terr_id) FROM terrain t),"
            " (SELECT string_agg(z::text, '|' ORDER BY z.id) FROM constraint_zone z)))"
        )
    ).scalar_one()


def located(issues: list[Issue]) -> list[tuple[str, int | None, str | None, str]]:
    """Issues as (file name, line, column, code), the parts tests pin down."""
    return [(Path(i.file).name, i.line, i.column, i.code) for i in issues]
