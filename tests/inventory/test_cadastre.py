"""Etalab cadastre files imported into cadastral_parcel (all or nothing, upserted by id), and plot
outlines built from CNIG cadastral references."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import pytest
import shapely
from click.testing import CliRunner
from geoalchemy2.shape import to_shape
from shapely.geometry import Polygon, box, mapping
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from foncier.cli import main
from foncier.core.errors import ImportRejectedError
from foncier.inventory.cadastre import geometry_from_refcad, gunzip, import_cadastre, parse_refcad
from foncier.inventory.cnig.issues import IssueError
from foncier.inventory.geometry_input import GeometryInputError
from foncier.models import CadastralParcel, Site

FIXTURE = Path(__file__).parents[1] / "fixtures" / "cadastre" / "cadastre-37167-parcelles.json"
POLAXIS = "37167_SITE-ECO_00005"
# The fixture's parcels: two rows of three, contiguous (ZA0001-ZA0006), and ZA0010 apart.
ROW = "37167000ZA0001|37167000ZA0002|37167000ZA0003"
APART = "37167000ZA0010"


def fixture_features() -> list[dict]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))["features"]


def cadastre_file(path: Path, features: list[dict], *, gzipped: bool = False) -> Path:
    text = json.dumps({"type": "FeatureCollection", "features": features})
    if gzipped:
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def parcel_feature(parcel_id: str, geometry, **properties) -> dict:
    return {
        "type": "Feature",
        "id": parcel_id,
        "geometry": mapping(geometry),
        "properties": {"id": parcel_id, "commune": parcel_id[:5], "contenance": 100, **properties},
    }


@pytest.fixture
def parcels(session: Session) -> Session:
    """The session with the fixture's parcels imported."""
    import_cadastre(session, [FIXTURE])
    return session


def refused_issues(session: Session, sources: list[Path]) -> list[tuple[int | None, str]]:
    before = session.scalar(select(func.count()).select_from(CadastralParcel))
    with pytest.raises(ImportRejectedError) as caught:
        import_cadastre(session, sources)
    assert session.scalar(select(func.count()).select_from(CadastralParcel)) == before
    return [(issue.feature, issue.code) for issue in caught.value.report.issues]


def test_fixture_parcels_are_imported_in_lambert93_inside_polaxis(session):
    report = import_cadastre(session, [FIXTURE])
    assert (report.created, report.updated) == (7, 0)
    assert report.english_lines() == [
        "cadastre-37167-parcelles.json: 7 parcel(s) created, 0 updated"
    ]
    parcel = session.get(CadastralParcel, "37167000ZA0001")
    assert (parcel.commune_insee, parcel.contenance_m2) == ("37167", 3010)
    assert parcel.source == "cadastre-37167-parcelles.json"
    assert to_shape(parcel.geom).area == pytest.approx(3000, rel=0.01)
    polaxis = to_shape(session.get(Site, POLAXIS).site_geomsurf)
    for stored in session.scalars(select(CadastralParcel.geom)):
        assert polaxis.contains(to_shape(stored))


def test_reimport_updates_by_id_and_gzip_is_read(session, tmp_path):
    import_cadastre(session, [FIXTURE])
    changed = fixture_features()
    changed[0]["properties"]["contenance"] = 2999
    path = cadastre_file(tmp_path / "cadastre-37167-parcelles.json.gz", changed, gzipped=True)
    report = import_cadastre(session, [path])
    assert (report.created, report.updated) == (0, 7)
    session.expire_all()
    assert session.get(CadastralParcel, "37167000ZA0001").contenance_m2 == 2999


def test_dry_run_counts_and_writes_nothing(session):
    report = import_cadastre(session, [FIXTURE], dry_run=True)
    assert (report.created, report.dry_run) == (7, True)
    assert report.english_lines()[-1] == "Dry run: nothing was written."
    assert session.get(CadastralParcel, "37167000ZA0001") is None


def test_a_wrong_feature_refuses_the_whole_file_naming_each_feature(session, tmp_path):
    features = fixture_features()
    features[1]["properties"]["id"] = "37167-ZA-2"
    features[2]["properties"]["commune"] = "37001"
    features[3]["properties"]["contenance"] = -5
    features[4] = {**features[0]}
    features[5]["geometry"]["coordinates"] = [[[0.57, 47.55], [0.58, 47.56], [0.58, 47.55],
                                                [0.57, 47.56], [0.57, 47.55]]]  # fmt: skip
    features[6]["geometry"] = {"type": "Point", "coordinates": [0.57, 47.55]}
    path = cadastre_file(tmp_path / "wrong.json", features)
    assert refused_issues(session, [path]) == [
        (1, "bad_parcel_id"),
        (2, "parcel_commune"),
        (3, "bad_contenance"),
        (4, "duplicate_parcel"),
        (5, "invalid_geometry"),
        (6, "geometry_type"),
    ]


def test_unreadable_files_are_refused(session, tmp_path):
    not_json = tmp_path / "a.json"
    not_json.write_text("{", encoding="utf-8")
    broken_gzip = tmp_path / "b.json.gz"
    broken_gzip.write_bytes(gzip.compress(b"{}")[:12])
    empty = cadastre_file(tmp_path / "c.json", [])
    metres = cadastre_file(
        tmp_path / "d.json",
        [parcel_feature("37167000ZB0001", box(517_900, 6_719_740, 518_000, 6_719_790))],
    )
    assert refused_issues(session, [not_json, broken_gzip, empty, metres]) == [
        (None, "bad_json"),
        (None, "bad_gzip"),
        (None, "no_features"),
        (0, "not_degrees"),
    ]


