"""CNIG export: valid against the official and strict schemas, computed columns, options."""

from __future__ import annotations

import json
import re

import pytest
from cnig_helpers import STANDARD, CsvTable
from frictionless import Resource, Schema
from geoalchemy2.shape import to_shape
from pyproj import Transformer
from shapely.geometry import shape
from sqlalchemy import func, select

from foncier.core.errors import NotFoundError
from foncier.core.permissions import Actor
from foncier.inventory.cnig import export_cnig
from foncier.inventory.cnig.columns import SITE_COLUMNS, TERRAIN_COLUMNS, TERRAIN_EXTENSIONS
from foncier.inventory.parks import update_site
from foncier.models import Epci, Owner, Site, Terrain
from foncier.models.codelists import CONFIDENTIAL_TERRAIN_FIELDS
from foncier.models.views import site_summary

GATINE_RACAN = "200073237"
OPTIONS = {
    "default": {},
    "confidential": {"confidential": True},
    "one EPCI": {"epci": GATINE_RACAN},
}


def frictionless_errors(csv_path, schema_path):
    """Errors of frictionless validating a file with a schema (dialect detected by it)."""
    schema = Schema.from_descriptor(json.loads(schema_path.read_text(encoding="utf-8")))
    report = Resource(path=csv_path.name, basepath=str(csv_path.parent), schema=schema).validate()
    return report.flatten(["rowNumber", "fieldName", "type", "note"])


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
@pytest.mark.parametrize("cnig_class", ["site-eco", "terrain-eco"])
@pytest.mark.parametrize("schema", ["official", "strict"])
def test_export_validates_against_the_cnig_schemas(
    session, shared_dir, tmp_path, options, cnig_class, schema
):
    export_cnig(session, tmp_path, **options)
    standard = shared_dir / STANDARD
    path = {
        "official": standard / cnig_class / "schema.json",
        "strict": standard / "strict" / f"{cnig_class}.schema.json",
    }[schema]
    assert frictionless_errors(tmp_path / f"{cnig_class}.csv", path) == []


def test_the_strict_schema_catches_what_the_official_one_lets_through(
    session, shared_dir, tmp_path
):
    """Proof that the validation above has teeth: a code-list error fails the strict schema."""
    export_cnig(session, tmp_path / "export")
    table = CsvTable.read(tmp_path / "export" / "site-eco.csv")
    table.rows[0]["site_etat"] = "bidon"
    broken = table.write(tmp_path / "site-eco.csv")
    standard = shared_dir / STANDARD
    assert frictionless_errors(broken, standard / "site-eco/schema.json") == []
    errors = frictionless_errors(broken, standard / "strict/site-eco.schema.json")
    assert [error[:3] for error in errors] == [[2, "site_etat", "constraint-error"]]


