"""CNIG import that succeeds: creations, updates that bump the version, dry runs, file forms."""

from __future__ import annotations

from decimal import Decimal

import pytest
from cnig_helpers import CsvTable, inventory_checksum, located
from sqlalchemy import func, select, text

from foncier.core.errors import ImportConflictError
from foncier.inventory.cnig import SourceFile, import_cnig
from foncier.models import Site, Terrain

PLOT_ROW = 5


def test_refreshing_a_plot_updates_it_and_bumps_its_version(session, terrains_table, tmp_path):
    row = terrains_table.rows[PLOT_ROW]
    plot = session.get_one(Terrain, row["terr_id"])
    version, was_demo = plot.version, plot.is_demo
    row["terr_stade_comm"] = "réservé par option de réservation"
    row["terr_m2_prix"] = "31.5"
    report = import_cnig(session, terrains=terrains_table.write(tmp_path / "terrain-eco.csv"))
    assert (report.terrains.created, report.terrains.updated) == (0, 1)
    assert report.terrains.unchanged == len(terrains_table.rows) - 1
    assert report.sites is None
    session.refresh(plot)
    assert plot.terr_stade_comm == "réservé par option de réservation"
    assert plot.terr_m2_prix == Decimal("31.5")
    assert plot.version == version + 1
    assert plot.is_demo is was_demo is True


def test_a_save_between_the_imports_read_and_its_write_refuses_it_whole(
    session, terrains_table, tmp_path
):
    """Someone commits a plot after the import read it: the UPDATE's version check matches no
    row. The import is refused with a clean error (the command prints it), nothing written."""
    row = terrains_table.rows[PLOT_ROW]
    row["terr_m2_prix"] = "33.3"
    terrains_table.rows.append(dict(row, terr_id="37003_TERRAIN-ECO_99004"))
    plot = session.get_one(Terrain, row["terr_id"])  # the copy the import will read
    session.execute(
        text("UPDATE terrain SET version = version + 1, terr_m2_prix = 99 WHERE terr_id = :id"),
        {"id": plot.terr_id},
    )
    with pytest.raises(ImportConflictError, match="nothing was written"):
        import_cnig(session, terrains=terrains_table.write(tmp_path / "terrain-eco.csv"))
    session.expire_all()
    assert session.get_one(Terrain, row["terr_id"]).terr_m2_prix == Decimal("99")
    assert session.get(Terrain, "37003_TERRAIN-ECO_99004") is None


def test_new_plot_of_a_site_already_stored(session, terrains_table, tmp_path):
    """A terrains file alone may reference sites that are only in the database."""
    new = dict(terrains_table.rows[PLOT_ROW], terr_id="37003_TERRAIN-ECO_99001")
    terrains = CsvTable(terrains_table.header, [new])
    report = import_cnig(session, terrains=terrains.write(tmp_path / "terrain-eco.csv"))
    assert (report.terrains.created, report.terrains.updated) == (1, 0)
    created = session.get_one(Terrain, "37003_TERRAIN-ECO_99001")
    assert created.is_demo is False
    assert created.version == 1
    assert created.site_id == new["site_id"]


def test_dry_run_counts_and_writes_nothing(session, sites_table, terrains_table, tmp_path):
    terrains_table.rows[PLOT_ROW]["terr_usage"] = "espace vert"
    terrains_table.rows.append(
        dict(terrains_table.rows[PLOT_ROW], terr_id="37003_TERRAIN-ECO_99002")
    )
    sites_table.rows[0]["site_nb_emploi"] = "1234"
    before = inventory_checksum(session)
    report = import_cnig(
        session,
        sites=sites_table.write(tmp_path / "site-eco.csv"),
        terrains=terrains_table.write(tmp_path / "terrain-eco.csv"),
        dry_run=True,
    )
    session.expire_all()
    assert inventory_checksum(session) == before
    assert (report.sites.created, report.sites.updated) == (0, 1)
    assert report.sites.unchanged == len(sites_table.rows) - 1
    assert (report.terrains.created, report.terrains.updated) == (1, 1)
    assert report.english_lines()[-1] == "Dry run: nothing was written."


def test_columns_absent_from_the_file_are_left_untouched(session, demo_export):
    """A pure CNIG file (no extension columns) refreshes plots without erasing what matching
    needs."""
    stored = session.execute(
        select(Terrain.terr_id, Terrain.terr_puissance_kva, Terrain.terr_icpe_max)
    ).all()
    report = import_cnig(session, terrains=demo_export / "terrain-eco.csv")
    assert report.terrains.updated == 0
    after = session.execute(
        select(Terrain.terr_id, Terrain.terr_puissance_kva, Terrain.terr_icpe_max)
    ).all()
    assert after == stored


def test_computed_columns_are_read_but_not_stored(session, sites_table, tmp_path):
    sites_table.rows[0]["site_uf_nbre"] = "999"
    sites_table.rows[0]["site_epci_nom"] = "Un autre nom"
    sites_table.rows[0]["site_geompoint"] = "1.5, 47.5"
    report = import_cnig(session, sites=sites_table.write(tmp_path / "site-eco.csv"))
    assert report.sites.updated == 0


def test_comma_separated_file_with_bom_and_decimal_commas(session, terrains_table, tmp_path):
    row = terrains_table.rows[PLOT_ROW]
    row["terr_m2_prix"] = "27,5"
    path = terrains_table.write(tmp_path / "terrain-eco.csv", delimiter=",", bom=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbfterr_id,site_id,")
    report = import_cnig(session, terrains=path)
    assert report.terrains.updated == 1
    assert session.get_one(Terrain, row["terr_id"]).terr_m2_prix == Decimal("27.5")


def test_new_site_given_as_a_polygon_is_stored_as_a_multipolygon(session, sites_table, tmp_path):
    site = dict(
        sites_table.rows[0], site_id=sites_table.rows[0]["site_comm_insee"] + "_SITE-ECO_99003"
    )
    site["site_geomsurf"] = (
        site["site_geomsurf"]
        .replace('"MultiPolygon"', '"Polygon"')
        .replace("[[[[", "[[[")
        .replace("]]]]", "]]]")
    )
    table = CsvTable(sites_table.header, [site])
    report = import_cnig(session, sites=SourceFile("upload.csv", table.text().encode()))
    assert report.sites.created == 1
    geometry_type = session.scalar(
        select(func.ST_GeometryType(Site.site_geomsurf)).where(Site.site_id == site["site_id"])
    )
    assert geometry_type == "ST_MultiPolygon"


def test_a_smaller_surface_cannot_undercut_the_stored_minimum_lot(
    session, refused, demo_export, tmp_path
):
    divisible = session.scalars(select(Terrain).where(Terrain.terr_lot_min_ha.is_not(None))).first()
    table = CsvTable.read(demo_export / "terrain-eco.csv")
    row = table.find("terr_id", divisible.terr_id)
    row["terr_surf_brute"] = str(divisible.terr_lot_min_ha / 2)
    issues = refused(import_cnig, terrains=table.write(tmp_path / "terrain-eco.csv"))
    assert located(issues) == [
        ("terrain-eco.csv", table.line_of(row), "terr_surf_brute", "lot_min_too_large")
    ]
