"""A bad CNIG file is refused whole: every error located (file, line, column, code), nothing
written. Test files are the demo export with one thing broken."""

from __future__ import annotations

import json

import pytest
from cnig_helpers import CsvTable, located
from geoalchemy2.shape import to_shape
from pyproj import Transformer
from shapely import affinity
from shapely.geometry import box, shape
from shapely.ops import nearest_points
from sqlalchemy import select

from foncier.inventory.cnig import import_cnig
from foncier.inventory.cnig.geometry import geojson_text
from foncier.inventory.cnig.importer import EPCI_TOLERANCE_M
from foncier.models import Commune, Epci, Site

SITE_ROW = 2  # the third park: line 4 of site-eco.csv
FORMULA = "formula_text"
PLOT_ROW = 5  # the sixth plot: line 7 of terrain-eco.csv
TO_WGS84 = Transformer.from_crs(2154, 4326, always_xy=True)


def moved(geojson: str, dx: float = 0.0, dy: float = 0.0) -> str:
    return geojson_text(affinity.translate(shape(json.loads(geojson)), dx, dy))


def bowtie(geojson: str) -> str:
    """The plot's ring with two corners swapped: it crosses itself."""
    document = json.loads(geojson)
    ring = document["coordinates"][0]
    ring[1], ring[2] = ring[2], ring[1]
    return json.dumps(document)


def unclosed(geojson: str) -> str:
    document = json.loads(geojson)
    document["coordinates"][0].pop()
    return json.dumps(document)


def in_degrees(geojson: str) -> str:
    document = json.loads(geojson)
    document["coordinates"] = [[list(TO_WGS84.transform(*xy)) for xy in document["coordinates"][0]]]
    return json.dumps(document)


def as_multipolygon(geojson: str) -> str:
    document = json.loads(geojson)
    return json.dumps({"type": "MultiPolygon", "coordinates": [document["coordinates"]]})


def as_point(geojson: str) -> str:
    return json.dumps({"type": "Point", "coordinates": [525000.0, 6705000.0]})


def arabic(text: str) -> str:
    """The text with Arabic-Indic digits: Unicode digits, which Python's \\d and int() accept."""
    return text.translate(
        str.maketrans("0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669")
    )


SITE_CELLS = {
    "unknown code": ("site_etat", "bidon", "code_list"),
    "code in the wrong case": ("site_moa_type", "EPCI", "code_list_case"),
    "missing required value": ("site_nom", "", "missing_value"),
    "not a number": ("site_surf_brute", "12 ha", "bad_number"),
    "negative surface": ("site_surf_brute", "-3", "negative_number"),
    "not a whole number": ("site_nb_etab", "10.5", "bad_integer"),
    "computed column checked too": ("site_uf_nbre", "beaucoup", "bad_integer"),
    "not a year": ("site_creation_date", "15", "bad_year"),
    "impossible date": ("site_identif_date", "2024-02-30", "bad_date"),
    "French date": ("site_identif_date", "26/03/2024", "bad_date"),
    "not oui/non": ("site_voca_industrielle", "peut-être", "bad_boolean"),
    "URL without scheme": ("site_url", "www.example.fr", "bad_url"),
    "id without its class": ("site_id", "37261_SITE_1", "bad_id"),
    "id too long": ("site_id", "37261_SITE-ECO_123456", "bad_id"),
    "malformed pole id": ("pole_id", "POLE-1", "bad_id"),
    "not a geopoint": ("site_geompoint", "47.3", "bad_geopoint"),
    "not JSON": ("site_geomsurf", "pas du JSON", "bad_geojson"),
    "point perimeter": ("site_geomsurf", as_point, "geometry_type"),
    "commune not loaded": ("site_comm_insee", "80024", "unknown_commune"),
    "EPCI not loaded": ("site_epci_siren", "200071223", "unknown_epci"),
    "30-digit surface": ("site_surf_brute", "9" * 30, "number_too_large"),
    "non-ASCII digits in a year": ("site_creation_date", arabic("2015"), "bad_year"),
    "non-ASCII INSEE code in an id": ("site_id", arabic("37261") + "_SITE-ECO_1", "bad_id"),
    "non-ASCII whole number": ("site_nb_etab", arabic("12"), "bad_integer"),
    "non-ASCII geopoint": ("site_geompoint", arabic("1.5, 47.5"), "bad_geopoint"),
    "name starting like a formula": ("site_nom", '=HYPERLINK("http://evil.example","x")', FORMULA),
    "description running a program": ("site_description", "+cmd|' /C calc'!A0", FORMULA),
    "developer's name as a function": ("site_moa_amngt", "@SUM(1+1)", FORMULA),
    "station name hiding a formula": ("gare_nom", "-2+3+cmd|' /C calc'!A0", FORMULA),
}

