"""What a CNIG file may look like and how much of it an import reads: any line ends (CR alone
as well), and a web import's bound on rows, checked before the rows are read."""

from __future__ import annotations

import re

import pytest
from cnig_helpers import CsvTable
from geo_helpers import feature_collection, write_geojson, write_geopackage_layer

from foncier.inventory.cnig import SourceFile, import_cnig
from foncier.inventory.cnig.csvfile import header_names

LINE_ENDS = {
    "LF": lambda lines: "\n".join(lines) + "\n",
    "CRLF": lambda lines: "\r\n".join(lines) + "\r\n",
    "CR": lambda lines: "\r".join(lines) + "\r",
    # Lines joined by turns with CRLF, LF and CR, the last line without any.
    "mixed": lambda lines: (
        "".join(line + ("\r\n", "\n", "\r")[index % 3] for index, line in enumerate(lines[:-1]))
        + lines[-1]
    ),
}


def with_line_ends(table: CsvTable, ends: str) -> bytes:
    return LINE_ENDS[ends](table.text().splitlines()).encode("utf-8")


@pytest.mark.parametrize("ends", list(LINE_ENDS))
def test_any_line_ends_read_the_same_records(session, terrains_table, ends):
    """docs/data-formats.md: line ends « any »; a file saved with CR alone was refused as of
    an unknown class, its header running to the end of the file."""
    content = with_line_ends(terrains_table, ends)
    assert "terr_id" in header_names(SourceFile("t.csv", content))

    report = import_cnig(session, files=[SourceFile("terrain-eco.csv", content)], dry_run=True)

    assert report.accepted
    assert report.terrains.unchanged == len(terrains_table.rows)
    assert [row.row for row in report.terrains.rows][:3] == [2, 3, 4]


@pytest.mark.parametrize("ends", list(LINE_ENDS))
def test_errors_keep_their_line_whatever_the_line_ends(refused, terrains_table, ends):
    terrains_table.rows[3]["terr_surf_brute"] = "beaucoup"  # line 5 of the file
    issues = refused(import_cnig, files=[SourceFile("t.csv", with_line_ends(terrains_table, ends))])
    assert [(issue.code, issue.line) for issue in issues] == [("bad_number", 5)]

    broken = with_line_ends(terrains_table, ends)
    sixth_line = [match.end() for match in re.finditer(rb"\r\n|\r|\n", broken)][4]
    not_utf8 = broken[:sixth_line] + b"\xe9" + broken[sixth_line:]
    issues = refused(import_cnig, files=[SourceFile("t.csv", not_utf8)])
    assert [(issue.code, issue.line) for issue in issues] == [("encoding", 6)]


def bounded_import(session, source, max_rows):
    return import_cnig(session, files=[source], dry_run=True, max_rows=max_rows)


@pytest.mark.parametrize("kind", ["CSV", "GeoJSON", "GeoPackage"])
def test_a_web_import_refuses_a_file_beyond_its_rows_before_reading_them(
    session, refused, terrains_table, tmp_path, kind
):
    rows = len(terrains_table.rows)
    if kind == "CSV":
        source = SourceFile("terrain-eco.csv", terrains_table.text().encode())
    elif kind == "GeoJSON":
        path = write_geojson(tmp_path / "t.geojson", feature_collection(terrains_table))
        source = SourceFile.of(path)
    else:
        path = write_geopackage_layer(tmp_path / "t.gpkg", "terrain_eco", terrains_table)
        source = SourceFile.of(path)

    assert bounded_import(session, source, max_rows=rows).accepted
    issues = refused(bounded_import, source, max_rows=rows - 1)

    assert [issue.code for issue in issues] == ["too_many_rows"]
    assert f"plus de {rows - 1} lignes ou entités" in issues[0].message_fr
    assert "« foncier import cnig »" in issues[0].message_fr
    assert import_cnig(session, files=[source], dry_run=True).accepted  # the CLI: no bound
