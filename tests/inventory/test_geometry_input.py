"""Geometries given by a person: GeoJSON (WGS84 or declared Lambert-93), WKT and EWKT, read into
Lambert-93 shapes of the right type, refused with a French reason when unusable."""

from __future__ import annotations

import json

import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon, box, mapping

from foncier.inventory.geometry_input import (
    GeometryInputError,
    geojson_wgs84,
    geojson_wgs84_text,
    parse_geometry_text,
)

# A 100 m by 50 m plot in the Polaxis business park (Neuvy-le-Roi), in Lambert-93 metres.
PLOT = box(517_900, 6_719_740, 518_000, 6_719_790)
OTHER_PART = box(518_100, 6_719_740, 518_150, 6_719_790)
BOWTIE = Polygon(
    [(517_900, 6_719_740), (518_000, 6_719_790), (518_000, 6_719_740), (517_900, 6_719_790)]
)
TO_WGS84 = Transformer.from_crs(2154, 4326, always_xy=True)
POLYGON_EXPECTED = "un polygone (Polygon) est attendu pour un terrain"
UNCLOSED = (
    '{"type": "Polygon", "coordinates": [[[0.5, 47.5], [0.6, 47.5], [0.6, 47.6], [0.5, 47.6]]]}'
)
LAMBERT93_CRS = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}}


def in_degrees(geometry):
    return shapely.transform(geometry, TO_WGS84.transform, interleaved=False)


def geojson(geometry, **members):
    return json.dumps({**mapping(geometry), **members})


def refusal(text, kind="terrain"):
    with pytest.raises(GeometryInputError) as caught:
        parse_geometry_text(text, kind)
    return str(caught.value)


def test_wgs84_geojson_is_reprojected_to_lambert93_at_the_centimetre():
    plot = parse_geometry_text(geojson(in_degrees(PLOT)), "terrain")
    assert isinstance(plot, Polygon)
    assert plot.equals_exact(PLOT, tolerance=0.01)
    assert plot.area == pytest.approx(5000, abs=1)
    # Rounded to the centimetre, as stored and exported.
    assert all(round(x, 2) == x for x, _ in plot.exterior.coords)


@pytest.mark.parametrize(
    "wrap",
    [
        lambda g: {"type": "Feature", "properties": {"nom": "lot 3"}, "geometry": g},
        lambda g: {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {}, "geometry": g}],
        },
    ],
    ids=["feature", "collection-of-one"],
)
def test_feature_and_collection_of_one_feature_are_read(wrap):
    text = json.dumps(wrap(mapping(in_degrees(PLOT))))
    assert parse_geometry_text(text, "terrain").equals_exact(PLOT, tolerance=0.01)


def test_lambert93_declared_by_the_legacy_crs_member_is_kept():
    plot = parse_geometry_text(geojson(PLOT, crs=LAMBERT93_CRS), "terrain")
    assert plot.equals_exact(PLOT, tolerance=0)


@pytest.mark.parametrize(
    "text",
    [
        PLOT.wkt,
        f"SRID=2154;{PLOT.wkt}",
        f"srid=4326; {in_degrees(PLOT).wkt}",
        in_degrees(PLOT).wkt,
    ],
    ids=["wkt-metres", "ewkt-2154", "ewkt-4326", "wkt-degrees"],
)
def test_wkt_and_ewkt_in_metres_or_degrees(text):
    assert parse_geometry_text(text, "terrain").equals_exact(PLOT, tolerance=0.01)


def test_a_park_gets_a_multipolygon_and_a_plot_a_polygon():
    two_parts = MultiPolygon([PLOT, OTHER_PART])
    park = parse_geometry_text(PLOT.wkt, "site")
    assert isinstance(park, MultiPolygon) and park.equals(MultiPolygon([PLOT]))
    assert parse_geometry_text(two_parts.wkt, "site").equals(two_parts)
    # What GIS tools often export for one outline: a one-part MultiPolygon.
    assert parse_geometry_text(MultiPolygon([PLOT]).wkt, "terrain").equals(PLOT)
    assert refusal(two_parts.wkt) == (
        "Géométrie en 2 morceaux refusée : un polygone (Polygon) est attendu pour un terrain."
    )