def test_a_gzip_bomb_is_refused_without_being_inflated(session, tmp_path):
    """A few hundred kilobytes of gzip expanding past the GeoJSON bound (128 MB): refused as
    soon as the bound is passed, with a message that says what to do."""
    squeezer = zlib.compressobj(wbits=zlib.MAX_WBITS | 16)
    megabyte = b" " * 2**20
    bomb = b"".join(squeezer.compress(megabyte) for _ in range(129)) + squeezer.flush()
    assert len(bomb) < 2**20
    path = tmp_path / "bombe.json.gz"
    path.write_bytes(bomb)
    assert refused_issues(session, [path]) == [(None, "gzip_too_large")]


def test_gunzip_reads_every_member_and_stops_at_its_bound():
    two_members = gzip.compress(b'{"type": ') + gzip.compress(b'"FeatureCollection"}')
    assert gunzip(two_members, 100) == b'{"type": "FeatureCollection"}'
    with pytest.raises(IssueError, match="gzip_too_large"):
        gunzip(two_members, 20)
    with pytest.raises(IssueError, match="bad_gzip"):
        gunzip(two_members[:-5], 100)


@pytest.mark.parametrize(
    ("text", "references"),
    [
        ("37167000ZA0001", ["37167000ZA0001"]),
        (" 37167000za0002 | 37167000ZA0001|37167000ZA0002 ", ["37167000ZA0002", "37167000ZA0001"]),
    ],
)
def test_references_are_read_in_order_without_repeats(text, references):
    assert parse_refcad(text) == references


def test_malformed_references_are_named():
    with pytest.raises(GeometryInputError) as caught:
        parse_refcad("37167000ZA0001|37167ZA1|2A004000AB0001")
    assert str(caught.value).startswith(
        "Références cadastrales invalides : 37167ZA1, 2A004000AB0001. Chacune compte 14 caractères"
    )
    with pytest.raises(GeometryInputError, match="Aucune référence cadastrale"):
        parse_refcad(" | ")


def test_outline_of_contiguous_parcels_is_their_union(parcels):
    outline = geometry_from_refcad(parcels, ROW + "|37167000ZA0005")
    assert isinstance(outline, Polygon)
    assert outline.area == pytest.approx(4 * 3000, rel=0.01)
    # One outline, no seam left between the parcels.
    assert len(outline.interiors) == 0
    assert len(shapely.get_coordinates(outline.exterior)) < 12


def test_parcels_a_few_millimetres_apart_still_make_one_outline(session, tmp_path):
    west = box(0.5700, 47.5500, 0.5710, 47.5505)
    east = box(0.57100005, 47.5500, 0.5720, 47.5505)  # about 4 mm of gap
    path = cadastre_file(
        tmp_path / "gap.json",
        [parcel_feature("37167000ZC0001", west), parcel_feature("37167000ZC0002", east)],
    )
    import_cadastre(session, [path])
    assert isinstance(geometry_from_refcad(session, "37167000ZC0001|37167000ZC0002"), Polygon)


def test_parcels_apart_are_refused_naming_the_pieces(parcels):
    with pytest.raises(GeometryInputError) as caught:
        geometry_from_refcad(parcels, f"37167000ZA0001|37167000ZA0004|{APART}")
    assert str(caught.value) == (
        "Les parcelles ne sont pas contiguës : elles forment 2 morceaux (37167000ZA0001, "
        "37167000ZA0004 ; 37167000ZA0010). Un terrain est d’un seul tenant : indiquez des "
        "parcelles voisines."
    )


def test_unknown_parcels_are_named(parcels):
    with pytest.raises(GeometryInputError) as caught:
        geometry_from_refcad(parcels, "37167000ZA0001|37167000ZZ0404")
    assert str(caught.value).startswith("Parcelles absentes du cadastre chargé : 37167000ZZ0404.")


def test_cli_imports_then_reports_refusals(engine: Engine, database_url, monkeypatch, tmp_path):
    """The command commits; its parcel is removed afterwards (the session database is shared)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    good = cadastre_file(
        tmp_path / "cadastre-37167-parcelles.json",
        [parcel_feature("37167000ZY0001", box(0.5700, 47.5500, 0.5710, 47.5505))],
    )
    bad = cadastre_file(tmp_path / "bad.json", [parcel_feature("nope", box(0, 0, 1, 1))])
    try:
        result = CliRunner().invoke(main, ["import", "cadastre", str(good)])
        assert result.exit_code == 0, result.output
        assert "1 parcel(s) created, 0 updated" in result.output
        with Session(engine) as session:
            assert session.get(CadastralParcel, "37167000ZY0001") is not None
        refused = CliRunner().invoke(main, ["import", "cadastre", str(bad)])
        assert refused.exit_code == 1
        assert "bad.json features[0]: Invalid parcel id" in refused.output
    finally:
        with Session(engine) as session, session.begin():
            session.execute(delete(CadastralParcel).where(CadastralParcel.id == "37167000ZY0001"))
