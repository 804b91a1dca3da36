"""Hypothesis strategies of hostile inputs: import files (CSV, GeoJSON, GeoPackage) damaged the
ways files get damaged, geometry texts and JSON bodies, each built from a valid start so that
the damage reaches past the first check.

Every fuzz test runs with ``fuzz(examples)``: derandomised (the same examples on every run, so
CI is reproducible, and no example database), few examples, the whole suite within seconds.
"""

from __future__ import annotations

import json
import sqlite3
import struct
import tempfile
from pathlib import Path
from typing import Any, Final

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from pyproj import CRS


def fuzz(examples: int) -> settings:
    return settings(
        derandomize=True,
        database=None,
        deadline=None,
        max_examples=examples,
        # The web tests' client and session are per test, shared by its examples on purpose.
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# What the probe and common mistakes put into files: deep brackets, long numbers, quotes, NUL,
# delimiters, line breaks, a lone surrogate's UTF-8 bytes, a BOM in the middle.
HOSTILE_FRAGMENTS: Final = [
    b"[" * 5_000,
    b"(" * 5_000,
    b"{" * 200,
    b"9" * 5_001,
    b"1e400",
    b"-0",
    b"NaN",
    b'"',
    b"\x00",
    b";",
    b",",
    b"\r",
    b"\n",
    b"\r\n",
    b"\xed\xa0\x80",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"=HYPERLINK(1)",
    "é".encode("latin-1"),
]
ENCODINGS: Final = ["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]


# --- damage to bytes -------------------------------------------------------------------------


@st.composite
def damaged(draw: st.DrawFn, content: bytes) -> bytes:
    """``content`` truncated, with bytes flipped, or with hostile fragments inserted; a few
    of these, in any order."""
    for _ in range(draw(st.integers(1, 3))):
        size = len(content)
        at = draw(st.integers(0, size))
        damage = draw(st.sampled_from(["truncate", "flip", "insert", "delete"]))
        if damage == "truncate":
            content = content[:at]
        elif damage == "flip" and size:
            at = min(at, size - 1)
            content = (
                content[:at] + bytes([content[at] ^ draw(st.integers(1, 255))]) + content[at + 1 :]
            )
        elif damage == "insert":
            content = content[:at] + draw(st.sampled_from(HOSTILE_FRAGMENTS)) + content[at:]
        else:
            content = content[:at] + content[at + draw(st.integers(1, 64)) :]
    return content


# --- CSV -------------------------------------------------------------------------------------


@st.composite
def csv_files(draw: st.DrawFn, text: str) -> bytes:
    """A CNIG CSV text re-encoded, given another BOM, delimiter or line ending, then maybe
    damaged."""
    delimiter = draw(st.sampled_from([";", ",", "\t", "|"]))
    if delimiter != ";":
        text = text.replace(";", delimiter)
    ending = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    text = text.replace("\r\n", ending)
    content = text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")
    return draw(damaged(content)) if draw(st.booleans()) else content


# --- GeoJSON ---------------------------------------------------------------------------------

JSON_SCALARS: Final = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON_VALUES: Final = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def nested(depth: int, inner: str = "0") -> str:
    return "[" * depth + inner + "]" * depth


@st.composite
def geojson_files(draw: st.DrawFn, document: dict[str, Any]) -> bytes:
    """A CNIG FeatureCollection with one part replaced by a wrong type, deep nesting or a long
    number, then maybe truncated or damaged."""
    document = json.loads(json.dumps(document))
    features = document["features"]
    feature = features[draw(st.integers(0, len(features) - 1))]
    change = draw(st.sampled_from(["value", "geometry", "property", "nesting", "number", "none"]))
    text = None
    if change == "value":
        key = draw(st.sampled_from(["type", "features", "crs", "geometry", "properties"]))
        target = document if key in ("type", "features", "crs") else feature
        target[key] = draw(JSON_VALUES)
    elif change == "geometry":
        feature["geometry"] = {
            "type": draw(st.sampled_from(["Polygon", "MultiPolygon", "Point", "LineString", ""])),
            "coordinates": draw(JSON_VALUES),
        }
    elif change == "property":
        name = draw(st.sampled_from([*feature["properties"], "inconnue"]))
        feature["properties"][name] = draw(JSON_VALUES)
    elif change in ("nesting", "number"):
        inner = "9" * draw(st.integers(1, 6_000)) if change == "number" else "0"
        depth = draw(st.integers(1, 3_000)) if change == "nesting" else 3
        text = json.dumps(document).replace(
            '"coordinates": [', f'"coordinates": [{nested(depth, inner)}, ', 1
        )
    content = (text or json.dumps(document)).encode()
    return draw(damaged(content)) if draw(st.booleans()) else content


# --- GeoPackage, written with sqlite3 as the standard lays it out ------------------------------

GPKG_APPLICATION_ID: Final = 0x47504B47  # "GPKG"
GPKG_VERSION: Final = 10300


def gpkg_blob(wkb: bytes, srs_id: int = 2154) -> bytes:
    """A GeoPackage geometry: "GP", version 0, flags (little-endian, no envelope), SRS, WKB."""
    return b"GP" + bytes([0, 0b0000_0001]) + struct.pack("<i", srs_id) + wkb


def geopackage(
    layer: str, rows: list[dict[str, str]], geometry_column: str, blobs: list[bytes]
) -> bytes:
    """A GeoPackage of one layer whose fields are the rows' text cells (the geometry column
    aside) and whose geometries are ``blobs``, in Lambert-93."""
    names = [name for name in rows[0] if name != geometry_column]
    with tempfile.TemporaryDirectory(prefix="fuzz-gpkg-") as directory:
        path = Path(directory) / "fuzz.gpkg"
        with sqlite3.connect(path) as db:
            db.execute(f"PRAGMA application_id = {GPKG_APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {GPKG_VERSION}")
            db.executescript(GPKG_TABLES)
            db.execute(
                "INSERT INTO gpkg_spatial_ref_sys VALUES ('RGF93 v1 / Lambert-93', 2154, 'EPSG',"
                " 2154, ?, NULL)",
                (CRS.from_epsg(2154).to_wkt("WKT1_GDAL"),),
            )
            db.execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
                "VALUES (?, 'features', ?, 2154)",
                (layer, layer),
            )
            db.execute(
                "INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', 'MULTIPOLYGON', 2154, 0, 0)",
                (layer,),
            )
            fields = ", ".join(f'"{name}" TEXT' for name in names)
            db.execute(f'CREATE TABLE "{layer}" (fid INTEGER PRIMARY KEY, geom BLOB, {fields})')
            marks = ", ".join("?" for _ in range(len(names) + 1))
            columns = ", ".join(f'"{name}"' for name in names)
            db.executemany(
                f'INSERT INTO "{layer}" (geom, {columns}) VALUES ({marks})',
                [
                    (blob, *(row[name] for name in names))
                    for row, blob in zip(rows, blobs, strict=True)
                ],
            )
        return path.read_bytes()


GPKG_TABLES: Final = """
CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
  organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
  definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
  identifier TEXT UNIQUE, description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER);
CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL,
  m TINYINT NOT NULL, PRIMARY KEY (table_name, column_name));
"""


@st.composite
def geopackage_files(
    draw: st.DrawFn,
    layer: str,
    rows: list[dict[str, str]],
    geometry_column: str,
    blobs: list[bytes],
) -> bytes:
    """The rows as a GeoPackage whose geometry blobs, or whose file bytes, are damaged."""
    blobs = list(blobs)
    if draw(st.booleans()):
        index = draw(st.integers(0, len(blobs) - 1))
        blobs[index] = draw(damaged(blobs[index]))
    content = geopackage(layer, rows, geometry_column, blobs)
    return draw(damaged(content)) if draw(st.booleans()) else content


# --- texts of a geometry field and bodies of the matching API --------------------------------

NUMBERS: Final = st.sampled_from(
    ["0", "-1.5", "517950.25", "47.39", "1e400", "9" * 5_001, "NaN", ""]
)


@st.composite
def wkt_texts(draw: st.DrawFn) -> str:
    keyword = draw(
        st.sampled_from(
            [
                "POLYGON",
                "MULTIPOLYGON",
                "POINT",
                "GEOMETRYCOLLECTION",
                "SRID=2154;POLYGON",
                "SRID=99999999999;POLYGON",
                "",
            ]
        )
    )
    positions = ", ".join(
        f"{draw(NUMBERS)} {draw(NUMBERS)}" for _ in range(draw(st.integers(0, 6)))
    )
    opening, closing = draw(st.integers(0, 200)), draw(st.integers(0, 200))
    return f"{keyword}{'(' * opening}{positions}{')' * closing}"


@st.composite
def geojson_texts(draw: st.DrawFn) -> str:
    kind = draw(
        st.sampled_from(["Polygon", "MultiPolygon", "Feature", "FeatureCollection", "Point", 7])
    )
    document: dict[str, Any] = {"type": kind, "coordinates": draw(JSON_VALUES)}
    if draw(st.booleans()):
        document["crs"] = draw(JSON_VALUES)
    if kind == "Feature":
        document["geometry"] = draw(JSON_VALUES)
    if kind == "FeatureCollection":
        document["features"] = draw(st.lists(JSON_VALUES, max_size=3))
    return json.dumps(document)


VALID_PLOT_GEOJSON: Final = json.dumps(
    {
        "type": "Polygon",
        "coordinates": [[[0.651, 47.562], [0.652, 47.562], [0.652, 47.563], [0.651, 47.562]]],
    }
)
GEOMETRY_TEXTS: Final = st.one_of(
    wkt_texts(),
    geojson_texts(),
    st.text(max_size=40),
    damaged(VALID_PLOT_GEOJSON.encode()).map(lambda content: content.decode("utf-8", "replace")),
)

NEEDS_KEYS: Final = [
    "surface_min_ha",
    "surface_max_ha",
    "near",
    "weights",
    "networks_required",
    "needed_by",
    "label",
]


@st.composite
def needs_bodies(draw: st.DrawFn) -> bytes:
    """JSON bodies around the needs: typed values gone wrong, deep nesting, long numbers,
    truncation and byte damage."""
    needs = {"surface_min_ha": 1}
    for key in draw(st.lists(st.sampled_from(NEEDS_KEYS), max_size=3)):
        needs[key] = draw(JSON_VALUES)
    text = json.dumps(needs)
    change = draw(st.sampled_from(["none", "nesting", "number", "damage"]))
    if change == "nesting":
        text = text.replace("1", nested(draw(st.integers(1, 20_000))), 1)
    elif change == "number":
        text = text.replace("1", "9" * draw(st.integers(1, 6_000)), 1)
    content = text.encode()
    return draw(damaged(content)) if change == "damage" else content
