"""The GeoJSON API against the session database: structure, bbox, paging, errors."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from shapely.geometry import shape
from sqlalchemy import text

from foncier.models.codelists import CONFIDENTIAL_TERRAIN_FIELDS
from foncier.web.api.views import MAX_OFFSET, MAX_PAGE, MAX_SIMPLIFY_M

GEOJSON = "application/geo+json"
# Indre-et-Loire and the communes its EPCIs reach beyond it, with a margin.
TOURAINE = (-0.1, 46.6, 1.5, 47.8)
# Around Tours: parks and plots inside, across and outside it.
AROUND_TOURS = (0.6, 47.3, 0.8, 47.45)
ISOPARC = "37250_SITE-ECO_00001"


def get_json(client, url: str, status: int = 200) -> dict:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def ids(collection: dict) -> list:
    return [feature["id"] for feature in collection["features"]]


def link(collection: dict, rel: str) -> str | None:
    return next((item["href"] for item in collection["links"] if item["rel"] == rel), None)


def query_of(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


def assert_valid_feature(feature: dict) -> None:
    assert feature["type"] == "Feature"
    assert isinstance(feature["properties"], dict)
    geometry = shape(feature["geometry"])
    assert geometry.is_valid and not geometry.is_empty
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    assert TOURAINE[0] < min_lon <= max_lon < TOURAINE[2]
    assert TOURAINE[1] < min_lat <= max_lat < TOURAINE[3]
    polygons = getattr(geometry, "geoms", [geometry])
    assert all(polygon.exterior.is_ccw for polygon in polygons)  # RFC 7946 winding


@pytest.mark.parametrize(
    "url, table", [("/api/epci", "epci"), ("/api/sites", "site"), ("/api/zones", "constraint_zone")]
)
def test_collections_are_valid_geojson_in_wgs84(client, session, url, table):
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == GEOJSON
    collection = response.get_json()
    count = session.scalar(text(f"SELECT count(*) FROM {table}"))
    assert collection["type"] == "FeatureCollection"
    assert collection["numberMatched"] == collection["numberReturned"] == count
    for feature in collection["features"]:
        assert_valid_feature(feature)


def test_coordinates_have_six_decimals_at_most(client):
    body = client.get("/api/terrains?limit=50").get_data(as_text=True)
    coordinates = json.dumps([f["geometry"] for f in json.loads(body)["features"]])
    decimals = [len(d) for d in re.findall(r"\d+\.(\d+)", coordinates)]
    assert decimals and max(decimals) <= 6


def test_epci_outlines_carry_their_names(client, session):
    collection = get_json(client, "/api/epci")
    names = {f["id"]: f["properties"]["nom"] for f in collection["features"]}
    assert names == dict(session.execute(text("SELECT siren, nom FROM epci")).all())
    assert len(names) == 11


def test_parks_carry_their_computed_figures_and_epci_name(client, session):
    expected = {
        row.site_id: row
        for row in session.execute(
            text(
                "SELECT v.*, e.nom AS epci_nom FROM site_summary v "
                "JOIN site s USING (site_id) JOIN epci e ON e.siren = s.site_epci_siren"
            )
        )
    }
    for feature in get_json(client, "/api/sites")["features"]:
        properties, row = feature["properties"], expected[feature["id"]]
        assert properties["site_id"] == feature["id"]
        assert properties["site_taux_vacance"] == row.taux_vacance
        assert properties["site_uf_nbre"] == row.uf_nbre
        assert properties["surf_disponible"] == pytest.approx(float(row.surf_disponible))
        assert properties["terrains_disponibles"] == row.terrains_disponibles
        assert properties["site_epci_nom"] == row.epci_nom
        assert "site_geomsurf" not in properties and "version" not in properties


def test_one_park(client):
    feature = get_json(client, f"/api/sites/{ISOPARC}")
    assert_valid_feature(feature)
    assert feature["id"] == ISOPARC and feature["properties"]["site_nom"] == "Isoparc"
    assert {item["rel"] for item in feature["links"]} == {"self", "collection"}


def test_plots_never_carry_confidential_fields(client):
    collection = get_json(client, "/api/terrains?limit=1000")
    assert collection["numberReturned"] == collection["numberMatched"]
    for feature in collection["features"]:
        assert not CONFIDENTIAL_TERRAIN_FIELDS & feature["properties"].keys()
        assert {"terr_stade_comm", "terr_puissance_kva", "site_epci_nom"} <= feature[
            "properties"
        ].keys()


def test_a_plot_lists_the_constraint_zones_it_lies_in(client, session, plots_by_flood_risk):
    zone_id = session.scalar(text("SELECT id FROM constraint_zone WHERE zone_type = 'inondation'"))
    flooded = get_json(client, f"/api/terrains/{plots_by_flood_risk[True]}")
    assert flooded["properties"]["contraintes"] == [
        {
            "id": zone_id,
            "zone_type": "inondation",
            "nom": "Zone inondable de la Loire (illustrative)",
        }
    ]
    dry = get_json(client, f"/api/terrains/{plots_by_flood_risk[False]}")
    assert dry["properties"]["contraintes"] == []


# --- bbox ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, table, key, geometry",
    [
        ("/api/terrains", "terrain", "terr_id", "terr_geomsurf"),
        ("/api/sites", "site", "site_id", "site_geomsurf"),
        ("/api/epci", "epci", "siren", "geom"),
    ],
)
def test_bbox_returns_exactly_what_postgis_says_intersects(
    client, session, url, table, key, geometry
):
    # Computed on the WGS84 side, without the API's Lambert-93 shortcut.
    expected = list(
        session.scalars(
            text(
                f"SELECT {key} FROM {table} WHERE ST_Intersects(ST_Transform({geometry}, 4326), "
                f"ST_MakeEnvelope(:a, :b, :c, :d, 4326)) ORDER BY {key}"
            ),
            dict(zip("abcd", AROUND_TOURS, strict=True)),
        )
    )
    total = session.scalar(text(f"SELECT count(*) FROM {table}"))
    assert 0 < len(expected) < total
    bbox = ",".join(map(str, AROUND_TOURS))
    collection = get_json(client, f"{url}?bbox={bbox}&limit=1000")
    assert ids(collection) == expected
    assert collection["numberMatched"] == len(expected)


@pytest.mark.parametrize(
    "bbox",
    ["1,2,3", "a,b,c,d", "0.8,47.3,0.6,47.45", "0.6,47.45,0.8,47.3", "0,91,1,92", "nan,1,2,3", ""],
)
def test_a_bad_bbox_is_a_400_with_a_message(client, bbox):
    body = get_json(client, f"/api/terrains?bbox={bbox}", status=400)
    assert "bbox" in body["description"]


@pytest.mark.parametrize("url", ["/api/terrains", "/api/sites", "/api/epci", "/api/zones"])
def test_the_whole_world_finds_everything(client, url):
    # Lambert-93 cannot transform the poles nor the antimeridian of its central meridian: the
    # box is clipped to France's surroundings first (a zoomed-out map asks for this box).
    everything = get_json(client, f"{url}?limit=1")["numberMatched"]
    assert everything > 0
    collection = get_json(client, f"{url}?bbox=-180,-90,180,90&limit=1")
    assert collection["numberMatched"] == everything


@pytest.mark.parametrize("bbox", ["-180,-90,-170,-80", "170,80,180,90", "-180,-90,180,-60"])
def test_a_bbox_far_from_france_finds_nothing(client, bbox):
    assert get_json(client, f"/api/sites?bbox={bbox}")["numberMatched"] == 0


def test_a_bbox_partly_beyond_the_frame_is_clipped_exactly(client, session):
    # From the Atlantic to the middle of Touraine: only the part east of 0.7° matters.
    expected = list(
        session.scalars(
            text(
                "SELECT site_id FROM site WHERE ST_Intersects(ST_Transform(site_geomsurf, 4326), "
                "ST_MakeEnvelope(-40, 0, 0.7, 89, 4326)) ORDER BY site_id"
            )
        )
    )
    assert 0 < len(expected) < 23
    assert ids(get_json(client, "/api/sites?bbox=-40,0,0.7,89&limit=100")) == expected


# --- paging -------------------------------------------------------------------------------------


def test_plots_are_paged_with_counts_and_links(client, session):
    everything = list(session.scalars(text("SELECT terr_id FROM terrain ORDER BY terr_id")))
    first = get_json(client, "/api/terrains")
    assert first["numberMatched"] == len(everything)
    assert first["numberReturned"] == 100 and ids(first) == everything[:100]
    assert link(first, "prev") is None
    assert query_of(link(first, "next")) == {"limit": ["100"], "offset": ["100"]}
    seen, page = [], first
    while True:
        seen += ids(page)
        following = link(page, "next")
        if following is None:
            break
        page = get_json(client, following.removeprefix("http://localhost"))
    assert seen == everything
    last_offset = int(query_of(link(page, "self"))["offset"][0])
    assert query_of(link(page, "prev"))["offset"] == [str(last_offset - 100)]


def test_page_is_an_alternative_to_offset(client):
    by_page = get_json(client, "/api/terrains?limit=30&page=3")
    by_offset = get_json(client, "/api/terrains?limit=30&offset=60")
    assert ids(by_page) == ids(by_offset) and len(ids(by_page)) == 30
    assert query_of(link(by_page, "self"))["offset"] == ["60"]


def test_links_keep_the_filters(client):
    url = "/api/terrains?stade_comm=en+vente&stade_comm=vendu%2C+commercialisation+achev%C3%A9e"
    collection = get_json(client, f"{url}&limit=10&bbox=0,46,2,48")
    query = query_of(link(collection, "next"))
    assert query["stade_comm"] == ["en vente", "vendu, commercialisation achevée"]
    assert query["bbox"] == ["0,46,2,48"] and query["offset"] == ["10"]
    assert link(collection, "next").startswith("http://localhost/api/terrains?")


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=1001",
        "limit=dix",
        "offset=-1",
        "page=0",
        "offset=10&page=2",
        "tri=nom",
        # int() takes these; the API takes plain ASCII digits only.
        "limit=1_0",
        "limit=%201",
        "limit=1%20",
        "limit=+1",
        "limit=%D9%A1",  # ARABIC-INDIC DIGIT ONE
    ],
)
def test_bad_paging_parameters_are_400s(client, query):
    body = get_json(client, f"/api/sites?{query}", status=400)
    assert body["code"] == "Bad Request" and body["description"]


@pytest.mark.parametrize(
    "query",
    [
        f"offset={MAX_OFFSET + 1}",
        f"page={MAX_PAGE + 1}",
        "offset=99999999999999999999",  # beyond PostgreSQL's bigint
        "page=99999999999999999999",
        "offset=" + "9" * 5000,  # beyond what int() converts
    ],
)
def test_huge_offsets_and_pages_are_400s(client, query):
    name = query.partition("=")[0]
    body = get_json(client, f"/api/sites?{query}", status=400)
    assert body["description"].startswith(f"{name} must be between")


@pytest.mark.parametrize("query", [f"offset={MAX_OFFSET}", f"page={MAX_PAGE}&limit=1000"])
def test_the_largest_offset_and_page_are_empty_pages(client, query):
    collection = get_json(client, f"/api/sites?{query}")
    assert collection["numberMatched"] == 23 and collection["features"] == []


@pytest.mark.parametrize(
    "query",
    [
        "bbox=0,46,2,48&bbox=-1,45,3,49",
        "limit=10&limit=20",
        "offset=0&offset=10",
        "simplify=10&simplify=20",
        f"site_id={ISOPARC}&site_id=37003_SITE-ECO_00007",
    ],
)
def test_a_single_valued_parameter_given_twice_is_a_400(client, query):
    name = query.partition("=")[0]
    body = get_json(client, f"/api/terrains?{query}", status=400)
    assert body["description"] == f"{name} must be given once, not repeated"


def test_offset_past_the_end_returns_no_feature(client):
    collection = get_json(client, "/api/sites?offset=500")
    assert collection["numberMatched"] == 23 and collection["numberReturned"] == 0
    assert link(collection, "next") is None


# --- filters and errors ---------------------------------------------------------------------


def test_plots_filter_by_park_and_marketing_stage(client, session):
    expected = list(
        session.scalars(
            text(
                "SELECT terr_id FROM terrain WHERE site_id = :site "
                "AND terr_stade_comm IN ('en vente', 'en vente avec contraintes') ORDER BY terr_id"
            ),
            {"site": ISOPARC},
        )
    )
    assert expected
    collection = get_json(
        client,
        f"/api/terrains?site_id={ISOPARC}&stade_comm=en+vente&stade_comm=en+vente+avec+contraintes",
    )
    assert ids(collection) == expected


def test_an_unknown_stage_is_a_400(client):
    body = get_json(client, "/api/terrains?stade_comm=soldé", status=400)
    assert "stade_comm" in body["description"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/sites/INCONNU",
        "/api/terrains/INCONNU",
        "/api/rien",
        "/api",
        "/api/",
        # PostgreSQL text cannot hold a NUL: no id has one.
        "/api/sites/37250_SITE-ECO_00001%00",
        "/api/terrains/a%00b",
    ],
)
def test_unknown_ids_are_json_404s(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert response.is_json and response.get_json()["code"] == "Not Found"


@pytest.mark.parametrize(
    "query",
    ["site_id=a%00b", "stade_comm=en+vente%00", "bbox=0,46,2,48%00", "limit=1%00", "a%00=1"],
)
def test_a_nul_character_in_a_parameter_is_a_json_400(client, query):
    body = get_json(client, f"/api/terrains?{query}", status=400)
    assert body["code"] == "Bad Request" and "NUL" in body["description"]


# --- simplification -----------------------------------------------------------------------------


def vertices(feature: dict) -> int:
    return len(re.findall(r"\[-?[0-9.]+, -?[0-9.]+\]", json.dumps(feature["geometry"])))


def test_zones_can_be_simplified_in_metres(client, session):
    full = get_json(client, "/api/zones")["features"]
    assert get_json(client, "/api/zones?simplify=0")["features"] == full
    simplified = get_json(client, "/api/zones?simplify=500")["features"]
    assert [f["id"] for f in simplified] == [f["id"] for f in full]
    stored = session.scalar(text("SELECT ST_NPoints(geom) FROM constraint_zone"))
    assert vertices(full[0]) == stored
    assert 4 <= vertices(simplified[0]) < stored / 2
    for feature in simplified:
        assert_valid_feature(feature)
        assert feature["properties"] == full[0]["properties"]
    # Within the tolerance of the full outline: a few hundred metres, at most 0.01°.
    assert shape(full[0]["geometry"]).hausdorff_distance(shape(simplified[0]["geometry"])) < 0.01


def test_the_simplification_is_kept_by_the_page_links(client):
    collection = get_json(client, "/api/terrains?simplify=5&limit=10")
    assert query_of(link(collection, "next"))["simplify"] == ["5"]


@pytest.mark.parametrize("value", ["-1", str(MAX_SIMPLIFY_M + 1), "1.5", "beaucoup", ""])
def test_a_bad_simplification_is_a_400(client, value):
    body = get_json(client, f"/api/zones?simplify={value}", status=400)
    assert "simplify" in body["description"]