TERRAIN_CELLS = {
    "unknown code": ("terr_stade_comm", "à vendre", "code_list"),
    "zero surface": ("terr_surf_brute", "0", "not_positive"),
    "negative price": ("terr_m2_prix", "-3", "negative_number"),
    "exponent": ("terr_vente_montant", "1e6", "bad_number"),
    "cadastral reference": ("terr_refcad", "37003-ZK-333", "bad_refcad"),
    "cartofriches URL": ("terr_url_cartofriches", "cartofriches", "bad_url"),
    "id too long": ("terr_id", "37003_TERRAIN-ECO_1234567", "bad_id"),
    "impossible month": ("terr_cession_date", "2021-13-01", "bad_date"),
    "unknown site": ("site_id", "37261_SITE-ECO_99999", "unknown_site"),
    "self-intersecting": ("terr_geomsurf", bowtie, "invalid_geometry"),
    "unclosed ring": ("terr_geomsurf", unclosed, "unclosed_ring"),
    "outside its site": ("terr_geomsurf", lambda g: moved(g, dx=5000), "plot_outside_site"),
    "WGS84 degrees": ("terr_geomsurf", in_degrees, "wgs84_coordinates"),
    "far from France": ("terr_geomsurf", lambda g: moved(g, dx=3e6), "not_lambert93"),
    "multipolygon plot": ("terr_geomsurf", as_multipolygon, "geometry_type"),
    "ICPE regime": ("terr_icpe_max", "seveso", "code_list"),
    "power too large": ("terr_puissance_kva", "99999999999", "number_too_large"),
    "zero height": ("terr_hauteur_max_m", "0", "not_positive"),
    "availability date": ("terr_dispo_date", "demain", "bad_date"),
    "vacancy date": ("terr_vacant_depuis", "2020", "bad_date"),
    "divisible": ("terr_divisible", "peut-être", "bad_boolean"),
    "30-digit amount": ("terr_vente_montant", "1" * 30, "number_too_large"),
    "amount rounded past the column": (
        "terr_vente_montant",
        "999999999999.995",
        "number_too_large",
    ),
    "non-ASCII digits in an id": ("terr_id", "37003_TERRAIN-ECO_07" + arabic("123"), "bad_id"),
    "non-ASCII digits in a number": ("terr_m2_prix", arabic("12"), "bad_number"),
    "non-ASCII digits in a date": ("terr_cession_date", arabic("2021-01-01"), "bad_date"),
    "non-ASCII cadastral reference": ("terr_refcad", arabic("37003000ZK0333"), "bad_refcad"),
    "non-ASCII power": ("terr_puissance_kva", arabic("630"), "bad_integer"),
    "buyer starting like a formula": ("terr_acquereur", "=1+1", FORMULA),
}


def set_cell(table: CsvTable, index: int, column: str, value) -> None:
    """Set a cell to a value, or to a function of its current value."""
    row = table.rows[index]
    row[column] = value(row[column]) if callable(value) else value


@pytest.mark.parametrize(("column", "value", "code"), SITE_CELLS.values(), ids=SITE_CELLS.keys())
def test_bad_site_cell(refused, sites_table, tmp_path, column, value, code):
    set_cell(sites_table, SITE_ROW, column, value)
    path = sites_table.write(tmp_path / "site-eco.csv")
    issues = refused(import_cnig, sites=path)
    assert located(issues) == [("site-eco.csv", SITE_ROW + 2, column, code)]
    assert issues[0].message_fr and issues[0].message_en
    assert issues[0].file == str(path)


@pytest.mark.parametrize(
    ("column", "value", "code"), TERRAIN_CELLS.values(), ids=TERRAIN_CELLS.keys()
)
def test_bad_terrain_cell(refused, terrains_table, tmp_path, column, value, code):
    set_cell(terrains_table, PLOT_ROW, column, value)
    path = terrains_table.write(tmp_path / "terrain-eco.csv")
    issues = refused(import_cnig, terrains=path)
    assert located(issues) == [("terrain-eco.csv", PLOT_ROW + 2, column, code)]


def test_report_details(refused, sites_table, tmp_path):
    set_cell(sites_table, SITE_ROW, "site_epci_siren", "200071223")
    set_cell(sites_table, SITE_ROW, "site_comm_insee", "80024")
    path = sites_table.write(tmp_path / "site-eco.csv")
    epci, commune = refused(import_cnig, sites=path)
    assert epci.value == "200071223"
    assert "foncier territory load --departement 80" in epci.message_en
    # The French message is read on the web page, where no command can be run.
    assert "département 80" in commune.message_fr and "administrateur" in commune.message_fr
    assert "foncier" not in commune.message_fr
    assert epci.english() == f"{path}:4 site_epci_siren: {epci.message_en} (value: '200071223')"


