"""CNIG inventories in GeoJSON and GeoPackage files, in any CRS, and imports scoped to an EPCI."""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner
from cnig_helpers import CsvTable, inventory_checksum
from geo_helpers import (
    bowtie_inside,
    feature_collection,
    geometry_of,
    write_geojson,
    write_geopackage_layer,
)
from geoalchemy2.shape import to_shape
from openpyxl import load_workbook
from shapely import MultiPolygon
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from foncier.accounts import users
from foncier.cli import main
from foncier.core import audit
from foncier.core.errors import ImportRejectedError, PermissionDeniedError
from foncier.core.permissions import Actor, Role
from foncier.inventory.cnig import SourceFile, import_cnig
from foncier.inventory.cnig.sources import Format, format_of
from foncier.inventory.cnig.tables import SITES, TERRAINS
from foncier.models import AuditEvent, Site, Terrain

GATINE_RACAN = "200073237"
TOURS_METROPOLE = "243700754"
POLAXIS = "37167_SITE-ECO_00005"
LES_ATLANTES = "37233_SITE-ECO_00019"
GATINE_REFERENT = Actor("referent@gatine.test", Role.REFERENT, epci_siren=GATINE_RACAN)


def parks_of(sites: CsvTable, siren: str) -> CsvTable:
    return CsvTable(sites.header, [row for row in sites.rows if row["site_epci_siren"] == siren])


def plots_of(terrains: CsvTable, site_ids: set[str]) -> CsvTable:
    return CsvTable(terrains.header, [row for row in terrains.rows if row["site_id"] in site_ids])


def ids(table: CsvTable, key: str) -> set[str]:
    return {row[key] for row in table.rows}


def stored_geometry(session, model, key):
    column = Site.site_geomsurf if model is Site else Terrain.terr_geomsurf
    return to_shape(
        session.scalar(select(column).where(model.__table__.primary_key.columns[0] == key))
    )


@pytest.fixture
def gatine(sites_table, terrains_table) -> tuple[CsvTable, CsvTable]:
    """The parks of Gâtine-Racan and their plots, as exported (extension columns included)."""
    parks = parks_of(sites_table, GATINE_RACAN)
    return parks, plots_of(terrains_table, ids(parks, "site_id"))


# --- GeoJSON ----------------------------------------------------------------------------------


def test_geojson_in_wgs84_creates_parks_and_plots_reprojected_to_lambert93(
    empty_session, gatine, tmp_path
):
    parks, plots = gatine
    parks_file = write_geojson(tmp_path / "parcs.geojson", feature_collection(parks))
    plots_file = write_geojson(tmp_path / "terrains.geojson", feature_collection(plots))
    assert "crs" not in json.loads(parks_file.read_text())  # RFC 7946: WGS84 by default

    report = import_cnig(empty_session, files=[parks_file, plots_file])

    assert (report.sites.created, report.terrains.created) == (len(parks.rows), len(plots.rows))
    for row in parks.rows:
        stored = stored_geometry(empty_session, Site, row["site_id"])
        assert stored.hausdorff_distance(geometry_of(row, SITES)) < 0.001  # metres
    plot = plots.rows[0]
    stored = empty_session.get_one(Terrain, plot["terr_id"])
    assert to_shape(stored.terr_geomsurf).hausdorff_distance(geometry_of(plot, TERRAINS)) < 0.001
    assert stored.terr_surf_brute == Decimal(plot["terr_surf_brute"])
    assert stored.terr_identif_date == date.fromisoformat(plot["terr_identif_date"])
    assert stored.terr_divisible is (plot["terr_divisible"] == "oui")


