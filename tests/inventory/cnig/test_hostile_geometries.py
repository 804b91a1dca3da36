"""Geometries and files beyond the bounds of parsing (issue 11's probe): each is one located
issue of the import report, in French and English, and nothing is written."""

from __future__ import annotations

import json

import pytest
from cnig_helpers import located
from geo_helpers import feature_collection, geometry_of, write_geopackage_layer
from hostile_inputs import (
    DEEP_GEOJSON,
    LONG_NUMBER_GEOJSON,
    TOO_DEEP,
    TOO_MANY_DIGITS,
    TOO_MANY_VERTICES,
    ten_million_brackets,
    too_many_vertices,
)
from shapely import Point
from shapely.geometry import mapping

from foncier.inventory.cadastre import import_cadastre
from foncier.inventory.cnig import SourceFile, import_cnig
from foncier.inventory.cnig.tables import TERRAINS
from foncier.inventory.zones import import_zones

POLAXIS = "37167_SITE-ECO_00005"


@pytest.fixture
def polaxis_plots(terrains_table):
    terrains_table.rows = [row for row in terrains_table.rows if row["site_id"] == POLAXIS]
    return terrains_table


@pytest.mark.parametrize(
    ("cell", "french"), [(DEEP_GEOJSON, TOO_DEEP), (LONG_NUMBER_GEOJSON, TOO_MANY_DIGITS)]
)
def test_a_csv_geometry_cell_beyond_the_bounds_is_a_line_issue(
    refused, polaxis_plots, tmp_path, cell, french
):
    row = polaxis_plots.rows[1]
    row["terr_geomsurf"] = cell
    issues = refused(import_cnig, terrains=polaxis_plots.write(tmp_path / "terrain-eco.csv"))
    assert located(issues) == [("terrain-eco.csv", 3, "terr_geomsurf", "beyond_limits")]
    assert french in issues[0].message_fr
    assert issues[0].message_en.startswith(("The GeoJSON nests", "A number of the GeoJSON"))


def test_a_csv_plot_with_too_many_vertices_is_a_line_issue(refused, polaxis_plots, tmp_path):
    row = polaxis_plots.rows[0]
    disc = too_many_vertices(geometry_of(row, TERRAINS).centroid)
    row["terr_geomsurf"] = json.dumps(mapping(disc))
    issues = refused(import_cnig, terrains=polaxis_plots.write(tmp_path / "terrain-eco.csv"))
    assert located(issues) == [("terrain-eco.csv", 2, "terr_geomsurf", "too_many_vertices")]
    assert issues[0].message_fr.startswith(TOO_MANY_VERTICES)


def test_a_geojson_file_of_ten_million_brackets_is_refused_whole(refused):
    source = SourceFile("terrains.geojson", ten_million_brackets())
    issues = refused(import_cnig, terrains=source)
    assert [(issue.file, issue.code) for issue in issues] == [("terrains.geojson", "beyond_limits")]
    assert TOO_DEEP in issues[0].message_fr


def test_a_geojson_file_with_a_5001_digit_coordinate_is_refused_whole(refused, polaxis_plots):
    document = json.dumps(feature_collection(polaxis_plots))
    hostile = document.replace('"coordinates": [[[', '"coordinates": [[[' + "1" * 5001 + "0", 1)
    issues = refused(import_cnig, terrains=SourceFile("t.geojson", hostile.encode()))
    assert [issue.code for issue in issues] == ["beyond_limits"]
    assert TOO_MANY_DIGITS in issues[0].message_fr


def test_a_geojson_feature_with_too_many_vertices_is_refused_by_its_entity(refused, polaxis_plots):
    document = feature_collection(polaxis_plots, "EPSG:2154")
    centre = geometry_of(polaxis_plots.rows[1], TERRAINS).centroid
    document["features"][1]["geometry"] = mapping(too_many_vertices(centre))
    issues = refused(import_cnig, terrains=SourceFile("t.geojson", json.dumps(document).encode()))
    assert [(issue.entity, issue.column, issue.code) for issue in issues] == [
        (2, "terr_geomsurf", "too_many_vertices")
    ]


def test_a_geopackage_plot_with_too_many_vertices_is_refused_by_its_entity(
    refused, polaxis_plots, tmp_path
):
    shapes = [geometry_of(row, TERRAINS) for row in polaxis_plots.rows]
    shapes[0] = too_many_vertices(shapes[0].centroid)
    path = write_geopackage_layer(
        tmp_path / "t.gpkg", "terrain_eco", polaxis_plots, geometries=shapes
    )
    issues = refused(import_cnig, terrains=path)
    assert [(issue.entity, issue.column, issue.code) for issue in issues] == [
        (1, "terr_geomsurf", "too_many_vertices")
    ]


@pytest.mark.parametrize("importer", ["zones", "cadastre"])
def test_zone_and_cadastre_files_of_ten_million_brackets_are_refused(refused, importer):
    """The other readers of GeoJSON files share the bounded reader."""
    source = SourceFile("hostile.geojson", ten_million_brackets())
    if importer == "zones":
        issues = refused(import_zones, source, "inondation")
    else:
        issues = refused(import_cadastre, [source])
    assert [issue.code for issue in issues] == ["beyond_limits"]
    assert TOO_DEEP in issues[0].message_fr


def test_a_cadastre_parcel_with_too_many_vertices_is_refused(refused):
    parcel = too_many_vertices(Point(0.6515, 47.5625))  # counted before any other check
    document = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "37167000ZM0001",
                "properties": {"id": "37167000ZM0001", "commune": "37167", "prefixe": "000",
                               "section": "ZM", "numero": "0001", "contenance": 5000},
                "geometry": mapping(parcel),
            }
        ],
    }  # fmt: skip
    issues = refused(import_cadastre, [SourceFile("c.json", json.dumps(document).encode())])
    assert [issue.code for issue in issues] == ["too_many_vertices"]