def test_a_park_in_a_commune_of_another_epci_is_refused(session, refused, sites_table, tmp_path):
    row = sites_table.rows[SITE_ROW]
    elsewhere = session.scalars(
        select(Commune)
        .where(Commune.epci_siren.is_not(None), Commune.epci_siren != row["site_epci_siren"])
        .order_by(Commune.insee)
    ).first()
    row["site_comm_insee"] = elsewhere.insee
    issues = refused(import_cnig, sites=sites_table.write(tmp_path / "site-eco.csv"))
    assert located(issues) == [
        ("site-eco.csv", SITE_ROW + 2, "site_comm_insee", "commune_outside_epci")
    ]
    epci = session.get_one(Epci, row["site_epci_siren"])
    assert f"{elsewhere.nom} n’est pas dans l’EPCI {epci.nom}" in issues[0].message_fr
    assert issues[0].value == elsewhere.insee


@pytest.mark.parametrize(
    ("minimum_lot", "divisible", "code"),
    [("0.5", "non", "lot_min_not_divisible"), ("999", "oui", "lot_min_too_large")],
)
def test_minimum_lot_needs_a_divisible_plot_large_enough(
    refused, terrains_table, tmp_path, minimum_lot, divisible, code
):
    set_cell(terrains_table, PLOT_ROW, "terr_divisible", divisible)
    set_cell(terrains_table, PLOT_ROW, "terr_lot_min_ha", minimum_lot)
    path = terrains_table.write(tmp_path / "terrain-eco.csv")
    issues = refused(import_cnig, terrains=path)
    assert located(issues) == [("terrain-eco.csv", PLOT_ROW + 2, "terr_lot_min_ha", code)]


def test_every_error_of_both_files_is_reported(refused, sites_table, terrains_table, tmp_path):
    set_cell(sites_table, 0, "site_etat", "bidon")
    set_cell(sites_table, 4, "site_surf_utile", "beaucoup")
    set_cell(terrains_table, 1, "terr_usage", "usine")
    set_cell(terrains_table, 9, "terr_geomsurf", bowtie)
    issues = refused(
        import_cnig,
        sites=sites_table.write(tmp_path / "site-eco.csv"),
        terrains=terrains_table.write(tmp_path / "terrain-eco.csv"),
    )
    assert located(issues) == [
        ("site-eco.csv", 2, "site_etat", "code_list"),
        ("site-eco.csv", 6, "site_surf_utile", "bad_number"),
        ("terrain-eco.csv", 3, "terr_usage", "code_list"),
        ("terrain-eco.csv", 11, "terr_geomsurf", "invalid_geometry"),
    ]


def test_duplicate_id(refused, terrains_table, tmp_path):
    terrains_table.rows.append(dict(terrains_table.rows[PLOT_ROW]))
    issues = refused(import_cnig, terrains=terrains_table.write(tmp_path / "terrain-eco.csv"))
    last_line = len(terrains_table.rows) + 1
    assert located(issues) == [("terrain-eco.csv", last_line, "terr_id", "duplicate_id")]
    assert f"ligne {PLOT_ROW + 2}" in issues[0].message_fr


def test_row_with_a_wrong_number_of_fields(refused, sites_table, tmp_path):
    lines = sites_table.text().split("\r\n")
    lines[3] += ";surplus"
    path = tmp_path / "site-eco.csv"
    path.write_text("\r\n".join(lines), encoding="utf-8")
    issues = refused(import_cnig, sites=path)
    assert located(issues) == [("site-eco.csv", 4, None, "field_count")]
    assert "63 fields instead of 62" in issues[0].message_en


@pytest.mark.parametrize(
    ("edit", "column", "code"),
    [
        ("drop", "terr_stade_comm", "missing_column"),
        ("add", "terr_couleur", "unknown_column"),
        ("add", "terr_m2_prix", "duplicate_column"),
    ],
)
def test_header_problems(refused, terrains_table, tmp_path, edit, column, code):
    lines = terrains_table.text().split("\r\n")
    header = lines[0].split(";")
    if edit == "drop":
        position = header.index(column)
        lines = [
            ";".join(line.split(";")[:position] + line.split(";")[position + 1 :]) if line else line
            for line in lines
        ]
    else:
        lines = [
            line + ";" + (column if number == 0 else "") if line else line
            for number, line in enumerate(lines)
        ]
    path = tmp_path / "terrain-eco.csv"
    path.write_text("\r\n".join(lines), encoding="utf-8")
    assert located(refused(import_cnig, terrains=path)) == [("terrain-eco.csv", 1, column, code)]