def test_geojson_in_web_mercator_updates_plots_by_id(session, terrains_table, tmp_path):
    plots = plots_of(terrains_table, {POLAXIS})
    changed = plots.rows[1]
    changed["terr_m2_prix"] = "27.5"
    changed["terr_stade_comm"] = "réservé par option de réservation"
    document = feature_collection(plots, "EPSG:3857")
    assert document["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::3857"
    plot = session.get_one(Terrain, changed["terr_id"])
    geometry, version = to_shape(plot.terr_geomsurf), plot.version

    report = import_cnig(session, terrains=write_geojson(tmp_path / "polaxis.geojson", document))

    counts = report.terrains
    assert (counts.created, counts.updated, counts.unchanged) == (0, 1, len(plots.rows) - 1)
    [update] = [row for row in counts.rows if row.outcome == "updated"]
    assert update.key == changed["terr_id"]
    assert update.changed == ("terr_stade_comm", "terr_m2_prix")  # not the reprojected outline
    assert update.row == 2 and update.by_feature
    session.refresh(plot)
    assert plot.terr_m2_prix == Decimal("27.5")
    assert plot.version == version + 1
    assert to_shape(plot.terr_geomsurf).equals(geometry)


def test_geojson_class_is_told_by_its_properties_or_given(session, terrains_table, tmp_path):
    plots = plots_of(terrains_table, {POLAXIS})
    path = write_geojson(tmp_path / "export", feature_collection(plots))  # no suffix
    assert format_of(SourceFile.of(path)) is Format.GEOJSON
    assert import_cnig(session, files=[path], dry_run=True).terrains.unchanged == len(plots.rows)
    # Given as a parks file, its plot columns are unknown to SITE-ECO.
    with pytest.raises(ImportRejectedError) as refused:
        import_cnig(session, sites=path, dry_run=True)
    codes = {issue.code for issue in refused.value.report.issues}
    assert {"unknown_column", "missing_column"} <= codes


def test_geojson_with_projected_coordinates_and_no_crs_member_is_refused(
    session, terrains_table, tmp_path, refused
):
    plots = plots_of(terrains_table, {POLAXIS})
    document = feature_collection(plots, "EPSG:2154", crs_member=False)
    issues = refused(import_cnig, terrains=write_geojson(tmp_path / "l93.geojson", document))
    assert {(issue.code, issue.column) for issue in issues} == {
        ("file_not_degrees", "terr_geomsurf")
    }
    assert [issue.entity for issue in issues] == list(range(1, len(plots.rows) + 1))
    assert issues[0].row_fr == "entité 1"
    assert "sans membre « crs », un fichier GeoJSON est en WGS84" in issues[0].message_fr


def test_geojson_values_are_checked_like_csv_cells(session, terrains_table, tmp_path, refused):
    plots = plots_of(terrains_table, {POLAXIS})
    document = feature_collection(plots)
    properties = [feature["properties"] for feature in document["features"]]
    properties[0]["terr_stade_comm"] = "En vente"
    properties[1]["terr_m2_prix"] = -2.5
    properties[2]["terr_cle_en_main"] = 2
    properties[3]["terr_refcad"] = ["37167000AB0012"]
    properties[4]["terr_acquereur"] = "nul\u0000"
    issues = refused(import_cnig, terrains=write_geojson(tmp_path / "t.geojson", document))
    assert [(issue.entity, issue.column, issue.code) for issue in issues] == [
        (1, "terr_stade_comm", "code_list_case"),
        (2, "terr_m2_prix", "negative_number"),
        (3, "terr_cle_en_main", "bad_boolean"),
        (4, "terr_refcad", "compound_value"),
        (5, "terr_acquereur", "bad_property"),
    ]
    assert issues[0].location.endswith("t.geojson feature 1 terr_stade_comm")


def test_duplicate_ids_in_a_geojson_name_the_first_feature(session, terrains_table, tmp_path):
    plots = plots_of(terrains_table, {POLAXIS})
    plots.rows.append(dict(plots.rows[0]))
    with pytest.raises(ImportRejectedError) as refused:
        import_cnig(
            session, terrains=write_geojson(tmp_path / "t.geojson", feature_collection(plots))
        )
    [issue] = refused.value.report.issues
    assert (issue.code, issue.entity) == ("duplicate_feature_id", len(plots.rows))
    assert issue.message_fr == "Identifiant déjà présent à l’entité 1 du fichier."


# --- GeoPackage -------------------------------------------------------------------------------


def test_geopackage_like_the_qgis_template_creates_then_updates(empty_session, gatine, tmp_path):
    """Both classes in one file, typed fields, multi-polygon layers, CC47 coordinates."""
    parks, plots = gatine
    path = tmp_path / "inventaire.gpkg"
    write_geopackage_layer(path, "SITE_ECO", parks, crs="EPSG:3947")
    write_geopackage_layer(path, "terrain_eco", plots, crs="EPSG:3947")
    assert format_of(SourceFile("upload", path.read_bytes())) is Format.GEOPACKAGE

    created = import_cnig(empty_session, files=[path])
    assert created.sites.file == f"{path} (SITE_ECO)"
    assert (created.sites.created, created.terrains.created) == (
        len(parks.rows),
        len(plots.rows),
    )
    plot = empty_session.get_one(Terrain, plots.rows[0]["terr_id"])
    assert plot.terr_geomsurf is not None
    assert to_shape(plot.terr_geomsurf).geom_type == "Polygon"  # the one part of the multi
    assert plot.terr_cle_en_main is (plots.rows[0]["terr_cle_en_main"] == "oui")

    parks.rows[0]["site_nb_emploi"] = "321"
    again = tmp_path / "inventaire-2.gpkg"
    write_geopackage_layer(again, "site_eco", parks, crs="EPSG:3947")
    write_geopackage_layer(again, "terrain_eco", plots, crs="EPSG:3947")
    updated = import_cnig(empty_session, files=[again])
    assert (updated.sites.updated, updated.terrains.updated) == (1, 0)
    assert empty_session.get_one(Site, parks.rows[0]["site_id"]).site_nb_emploi == 321


def test_geopackage_with_one_bad_geometry_is_refused_whole_naming_the_feature(
    session, gatine, tmp_path, refused
):
    parks, plots = gatine
    shapes = [geometry_of(row, TERRAINS) for row in plots.rows]
    shapes[2] = bowtie_inside(shapes[2])
    path = tmp_path / "inventaire.gpkg"
    write_geopackage_layer(path, "site_eco", parks)
    write_geopackage_layer(path, "terrain_eco", plots, geometries=shapes)

    issues = refused(import_cnig, files=[path])

    [issue] = issues
    assert (issue.file, issue.entity, issue.column, issue.code) == (
        f"{path} (terrain_eco)",
        3,
        "terr_geomsurf",
        "invalid_geometry",
    )
    assert issue.message_fr.startswith("Géométrie invalide : auto-intersection (")
    assert issue.english().startswith(f"{path} (terrain_eco) feature 3 terr_geomsurf: Invalid")


def test_geopackage_plot_in_two_parts_is_refused(session, gatine, tmp_path, refused):
    _parks, plots = gatine
    shapes = [geometry_of(row, TERRAINS) for row in plots.rows]
    shapes[0] = MultiPolygon([shapes[0], bowtie_inside(shapes[1]).envelope])
    path = write_geopackage_layer(tmp_path / "t.gpkg", "terrain_eco", plots, geometries=shapes)
    [issue] = refused(import_cnig, terrains=path)
    assert (issue.entity, issue.code) == (1, "multipart_plot")


def test_geopackage_without_cnig_layer_and_unreadable_files(session, gatine, tmp_path, refused):
    parks, _plots = gatine
    path = write_geopackage_layer(tmp_path / "autre.gpkg", "zones", parks)
    [issue] = refused(import_cnig, files=[path])
    assert (issue.code, issue.message_en) == (
        "no_cnig_layer",
        "No site_eco or terrain_eco layer in this GeoPackage (layers: zones).",
    )
    # Given as the parks file, its only layer is read as parks, whatever its name.
    assert import_cnig(session, sites=path, dry_run=True).sites.unchanged == len(parks.rows)
    broken = SourceFile("casse.gpkg", b"SQLite format 3\x00" + b"\x00" * 200)
    [issue] = refused(import_cnig, files=[broken])
    assert issue.code == "unreadable_file"


def test_one_file_per_class(session, gatine, tmp_path, refused):
    parks, _plots = gatine
    first = write_geojson(tmp_path / "a.geojson", feature_collection(parks))
    second = write_geopackage_layer(tmp_path / "b.gpkg", "site_eco", parks)
    issues = refused(import_cnig, files=[first, second])
    assert [(issue.file, issue.code) for issue in issues] == [
        (f"{second} (site_eco)", "duplicate_class")
    ]


# --- EPCI scope and audit ---------------------------------------------------------------------


def test_a_referent_imports_the_parks_of_their_epci_with_an_audit_trail(session, gatine, tmp_path):
    parks, _plots = gatine
    parks.rows[0]["site_nb_etab"] = "42"
    path = write_geojson(tmp_path / "gatine.geojson", feature_collection(parks))
    audit.acting_as(session, GATINE_REFERENT)

    report = import_cnig(session, sites=path, actor=GATINE_REFERENT)

    assert report.sites.updated == 1
    event = session.scalars(audit.site_history(parks.rows[0]["site_id"])).first()
    assert (event.actor_label, event.action, event.reason) == (
        "referent@gatine.test",
        "update",
        "Import gatine.geojson",
    )
    assert event.changes["site_nb_etab"][1] == 42


def test_a_referent_cannot_import_a_park_of_another_epci(
    session, sites_table, gatine, tmp_path, refused
):
    parks, _plots = gatine
    atlantes = sites_table.find("site_id", LES_ATLANTES)
    atlantes["site_nb_emploi"] = "1"
    rows = CsvTable(parks.header, [*parks.rows, atlantes])
    path = write_geojson(tmp_path / "parcs.geojson", feature_collection(rows))
    events = session.scalar(select(func.count()).select_from(AuditEvent))

    issues = refused(import_cnig, sites=path, actor=GATINE_REFERENT)

    [issue] = issues
    assert (issue.entity, issue.column, issue.code) == (
        len(rows.rows),
        "site_epci_siren",
        "epci_scope",
    )
    assert issue.message_fr == (
        "Vous ne pouvez importer que les parcs et terrains de votre EPCI ; celui-ci relève de "
        "Tours Métropole Val de Loire."
    )
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_a_referent_can_neither_take_nor_give_away_a_park(session, sites_table, tmp_path, refused):
    polaxis = sites_table.find("site_id", POLAXIS)
    atlantes = sites_table.find("site_id", LES_ATLANTES)
    polaxis["site_epci_siren"] = TOURS_METROPOLE  # give away
    atlantes["site_epci_siren"] = GATINE_RACAN  # take over
    path = CsvTable(sites_table.header, [polaxis, atlantes]).write(tmp_path / "site-eco.csv")
    issues = refused(import_cnig, sites=path, actor=GATINE_REFERENT)
    scope = [(issue.line, issue.value) for issue in issues if issue.code == "epci_scope"]
    assert scope == [(2, TOURS_METROPOLE), (3, GATINE_RACAN)]


def test_a_referent_cannot_import_plots_of_another_epcis_park(
    session, terrains_table, tmp_path, refused
):
    plots = plots_of(terrains_table, {POLAXIS, LES_ATLANTES})
    path = plots.write(tmp_path / "terrain-eco.csv")
    issues = refused(import_cnig, terrains=path, actor=GATINE_REFERENT)
    refused_ids = {issue.value for issue in issues}
    assert {issue.code for issue in issues} == {"epci_scope"}
    assert refused_ids == {LES_ATLANTES}
    assert len(issues) == sum(row["site_id"] == LES_ATLANTES for row in plots.rows)


def test_the_coordinator_imports_everywhere_and_a_partner_nowhere(session, sites_table, tmp_path):
    path = sites_table.write(tmp_path / "site-eco.csv")
    coordinator = Actor("coordination@test", Role.COORDINATEUR)
    assert import_cnig(session, sites=path, actor=coordinator, dry_run=True).sites.unchanged
    before = inventory_checksum(session)
    with pytest.raises(PermissionDeniedError, match="ne permet pas d’importer"):
        import_cnig(session, sites=path, actor=Actor("p@test", Role.PARTENAIRE))
    assert inventory_checksum(session) == before


# --- command line -----------------------------------------------------------------------------


def run(*args):
    return CliRunner().invoke(main, [str(arg) for arg in args])


@pytest.fixture
def gatine_referent_account(territory_only_engine) -> str:
    """A référent of Gâtine-Racan in the CLI's database (committed; the database is the
    session's throwaway one)."""
    email = f"referent-{uuid.uuid4().hex[:8]}@gatine.test"
    with Session(territory_only_engine) as session:
        users.create_user(
            session,
            Actor.system("tests"),
            email=email,
            nom="Référent de test",
            role=Role.REFERENT,
            epci_siren=GATINE_RACAN,
        )
        session.commit()
    return email


def test_cli_imports_a_geopackage_as_a_referent_then_exports_every_format(
    cli_database, territory_only_engine, gatine, gatine_referent_account, tmp_path
):
    parks, plots = gatine
    path = tmp_path / "inventaire.gpkg"
    write_geopackage_layer(path, "site_eco", parks, crs="EPSG:3947")
    write_geopackage_layer(path, "terrain_eco", plots, crs="EPSG:3947")

    result = run("import", "cnig", path, "--as", gatine_referent_account)

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        f"{path} (site_eco): {len(parks.rows)} created, 0 updated, 0 unchanged"
    )
    # The database outlives this test's inventory: its audit trail keeps earlier imports.
    with Session(territory_only_engine) as session:
        events = session.execute(
            select(AuditEvent.action, AuditEvent.reason).where(
                AuditEvent.actor_label == gatine_referent_account
            )
        ).all()
    assert len(events) == len(parks.rows) + len(plots.rows)
    assert set(events) == {("create", "Import inventaire.gpkg")}

    xlsx = tmp_path / "gatine.xlsx"
    assert run("export", "xlsx", xlsx, "--epci", GATINE_RACAN).exit_code == 0
    assert load_workbook(xlsx)["Parcs"].max_row == len(parks.rows) + 1
    geojson = run("export", "geojson", tmp_path / "geo", "--site", POLAXIS)
    assert geojson.exit_code == 0, geojson.output
    features = json.loads((tmp_path / "geo" / "site-eco.geojson").read_text())["features"]
    assert [feature["id"] for feature in features] == [POLAXIS]
    cnig_export = run("export", "cnig", tmp_path / "csv", "--site", POLAXIS)
    assert cnig_export.output.splitlines()[0] == f"{tmp_path / 'csv' / 'site-eco.csv'}: 1 sites"


def test_cli_refuses_a_referents_import_of_another_epci(
    cli_database, territory_only_engine, sites_table, gatine_referent_account, tmp_path
):
    atlantes = CsvTable(sites_table.header, [sites_table.find("site_id", LES_ATLANTES)])
    path = write_geojson(tmp_path / "atlantes.geojson", feature_collection(atlantes))
    result = run("import", "cnig", path, "--as", gatine_referent_account)
    assert result.exit_code == 1
    assert result.output.splitlines()[1] == (
        f"{path} feature 1 site_epci_siren: You can only import the parks and plots of your "
        f"EPCI; this one belongs to Tours Métropole Val de Loire. (value: '{TOURS_METROPOLE}')"
    )
    with Session(territory_only_engine) as session:
        assert session.scalar(select(func.count()).select_from(Site)) == 0


def test_cli_as_an_unknown_account_fails_cleanly(cli_database, demo_export):
    result = run("import", "cnig", "--sites", demo_export / "site-eco.csv", "--as", "x@y.test")
    assert result.exit_code == 1
    assert "Aucun compte n’a l’adresse x@y.test." in result.output
