"""Fuzzing the readers alone (no web, no write): whatever the bytes or the text, a file is read
into layers or reported, a geometry text gives a geometry or a French refusal, and the bounded
JSON reader refuses exactly what lies beyond its bounds. Examples are derandomised (fuzz)."""

from __future__ import annotations

import json

from fuzz_strategies import (
    GEOMETRY_TEXTS,
    JSON_VALUES,
    csv_files,
    fuzz,
    geojson_files,
    geopackage,
    geopackage_files,
)
from hypothesis import example, given
from hypothesis import strategies as st

from foncier.core.bounded_text import (
    MAX_DEPTH,
    MAX_NUMBER_DIGITS,
    TextLimitError,
    TextLimits,
    load_json,
)
from foncier.inventory.cnig.geometry import POLYGONAL, geometry_from_text
from foncier.inventory.cnig.issues import IssueError, IssueLog, SourceFile
from foncier.inventory.cnig.sources import read_layers
from foncier.inventory.cnig.tables import TERRAINS
from foncier.inventory.geometry_input import GeometryInputError, parse_geometry_text

LIMITS = TextLimits("JSON", 2**20)


@fuzz(100)
@given(
    depth=st.integers(0, 2 * MAX_DEPTH),
    digits=st.integers(1, 2 * MAX_NUMBER_DIGITS),
    brackets=st.lists(st.sampled_from("[{"), min_size=2 * MAX_DEPTH, max_size=2 * MAX_DEPTH),
    decoy=st.text(alphabet='[]{}()0123456789"\\', max_size=30),
)
# Just within and just beyond each bound, whatever the draws.
@example(depth=MAX_DEPTH - 1, digits=MAX_NUMBER_DIGITS - 1, brackets=["{"] * 128, decoy="[[")
@example(depth=MAX_DEPTH, digits=1, brackets=["["] * 128, decoy="")
@example(depth=0, digits=MAX_NUMBER_DIGITS, brackets=["["] * 128, decoy="9" * 50)
def test_bounded_json_refuses_exactly_what_is_beyond_its_bounds(depth, digits, brackets, decoy):
    """Nesting of mixed brackets, a number of ``digits`` digits and an exponent, and a string
    full of brackets, digits and escapes, which counts for nothing."""
    opening = "".join('{"k":' if kind == "{" else "[" for kind in brackets[:depth])
    closing = "".join("}" if kind == "{" else "]" for kind in reversed(brackets[:depth]))
    number = "-" + "7" * digits + "e-3"  # digits + 1 digits, with the exponent's
    text = f"{opening}[{json.dumps(decoy)}, {number}]{closing}"
    beyond = depth + 1 > MAX_DEPTH or digits + 1 > MAX_NUMBER_DIGITS
    try:
        assert load_json(text, LIMITS) == json.loads(text) and not beyond
    except TextLimitError:
        assert beyond


@fuzz(100)
@given(JSON_VALUES)
def test_bounded_json_reads_what_json_reads(value):
    text = json.dumps(value)
    assert load_json(text, LIMITS) == json.loads(text)


@fuzz(100)
@given(text=GEOMETRY_TEXTS, kind=st.sampled_from(["terrain", "site"]))
def test_a_geometry_text_is_read_or_refused_in_french(text, kind):
    try:
        geometry = parse_geometry_text(text, kind)
    except GeometryInputError as error:
        assert str(error) and "'" not in str(error)
    else:
        assert geometry.is_valid and not geometry.is_empty
    try:
        geometry_from_text(text, POLYGONAL)
    except IssueError as error:
        assert error.french


def read(name: str, content: bytes) -> IssueLog:
    """Read a file as an import does (no database): layers, or issues in the log."""
    log = IssueLog()
    layers = read_layers(SourceFile(name, content), TERRAINS, log)
    assert layers or log
    return log


def test_the_files_the_fuzzers_damage_read_cleanly_as_they_are(polaxis_plots):
    """Else the damage would only ever meet the first check."""
    rows = polaxis_plots.rows
    for name, content in (
        ("terrain-eco.csv", polaxis_plots.csv_text.encode()),
        ("terrains.geojson", json.dumps(polaxis_plots.feature_collection()).encode()),
        ("terrains.gpkg", geopackage("terrain_eco", rows, "terr_geomsurf", polaxis_plots.blobs())),
    ):
        log = IssueLog()
        [layer] = read_layers(SourceFile(name, content), TERRAINS, log)
        assert not log.issues, (name, log.issues[:1])
        assert [record.cells["terr_id"] for record in layer.records] == [
            row["terr_id"] for row in rows
        ]
        assert all(record.cells["terr_geomsurf"] for record in layer.records)


@fuzz(40)
@given(data=st.data())
def test_a_damaged_csv_file_is_read_or_reported(polaxis_plots, data):
    read("terrain-eco.csv", data.draw(csv_files(polaxis_plots.csv_text)))


@fuzz(40)
@given(data=st.data())
def test_a_damaged_geojson_file_is_read_or_reported(polaxis_plots, data):
    read("terrains.geojson", data.draw(geojson_files(polaxis_plots.feature_collection())))


@fuzz(25)
@given(data=st.data())
def test_a_damaged_geopackage_is_read_or_reported(polaxis_plots, data):
    rows, blobs = polaxis_plots.rows, polaxis_plots.blobs()
    content = data.draw(geopackage_files("terrain_eco", rows, "terr_geomsurf", blobs))
    read("terrains.gpkg", content)


def test_a_geopackage_text_that_is_not_utf8_is_reported(polaxis_plots):
    """Found by this suite: GDAL's reader raised UnicodeDecodeError, a 500 on the web."""
    content = geopackage("terrain_eco", polaxis_plots.rows, "terr_geomsurf", polaxis_plots.blobs())
    assert b"viabilis\xc3\xa9" in content
    log = read("terrains.gpkg", content.replace(b"viabilis\xc3\xa9", b"viabilis\xc3(", 1))
    assert [issue.code for issue in log.issues] == ["unreadable_file"]
    assert log.issues[0].message_fr.startswith("Fichier illisible comme GeoPackage : ")