@pytest.mark.parametrize(
    ("content", "line", "code"),
    [
        (b"", None, "empty_file"),
        ("terr_id;site_id\r\nZA de l'Été;x\r\n".encode("latin-1"), 2, "encoding"),
        (b"terr_id;site_id\r\n\x00\x00;x\r\n", 2, "encoding"),
        (b'terr_id;site_id\r\n"37003_TERRAIN-ECO_07006;x\r\n', 2, "bad_csv"),
    ],
    ids=["empty", "latin-1", "NUL bytes", "unclosed quote"],
)
def test_unreadable_files(refused, tmp_path, content, line, code):
    path = tmp_path / "terrain-eco.csv"
    path.write_bytes(content)
    issues = refused(import_cnig, terrains=path)
    assert (line, code) in [(issue.line, issue.code) for issue in issues]


def test_moved_site_leaves_its_epci_and_its_plots(refused, sites_table, tmp_path):
    set_cell(sites_table, SITE_ROW, "site_geomsurf", lambda g: moved(g, dx=40_000))
    issues = refused(import_cnig, sites=sites_table.write(tmp_path / "site-eco.csv"))
    assert located(issues) == [
        ("site-eco.csv", 4, "site_geomsurf", "site_outside_epci"),
        ("site-eco.csv", 4, "site_geomsurf", "site_excludes_plots"),
    ]
    site_id = sites_table.rows[SITE_ROW]["site_id"]
    assert site_id.split("_")[0] + "_TERRAIN-ECO_" in issues[1].message_en


def pushed_out(plot, park, beyond_edge_m: float):
    """The plot moved towards its park's nearest edge until it sticks out by ``beyond_edge_m``."""
    on_plot, on_edge = nearest_points(plot, park.boundary)
    gap = on_plot.distance(on_edge)
    scale = (gap + beyond_edge_m) / gap
    dx, dy = (on_edge.x - on_plot.x) * scale, (on_edge.y - on_plot.y) * scale
    return affinity.translate(plot, dx, dy)


@pytest.mark.parametrize(("beyond_edge_m", "accepted"), [(0.5, True), (3.0, False)])
def test_plot_tolerance(session, refused, terrains_table, tmp_path, beyond_edge_m, accepted):
    row = terrains_table.rows[PLOT_ROW]
    park = to_shape(session.get_one(Site, row["site_id"]).site_geomsurf)
    plot = pushed_out(shape(json.loads(row["terr_geomsurf"])), park, beyond_edge_m)
    row["terr_geomsurf"] = geojson_text(plot)
    path = terrains_table.write(tmp_path / "terrain-eco.csv")
    if accepted:
        assert import_cnig(session, terrains=path).terrains.updated == 1
    else:
        issues = refused(import_cnig, terrains=path)
        assert located(issues) == [("terrain-eco.csv", 7, "terr_geomsurf", "plot_outside_site")]


def straddling_the_border(epci_outline, beyond_border_m: float):
    """A park across the EPCI's border, reaching ``beyond_border_m`` outside."""
    border_point = epci_outline.boundary.interpolate(0.5, normalized=True)
    half_side = beyond_border_m + 300
    square = box(
        border_point.x - half_side,
        border_point.y - half_side,
        border_point.x + half_side,
        border_point.y + half_side,
    )
    return epci_outline.buffer(beyond_border_m).intersection(square)


@pytest.mark.parametrize(
    ("beyond_border_m", "accepted"), [(EPCI_TOLERANCE_M / 2, True), (EPCI_TOLERANCE_M * 2, False)]
)
def test_site_tolerance_at_the_epci_border(
    session, refused, sites_table, tmp_path, beyond_border_m, accepted
):
    park = dict(sites_table.rows[SITE_ROW])
    outline = to_shape(session.get_one(Epci, park["site_epci_siren"]).geom)
    park["site_id"] = park["site_comm_insee"] + "_SITE-ECO_99001"
    park["site_geomsurf"] = geojson_text(straddling_the_border(outline, beyond_border_m))
    sites_table.rows.append(park)
    path = sites_table.write(tmp_path / "site-eco.csv")
    if accepted:
        assert import_cnig(session, sites=path).sites.created == 1
    else:
        issues = refused(import_cnig, sites=path)
        line = len(sites_table.rows) + 1
        assert located(issues) == [("site-eco.csv", line, "site_geomsurf", "site_outside_epci")]


def test_text_starting_like_a_formula_is_refused_but_french_text_with_a_sign_is_not(
    refused, sites_table, tmp_path
):
    set_cell(sites_table, 0, "site_description", "- lot 3, +33 2 47 12 34 56")
    set_cell(sites_table, 1, "site_nom", "-Zone-")
    set_cell(sites_table, SITE_ROW, "site_nom", "@SUM(1+1)")
    issues = refused(import_cnig, sites=sites_table.write(tmp_path / "site-eco.csv"))
    assert located(issues) == [("site-eco.csv", SITE_ROW + 2, "site_nom", FORMULA)]
    assert issues[0].value == "@SUM(1+1)"
    assert "formule de tableur" in issues[0].message_fr
    assert "spreadsheet formula" in issues[0].message_en