def test_self_intersection_is_refused_with_the_point_where_it_lies():
    message = refusal(geojson(BOWTIE, crs=LAMBERT93_CRS))
    assert message == "Géométrie invalide : auto-intersection (517950 6719765)."
    # In degrees, the point is given in the coordinates typed.
    assert refusal(geojson(in_degrees(BOWTIE))).startswith(
        "Géométrie invalide : auto-intersection (0.5"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Aucune géométrie : dessinez-la sur la carte ou collez-la."),
        ("POLYGON EMPTY", "La géométrie est vide."),
        (
            "POINT (517900 6719740)",
            "Géométrie de type Point refusée : un polygone (Polygon) est attendu pour un terrain.",
        ),
        (
            '{"type": "LineString", "coordinates": [[0.5, 47.5], [0.6, 47.6]]}',
            f"Géométrie de type LineString refusée : {POLYGON_EXPECTED}.",
        ),
        (
            "bonjour",
            "Texte illisible : collez du GeoJSON ou du WKT, par exemple "
            "POLYGON((x1 y1, x2 y2, x3 y3, x1 y1)).",
        ),
        (
            '{"type": "Polygon", "coordinates": [[[0.5, 47.5]',
            "GeoJSON illisible (ligne 1, colonne 49) : vérifiez les accolades, crochets et "
            "virgules.",
        ),
        (
            '{"type": "FeatureCollection", "features": []}',
            "La FeatureCollection ne contient aucune entité : une seule est attendue.",
        ),
        (
            '{"type": "Feature", "properties": {}, "geometry": null}',
            "L’entité GeoJSON n’a pas de géométrie.",
        ),
        (
            UNCLOSED,
            "Contour non fermé : le dernier point doit répéter le premier.",
        ),
    ],
    ids=[
        "blank",
        "empty",
        "point",
        "line",
        "prose",
        "broken-json",
        "no-feature",
        "no-geometry",
        "unclosed",
    ],
)
def test_unusable_texts_are_refused_in_french(text, message):
    assert refusal(text) == message


def test_coordinates_outside_france_are_refused_with_a_hint_on_axis_order():
    swapped = shapely.transform(in_degrees(PLOT), lambda xy: xy[:, ::-1])
    assert refusal(geojson(swapped)) == (
        "La géométrie est hors de France métropolitaine. Les coordonnées sont-elles dans "
        "l’ordre longitude, latitude ?"
    )
    assert refusal("POLYGON((0 0, 1000 0, 1000 1000, 0 0))", "site") == (
        "La géométrie est hors de France métropolitaine."
    )


@pytest.mark.parametrize("text", [geojson(PLOT), f"SRID=4326;{PLOT.wkt}"], ids=["geojson", "ewkt"])
def test_metres_said_to_be_degrees_are_refused_saying_it_must_be_wgs84(text):
    assert refusal(text).startswith(
        "Coordonnées hors des bornes des degrés : le texte est lu en WGS84 (longitude, latitude)"
    )


def test_outline_thinner_than_a_centimetre_is_refused():
    sliver = "POLYGON((517900 6719745, 518000 6719745, 518000 6719745.001, 517900 6719745))"
    assert refusal(sliver) == "La géométrie est trop petite : moins d’un centimètre."


def test_unknown_srid_is_refused():
    assert refusal(f"SRID=999999;{PLOT.wkt}") == "Système de coordonnées SRID=999999 inconnu."


def test_unknown_crs_member_is_refused():
    crs = {"type": "name", "properties": {"name": "EPSG:999999"}}
    assert refusal(geojson(PLOT, crs=crs)).startswith(
        "Système de coordonnées (membre « crs ») inconnu"
    )


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="kind 'zone'"):
        parse_geometry_text(PLOT.wkt, "zone")  # type: ignore[arg-type]


def test_wgs84_output_round_trips_to_the_same_lambert93_geometry():
    degrees = geojson_wgs84(PLOT)
    assert degrees["type"] == "Polygon"
    lon, lat = degrees["coordinates"][0][0]
    assert 0.5 < lon < 0.6 and 47.5 < lat < 47.6
    assert parse_geometry_text(geojson_wgs84_text(PLOT), "terrain").equals_exact(
        PLOT, tolerance=0.02
    )