def test_files_have_exactly_the_cnig_columns_in_order(session, tmp_path):
    export_cnig(session, tmp_path)
    raw = (tmp_path / "site-eco.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    header = raw.decode("utf-8").split("\r\n", 1)[0]
    assert header.split(";") == [column.name for column in SITE_COLUMNS]
    terrains = CsvTable.read(tmp_path / "terrain-eco.csv")
    assert terrains.header == [column.name for column in TERRAIN_COLUMNS]
    assert len(terrains.rows) == session.scalar(select(func.count()).select_from(Terrain))


def test_with_extensions_appends_the_extension_columns(session, tmp_path):
    export_cnig(session, tmp_path, with_extensions=True)
    terrains = CsvTable.read(tmp_path / "terrain-eco.csv")
    expected = [column.name for column in TERRAIN_COLUMNS + TERRAIN_EXTENSIONS]
    assert terrains.header == expected
    assert CsvTable.read(tmp_path / "site-eco.csv").header == [c.name for c in SITE_COLUMNS]
    available = [row for row in terrains.rows if row["terr_stade_comm"] == "en vente"]
    assert all(row["terr_icpe_max"] and row["terr_puissance_kva"] for row in available)
    assert {row["terr_divisible"] for row in terrains.rows} == {"oui", "non"}


def test_values_are_written_as_the_standard_writes_them(session, tmp_path):
    export_cnig(session, tmp_path)
    sites = CsvTable.read(tmp_path / "site-eco.csv")
    terrains = CsvTable.read(tmp_path / "terrain-eco.csv")
    cells = [value for table in (sites, terrains) for row in table.rows for value in row.values()]
    assert not [cell for cell in cells if re.fullmatch(r"-?\d+\.\d*0", cell)]  # trailing zeros
    polaxis = sites.find("site_nom", "Polaxis")
    assert polaxis["site_creation_date"] == "2007"
    assert polaxis["reseau_eau_potable"] == "oui"
    assert polaxis["reseau_fluvial"] == "non"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", polaxis["site_identif_date"])
    perimeter = json.loads(polaxis["site_geomsurf"])
    assert perimeter["type"] == "MultiPolygon"
    coordinates = re.findall(r"-?\d+(?:\.\d+)?", polaxis["site_geomsurf"])
    assert all(len(c.partition(".")[2]) <= 2 for c in coordinates)  # centimetres
    plot = json.loads(terrains.rows[0]["terr_geomsurf"])
    assert plot["type"] == "Polygon"


# Text that starts with a sign but that no spreadsheet runs (foncier.core.formulas): saved by
# the park form, then exported as typed, without the quote other downloads would add.
SIGNED_TEXTS = {
    "site_nom": "-Zone-",
    "site_description": "- lot 3 : 2,5 ha\n- lot 4 : -12,5 % de pente",
    "site_moa_comm": "+33 2 47 12 34 56",
    "gare_nom": "- Saint-Paterne-Racan",
}


def test_text_starting_with_a_sign_is_exported_byte_for_byte(session, tmp_path):
    site = session.get(Site, "37167_SITE-ECO_00005")
    update_site(
        session, Actor.system("tests"), site.site_id, SIGNED_TEXTS, expected_version=site.version
    )
    export_cnig(session, tmp_path, site=site.site_id)
    content = (tmp_path / "site-eco.csv").read_text(encoding="utf-8-sig")
    for value in ("-Zone-", '"- lot 3 : 2,5 ha\n- lot 4 : -12,5 % de pente"', "+33 2 47 12 34 56"):
        assert f";{value};" in content
    assert ";'" not in content  # nothing escaped
    (row,) = CsvTable.read(tmp_path / "site-eco.csv").rows
    assert {name: row[name] for name in SIGNED_TEXTS} == SIGNED_TEXTS


def test_computed_columns_come_from_the_view_and_the_reference_tables(session, tmp_path):
    export_cnig(session, tmp_path)
    row = CsvTable.read(tmp_path / "site-eco.csv").find("site_nom", "Polaxis")
    site = session.get(Site, row["site_id"])
    summary = session.execute(
        select(site_summary).where(site_summary.c.site_id == site.site_id)
    ).one()
    assert row["site_uf_nbre"] == str(summary.uf_nbre)
    assert row["site_uf_vacant_nbre"] == str(summary.uf_vacant_nbre)
    assert row["site_taux_vacance"] == str(summary.taux_vacance)
    assert row["site_uf_bati_nbre"] == str(summary.uf_bati_nbre)
    assert row["site_epci_nom"] == "Communauté de communes de Gâtine-Racan"
    assert row["site_comm_nom"] == "Neuillé-Pont-Pierre"
    lon, lat = (float(part) for part in row["site_geompoint"].split(", "))
    centroid = to_shape(site.site_geomsurf).centroid
    to_wgs84 = Transformer.from_crs(2154, 4326, always_xy=True)
    assert (lon, lat) == pytest.approx(to_wgs84.transform(centroid.x, centroid.y), abs=1e-5)
    assert shape(json.loads(row["site_geomsurf"])).contains(centroid)


def test_confidential_columns_are_blank_unless_asked_for(session, tmp_path):
    export_cnig(session, tmp_path / "public")
    export_cnig(session, tmp_path / "full", confidential=True)
    full = CsvTable.read(tmp_path / "full" / "terrain-eco.csv")
    public = CsvTable.read(tmp_path / "public" / "terrain-eco.csv")
    assert public.header == full.header  # the columns stay, empty: the standard's layout
    for column in CONFIDENTIAL_TERRAIN_FIELDS:
        assert any(row[column] for row in full.rows)
        assert not any(row[column] for row in public.rows)
    untouched = [c.name for c in TERRAIN_COLUMNS if c.name not in CONFIDENTIAL_TERRAIN_FIELDS]
    for full_row, public_row in zip(full.rows, public.rows, strict=True):
        assert {c: full_row[c] for c in untouched} == {c: public_row[c] for c in untouched}


def test_one_epci(session, tmp_path):
    report = export_cnig(session, tmp_path, epci=GATINE_RACAN)
    sites = CsvTable.read(tmp_path / "site-eco.csv")
    terrains = CsvTable.read(tmp_path / "terrain-eco.csv")
    assert {row["site_epci_siren"] for row in sites.rows} == {GATINE_RACAN}
    assert {row["site_id"] for row in terrains.rows} <= {row["site_id"] for row in sites.rows}
    assert (report.sites, report.terrains) == (len(sites.rows), len(terrains.rows))
    assert report.terrains > 0
    with pytest.raises(NotFoundError):
        export_cnig(session, tmp_path, epci="123456789")


@pytest.mark.parametrize("options", [{}, {"confidential": True}, {"with_extensions": True}])
def test_owner_identities_are_never_exported(session, tmp_path, options):
    """Owners are personal data. Demo owners are private persons "(démo)", buyers (the
    standard's terr_acquereur, exported only with --confidential) and EPCIs (public bodies, named
    in site_epci_nom and site_moa_nom): no owner may appear anywhere else."""
    export_cnig(session, tmp_path, **options)
    owners = session.execute(select(Owner.nom, Owner.nature)).all()
    epci_names = set(session.scalars(select(Epci.nom)))
    assert any(nature == "personne physique" for _, nature in owners)
    names = {nom for nom, _ in owners}
    allowed = {"site_epci_nom", "site_moa_nom"}
    if options.get("confidential"):
        allowed.add("terr_acquereur")
    for file in ("site-eco.csv", "terrain-eco.csv"):
        text = (tmp_path / file).read_text(encoding="utf-8")
        assert "Propriétaire privé" not in text
        table = CsvTable.read(tmp_path / file)
        leaks = [
            (column, value)
            for row in table.rows
            for column, value in row.items()
            if column not in allowed and value and (value in names or "(démo)" in value)
        ]
        assert leaks == []
    if not options.get("confidential"):
        text = (tmp_path / "terrain-eco.csv").read_text(encoding="utf-8")
        assert not [name for name in names - epci_names if name in text]
