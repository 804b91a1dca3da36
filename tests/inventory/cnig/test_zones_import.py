"""Constraint zones from GeoJSON: any CRS reprojected to Lambert-93, all or nothing, replaced
on re-import."""

from __future__ import annotations

import json

import pytest
import shapely
from cnig_helpers import inventory_checksum
from geoalchemy2.shape import to_shape
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box, mapping
from sqlalchemy import func, select

from foncier.inventory.zones import import_zones
from foncier.models import ConstraintZone

# One square kilometre by the Loire, west of Tours, in Lambert-93 metres.
SQUARE = box(515_000, 6_700_000, 516_000, 6_701_000)
BOWTIE = Polygon(
    [(515_000, 6_700_000), (516_000, 6_701_000), (516_000, 6_700_000), (515_000, 6_701_000)]
)
LAMBERT93_CRS = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}}
TO_WGS84 = Transformer.from_crs(2154, 4326, always_xy=True)


def feature(geometry, **properties):
    return {"type": "Feature", "properties": properties, "geometry": mapping(geometry)}


def geojson_file(path, *features, crs=None):
    document = {"type": "FeatureCollection", "features": list(features)}
    if crs is not None:
        document["crs"] = crs
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def zones_from(session, source):
    return session.scalars(
        select(ConstraintZone).where(ConstraintZone.source == source).order_by(ConstraintZone.id)
    ).all()


def test_wgs84_file_is_reprojected_to_lambert93(session, tmp_path):
    in_degrees = shapely.transform(SQUARE, TO_WGS84.transform, interleaved=False)
    path = geojson_file(tmp_path / "ppri.geojson", feature(in_degrees, nom="Val de Loire"))
    report = import_zones(session, path, "inondation", name_field="nom")
    assert (report.created, report.replaced) == (1, 0)
    (zone,) = zones_from(session, "ppri.geojson")
    stored = to_shape(zone.geom)
    assert stored.equals_exact(MultiPolygon([SQUARE]), tolerance=0.01)
    area = session.scalar(
        select(func.ST_Area(ConstraintZone.geom)).where(ConstraintZone.id == zone.id)
    )
    assert area == pytest.approx(1_000_000, abs=1)
    assert (zone.nom, zone.zone_type, zone.is_demo) == ("Val de Loire", "inondation", False)
    assert zone.properties == {"nom": "Val de Loire"}


def test_lambert93_file_keeps_its_coordinates(session, tmp_path):
    path = geojson_file(tmp_path / "pprt.geojson", feature(SQUARE), crs=LAMBERT93_CRS)
    import_zones(session, path, "pprt")
    (zone,) = zones_from(session, "pprt.geojson")
    assert to_shape(zone.geom).equals_exact(MultiPolygon([SQUARE]), tolerance=0)
    assert zone.nom == "pprt.geojson #0"


def test_crs_override_for_a_file_that_does_not_say_it(session, refused, tmp_path):
    path = geojson_file(tmp_path / "natura.geojson", feature(SQUARE))
    issues = refused(import_zones, path, "natura2000")
    assert [(issue.feature, issue.code) for issue in issues] == [(0, "not_degrees")]
    assert import_zones(session, path, "natura2000", crs="EPSG:2154").created == 1


def test_reimport_replaces_the_zones_of_the_same_file_and_type(session, tmp_path):
    path = geojson_file(
        tmp_path / "ppri.geojson", feature(SQUARE), feature(SQUARE.buffer(-10)), crs=LAMBERT93_CRS
    )
    import_zones(session, path, "inondation")
    import_zones(session, path, "autre")
    demo_zones = session.scalar(select(func.count()).where(ConstraintZone.is_demo))
    geojson_file(path, feature(SQUARE.buffer(-20)), crs=LAMBERT93_CRS)
    report = import_zones(session, path, "inondation")
    assert (report.created, report.replaced) == (1, 2)
    kinds = [zone.zone_type for zone in zones_from(session, "ppri.geojson")]
    assert sorted(kinds) == ["autre", "autre", "inondation"]
    assert session.scalar(select(func.count()).where(ConstraintZone.is_demo)) == demo_zones


def test_dry_run_counts_and_writes_nothing(session, tmp_path):
    path = geojson_file(tmp_path / "ppri.geojson", feature(SQUARE), crs=LAMBERT93_CRS)
    import_zones(session, path, "inondation")
    before = inventory_checksum(session)
    report = import_zones(session, path, "inondation", dry_run=True)
    assert (report.created, report.replaced) == (1, 1)
    assert report.english_lines()[-1] == "Dry run: nothing was written."
    assert inventory_checksum(session) == before


def test_one_invalid_zone_refuses_the_whole_file(refused, tmp_path):
    path = geojson_file(
        tmp_path / "ppri.geojson",
        feature(SQUARE),
        feature(BOWTIE),
        feature(SQUARE.buffer(-10)),
        crs=LAMBERT93_CRS,
    )
    (issue,) = refused(import_zones, path, "inondation")
    assert (issue.feature, issue.code) == (1, "invalid_geometry")
    assert "515500 6700500" in issue.message_en  # where GEOS found the self-intersection
    assert issue.english().startswith(f"{path} features[1]: Invalid geometry: Self-intersection")
    assert "auto-intersection" in issue.message_fr


