"""Exports people download: CNIG CSV (zipped), GeoJSON (zipped), Excel; network, EPCI, park."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest
from frictionless import Resource, Schema
from openpyxl import load_workbook
from sqlalchemy import func, select

from foncier.core.errors import NotFoundError
from foncier.core.permissions import Actor, Role
from foncier.inventory.cnig import import_cnig
from foncier.inventory.cnig.exporter import ExportScope
from foncier.inventory.cnig.sources import SourceFile
from foncier.inventory.exports import ExportFormat, ExportRequest, build_export
from foncier.models import Site, Terrain
from foncier.models.codelists import CONFIDENTIAL_TERRAIN_FIELDS

STANDARD = "standards/cnig-sites-economiques"
GATINE_RACAN = "200073237"
POLAXIS = "37167_SITE-ECO_00005"
PARTNER = Actor("partenaire@test", Role.PARTENAIRE)
GATINE_REFERENT = Actor("referent@gatine.test", Role.REFERENT, epci_siren=GATINE_RACAN)
COORDINATOR = Actor("coordination@test", Role.COORDINATEUR)


def unzipped(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8")), delimiter=";"))


def frictionless_errors(path, schema_path):
    schema = Schema.from_descriptor(json.loads(schema_path.read_text(encoding="utf-8")))
    report = Resource(path=path.name, basepath=str(path.parent), schema=schema).validate()
    return report.flatten(["rowNumber", "fieldName", "type", "note"])


def plots_of_epci(session, siren: str) -> set[str]:
    query = select(Terrain.terr_id).join(Site).where(Site.site_epci_siren == siren)
    return set(session.scalars(query))


def export(session, actor=PARTNER, **options) -> bytes:
    scope = ExportScope(options.pop("epci", None), options.pop("site", None))
    request = ExportRequest(ExportFormat(options.pop("format", "csv")), scope, **options)
    return build_export(session, actor, request)


# --- CNIG CSV -------------------------------------------------------------------------------


@pytest.mark.parametrize("schema", ["official", "strict"])
def test_csv_zip_of_the_network_validates_against_the_cnig_schemas(
    session, shared_dir, tmp_path, schema
):
    download = export(session, COORDINATOR, confidential=True)
    assert download.filename == f"inventaire-reseau-{date.today().isoformat()}-cnig.zip"
    assert download.media_type == "application/zip"
    files = unzipped(download.content)
    assert sorted(files) == ["site-eco.csv", "terrain-eco.csv"]
    for name, content in files.items():
        cnig_class = name.removesuffix(".csv")
        (tmp_path / name).write_bytes(content)
        standard = shared_dir / STANDARD
        path = {
            "official": standard / cnig_class / "schema.json",
            "strict": standard / "strict" / f"{cnig_class}.schema.json",
        }[schema]
        assert frictionless_errors(tmp_path / name, path) == []
    plots = csv_rows(files["terrain-eco.csv"])
    assert len(plots) == session.scalar(select(func.count()).select_from(Terrain))
    assert any(row["terr_acquereur"] for row in plots)  # the coordinator sees every sale


def test_csv_of_one_epci_and_of_one_park(session):
    by_epci = unzipped(export(session, epci=GATINE_RACAN).content)
    parks = csv_rows(by_epci["site-eco.csv"])
    assert parks and {row["site_epci_siren"] for row in parks} == {GATINE_RACAN}
    assert {row["terr_id"] for row in csv_rows(by_epci["terrain-eco.csv"])} == plots_of_epci(
        session, GATINE_RACAN
    )

    download = export(session, site=POLAXIS)
    assert download.filename.startswith(f"inventaire-{POLAXIS}-")
    by_park = unzipped(download.content)
    assert [row["site_id"] for row in csv_rows(by_park["site-eco.csv"])] == [POLAXIS]
    plots = csv_rows(by_park["terrain-eco.csv"])
    stored = session.scalar(select(func.count()).where(Terrain.site_id == POLAXIS))
    assert len(plots) == stored and {row["site_id"] for row in plots} == {POLAXIS}


def test_private_fields_only_for_the_plots_of_the_referents_epci(session):
    own = plots_of_epci(session, GATINE_RACAN)
    confidential = csv_rows(
        unzipped(export(session, GATINE_REFERENT, confidential=True).content)["terrain-eco.csv"]
    )
    sold = {row["terr_id"] for row in confidential if row["terr_acquereur"]}
    assert sold and sold <= own
    elsewhere = session.scalar(
        select(func.count()).where(Terrain.terr_acquereur.is_not(None), Terrain.terr_id.not_in(own))
    )
    assert elsewhere > 0  # the filter hid real values
    assert all(row["terr_vente_montant"] == "" for row in confidential if row["terr_id"] not in own)


@pytest.mark.parametrize("actor", [PARTNER, GATINE_REFERENT, COORDINATOR], ids=lambda a: a.role)
def test_private_fields_stay_empty_unless_asked_for(session, actor):
    plots = csv_rows(unzipped(export(session, actor).content)["terrain-eco.csv"])
    assert not any(row[name] for row in plots for name in CONFIDENTIAL_TERRAIN_FIELDS)


def test_a_partner_asking_for_private_fields_gets_none(session):
    plots = csv_rows(
        unzipped(export(session, PARTNER, confidential=True).content)["terrain-eco.csv"]
    )
    assert not any(row["terr_acquereur"] for row in plots)


def test_unknown_epci_or_park_is_not_found(session):
    with pytest.raises(NotFoundError):
        export(session, epci="123456789")
    with pytest.raises(NotFoundError):
        export(session, format="xlsx", site="37167_SITE-ECO_99999")


# --- GeoJSON -------------------------------------------------------------------------------


def test_geojson_is_wgs84_with_cnig_properties_and_imports_back_unchanged(session, tmp_path):
    files = unzipped(export(session, epci=GATINE_RACAN, format="geojson").content)
    assert sorted(files) == ["site-eco.geojson", "terrain-eco.geojson"]
    parks = json.loads(files["site-eco.geojson"])
    assert parks["type"] == "FeatureCollection" and "crs" not in parks
    polaxis = next(feature for feature in parks["features"] if feature["id"] == POLAXIS)
    assert polaxis["geometry"]["type"] == "MultiPolygon"
    lon, lat = polaxis["geometry"]["coordinates"][0][0][0]
    assert 0 < lon < 1.5 and 46.5 < lat < 48  # Touraine, in degrees
    properties = polaxis["properties"]
    assert "site_geomsurf" not in properties
    assert properties["site_nom"] and properties["site_epci_siren"] == GATINE_RACAN
    assert isinstance(properties["site_surf_brute"], int | float)
    assert isinstance(properties["reseau_gaz"], bool | None)
    date.fromisoformat(properties["site_actu_date"])

    report = import_cnig(
        session,
        files=[SourceFile(name, content) for name, content in files.items()],
        dry_run=True,
    )
    assert (report.sites.updated, report.terrains.updated) == (0, 0)
    assert report.terrains.unchanged == len(plots_of_epci(session, GATINE_RACAN))


# --- Excel ---------------------------------------------------------------------------------


def test_excel_has_one_sheet_per_class_with_french_headers_and_typed_cells(session):
    download = export(session, GATINE_REFERENT, format="xlsx", site=POLAXIS, confidential=True)
    assert download.filename.endswith(".xlsx")
    workbook = load_workbook(io.BytesIO(download.content))
    assert workbook.sheetnames == ["Parcs", "Terrains"]
    parks, plots = workbook["Parcs"], workbook["Terrains"]
    header = [cell.value for cell in parks[1]]
    assert header[:3] == ["Identifiant du site", "Identifiant du pôle", "Nom du site"]
    assert "Superficie totale (ha)" in header
    assert header[-2:] == ["Longitude du centroïde", "Latitude du centroïde"]
    assert parks[1][0].comment.text == "Colonne CNIG : site_id"
    assert parks.freeze_panes == plots.freeze_panes == "B2"
    assert parks.column_dimensions["C"].width >= 10

    row = dict(zip(header, [cell.value for cell in parks[2]], strict=True))
    site = session.get_one(Site, POLAXIS)
    assert row["Identifiant du site"] == POLAXIS
    assert row["Superficie totale (ha)"] == pytest.approx(float(site.site_surf_brute))
    assert isinstance(row["Date d’actualisation"], datetime)
    assert row["Date d’actualisation"].date() == site.site_actu_date
    assert row["Eau potable"] in ("oui", "non", None)

    plot_header = [cell.value for cell in plots[1]]
    assert "Prix (€/m²)" in plot_header and "Régime ICPE maximal admis" in plot_header
    assert "Contour du terrain" not in plot_header
    plot_rows = [
        dict(zip(plot_header, [c.value for c in r], strict=True))
        for r in plots.iter_rows(min_row=2)
    ]
    assert len(plot_rows) == session.scalar(select(func.count()).where(Terrain.site_id == POLAXIS))
    stored = {
        t.terr_id: t for t in session.scalars(select(Terrain).where(Terrain.site_id == POLAXIS))
    }
    for plot in plot_rows:
        terrain = stored[plot["Identifiant du terrain"]]
        expected = terrain.terr_vente_montant
        assert plot["Montant de la vente (€)"] == (
            None if expected is None else pytest.approx(float(expected))
        )
        assert isinstance(plot["Superficie brute (ha)"], int | float | Decimal)


def test_excel_hides_private_fields_from_other_epcis(session):
    download = export(session, GATINE_REFERENT, format="xlsx", confidential=True)
    plots = load_workbook(io.BytesIO(download.content))["Terrains"]
    header = [cell.value for cell in plots[1]]
    buyer, plot_id = header.index("Acquéreur"), header.index("Identifiant du terrain")
    own = plots_of_epci(session, GATINE_RACAN)
    buyers = {row[plot_id].value for row in plots.iter_rows(min_row=2) if row[buyer].value}
    assert buyers and buyers <= own


def test_text_that_looks_like_a_formula_stays_text(session):
    """A park named like a formula runs nothing in a spreadsheet; the CNIG CSV keeps the value
    as it is (the standard's format, which imports back unchanged)."""
    trap = '=HYPERLINK("http://evil.example/x","Cliquez")'
    session.get_one(Site, POLAXIS).site_nom = trap
    session.flush()

    download = export(session, format="xlsx", site=POLAXIS)
    parks = load_workbook(io.BytesIO(download.content))["Parcs"]
    header = [cell.value for cell in parks[1]]
    name = parks[2][header.index("Nom du site")]
    assert (name.value, name.data_type) == (trap, "s")
    assert name.quotePrefix  # edited in the spreadsheet, it stays text too
    assert b"<f>" not in unzipped(download.content)["xl/worksheets/sheet1.xml"]

    csv_files = unzipped(export(session, site=POLAXIS).content)
    assert csv_rows(csv_files["site-eco.csv"])[0]["site_nom"] == trap