@pytest.mark.parametrize(
    ("features", "options", "expected"),
    [
        ([feature(Point(515_000, 6_700_000))], {}, [(0, "geometry_type")]),
        ([feature(SQUARE), feature(LineString([(0, 0), (1, 1)]))], {}, [(1, "geometry_type")]),
        ([feature(SQUARE, nom=" ")], {"name_field": "nom"}, [(0, "missing_name")]),
        ([feature(SQUARE, nom="=1+1")], {"name_field": "nom"}, [(0, "formula_text")]),
        ([feature(SQUARE)], {"crs": "EPSG:999999"}, [(None, "unknown_crs_option")]),
        ([feature(SQUARE)], {"crs": "EPSG:4326"}, [(0, "not_degrees_option")]),
        ([feature(SQUARE.buffer(3e6))], {}, [(0, "not_lambert93")]),
        ([{"type": "Feature", "properties": {}, "geometry": None}], {}, [(0, "missing_geometry")]),
        ([], {}, [(None, "no_features")]),
    ],
    ids=[
        "point",
        "line",
        "unnamed",
        "named like a formula",
        "unknown CRS",
        "degrees expected",
        "off France",
        "no geometry",
        "empty",
    ],
)
def test_refused_files(refused, tmp_path, features, options, expected):
    crs = None if options.get("crs") else LAMBERT93_CRS
    path = geojson_file(tmp_path / "zones.geojson", *features, crs=crs)
    issues = refused(import_zones, path, "autre", **options)
    assert [(issue.feature, issue.code) for issue in issues] == expected


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"type": "FeatureCollection",\n "features": [}', [(2, "bad_json")]),
        (b'{"type": "Feature"}', [(None, "not_feature_collection")]),
        (b"\xff\xfe{}", [(None, "encoding")]),
    ],
)
def test_unreadable_files(refused, tmp_path, content, expected):
    path = tmp_path / "zones.geojson"
    path.write_bytes(content)
    assert [(i.line, i.code) for i in refused(import_zones, path, "autre")] == expected


def test_unknown_crs_says_whether_the_file_or_the_option_gave_it(refused, tmp_path):
    unknown = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::999999"}}
    path = geojson_file(tmp_path / "zones.geojson", feature(SQUARE), crs=unknown)
    (from_file,) = refused(import_zones, path, "autre")
    assert from_file.code == "unknown_crs"
    assert "urn:ogc:def:crs:EPSG::999999" in from_file.value
    assert "--crs" in from_file.message_en
    assert "déclarez" in from_file.message_fr and "--crs" not in from_file.message_fr
    (from_option,) = refused(import_zones, path, "autre", crs="EPSG:999999")
    assert (from_option.code, from_option.value) == ("unknown_crs_option", "EPSG:999999")
    assert "give it with --crs" not in from_option.message_en
    assert "précisez-le avec --crs" not in from_option.message_fr


def test_out_of_degrees_says_whether_the_file_or_the_option_gave_the_system(refused, tmp_path):
    path = geojson_file(tmp_path / "zones.geojson", feature(SQUARE))
    (from_file,) = refused(import_zones, path, "autre")
    assert from_file.code == "not_degrees"
    assert "give the system with --crs" in from_file.message_en
    (from_option,) = refused(import_zones, path, "autre", crs="EPSG:4326")
    assert from_option.code == "not_degrees_option"
    assert "give the system with --crs" not in from_option.message_en
    assert "--crs" not in from_file.message_fr  # French messages are for the web page


@pytest.mark.parametrize(
    ("properties", "options"),
    [
        ({"hauteur": float("nan")}, {}),
        ({"mesures": {"cotes": [12.5, float("-inf")]}}, {}),
        ({"nom": "Val\x00de Loire"}, {"name_field": "nom"}),
        ({"nom": "Val de Loire", "note\x00": "x"}, {}),
        ({"nom": "Val de Loire \ud800"}, {}),
    ],
    ids=["NaN", "nested -Infinity", "NUL in the name", "NUL in a key", "lone surrogate"],
)
def test_properties_postgresql_cannot_store_are_refused(refused, tmp_path, properties, options):
    """json.loads reads NaN, Infinity, \\u0000 and lone surrogates, which PostgreSQL refuses
    at flush: they are reported on their feature like any other error."""
    path = geojson_file(
        tmp_path / "zones.geojson",
        feature(SQUARE, nom="Val"),
        feature(SQUARE.buffer(-10), **properties),
        crs=LAMBERT93_CRS,
    )
    (issue,) = refused(import_zones, path, "autre", **options)
    assert (issue.feature, issue.code) == (1, "bad_property")
    assert issue.english()  # printable, whatever the property holds


def test_huge_number_read_as_infinity_is_refused(refused, tmp_path):
    path = geojson_file(tmp_path / "zones.geojson", feature(SQUARE, surface=1), crs=LAMBERT93_CRS)
    path.write_text(path.read_text(encoding="utf-8").replace('"surface": 1', '"surface": 1e400'))
    (issue,) = refused(import_zones, path, "autre")
    assert (issue.feature, issue.code) == (0, "bad_property")
    assert "surface" in issue.message_en
