"""The French pages, rendered from the real session database and checked against SQL."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import request
from sqlalchemy import text, update
from web_helpers import sign_in

from foncier.models import ConstraintZone, Site, Terrain
from foncier.models.codelists import STADE_COMM_COLOURS
from foncier.web import create_app
from foncier.web.api.views import MAX_SIMPLIFY_M
from foncier.web.inventory.forms import SiteSearchForm
from seed.accounts import PARTNER_EMAIL

TOURS_METROPOLE = "243700754"
GATINE_RACAN = "200073237"
ISOPARC = "37250_SITE-ECO_00001"
DEMO_NOTICE = "Données de démonstration"
FRENCH_ORDER = 's.site_nom COLLATE "fr-x-icu", s.site_id'


def expected_site_ids(session, where: str = "TRUE", order: str = FRENCH_ORDER, **params):
    """The parks the list should show, by SQL over the same tables and view."""
    return list(
        session.scalars(
            text(
                "SELECT s.site_id FROM site s "
                "JOIN epci e ON e.siren = s.site_epci_siren "
                "JOIN commune c ON c.insee = s.site_comm_insee "
                "JOIN site_summary v ON v.site_id = s.site_id "
                f"WHERE {where} ORDER BY {order}"
            ),
            params,
        )
    )


def listed_ids(get_page, url: str) -> list[str]:
    page = get_page(url)
    assert page.status == 200, page.text
    return page.values("data-site-id")


# --- the map -----------------------------------------------------------------------------------


def test_map_page_has_the_map_its_legend_and_its_configuration(get_page):
    page = get_page("/")
    assert page.status == 200
    assert 'id="carte"' in page.html and 'data-map-config="carte-config"' in page.html
    for stade in STADE_COMM_COLOURS:
        assert stade.lower() in page.text.lower()
    for colour in set(STADE_COMM_COLOURS.values()):
        assert f'fill="{colour}"' in page.html
    config = page.json_script("carte-config")
    assert config["basemap"] == {"url": "", "attribution": ""}
    assert config["colours"] == STADE_COMM_COLOURS
    assert {layer["kind"] for layer in config["layers"]} == {"epci", "site", "terrain", "zone"}
    plots = next(layer for layer in config["layers"] if layer["kind"] == "terrain")
    assert plots["byBbox"] and plots["url"].startswith("/api/terrains")
    # Zones too: real PPRI or Natura 2000 files are too heavy to fetch whole.
    zones = next(layer for layer in config["layers"] if layer["kind"] == "zone")
    assert zones["byBbox"] and zones["url"].startswith("/api/zones")
    assert zones["simplifyMax"] == MAX_SIMPLIFY_M


def test_map_page_loads_vendored_leaflet_and_nothing_from_elsewhere(get_page):
    page = get_page("/")
    assert "/static/vendor/leaflet/leaflet.js" in page.html
    assert "/static/vendor/leaflet/leaflet.css" in page.html
    assert not re.search(r'(src|href)="(https?:)?//', page.html)


def test_map_page_passes_the_configured_basemap(get_page, session_factory, session):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SESSION_FACTORY": session_factory,
            "BASEMAP_URL": "https://tiles.example.org/{z}/{x}/{y}.png",
            "BASEMAP_ATTRIBUTION": "© Exemple",
        }
    )
    page = get_page("/", through=sign_in(app.test_client(), session, PARTNER_EMAIL))
    assert page.json_script("carte-config")["basemap"] == {
        "url": "https://tiles.example.org/{z}/{x}/{y}.png",
        "attribution": "© Exemple",
    }


# --- the list of parks --------------------------------------------------------------------------


def test_list_shows_every_park_by_name_over_two_pages(get_page, session):
    everything = expected_site_ids(session)
    assert len(everything) == 23
    first = get_page("/sites")
    assert "23 parcs trouvés" in first.text and "page 1 sur 2" in first.text
    assert first.values("data-site-id") == everything[:20]
    assert listed_ids(get_page, "/sites?page=2") == everything[20:]


def test_list_filters_by_epci(get_page, session):
    expected = expected_site_ids(session, "s.site_epci_siren = :siren", siren=TOURS_METROPOLE)
    assert len(expected) > 2
    assert listed_ids(get_page, f"/sites?epci={TOURS_METROPOLE}") == expected


def test_list_filters_by_vocation(get_page, session):
    expected = expected_site_ids(session, "s.site_vocadomi = 'industrielle'")
    assert expected
    assert listed_ids(get_page, "/sites?vocation=industrielle") == expected


@pytest.mark.parametrize("typed, hectares", [("10", 10), ("7,5", 7.5), ("7.5", 7.5)])
def test_list_filters_by_minimum_available_surface(get_page, session, typed, hectares):
    expected = expected_site_ids(session, "v.surf_disponible >= :ha", ha=hectares)
    assert 0 < len(expected) < 23
    assert listed_ids(get_page, f"/sites?surface_min={typed}") == expected


def test_text_search_looks_in_park_commune_and_epci_names(get_page, session):
    in_any_name = "(s.site_nom ILIKE :p OR c.nom ILIKE :p OR e.nom ILIKE :p)"
    by_park_or_epci = expected_site_ids(session, in_any_name, p="%ouest%")
    assert (
        len(by_park_or_epci) == 2
    )  # Parc Ouest, and ZI de Langeais in Touraine Ouest Val de Loire
    assert listed_ids(get_page, "/sites?q=OUEST") == by_park_or_epci
    by_commune = expected_site_ids(session, "c.nom = 'Sorigny'")
    assert listed_ids(get_page, "/sites?q=sorigny") == by_commune
    # Accents and case do not matter: "gatine" finds the parks of Gâtine-Racan.
    by_epci = expected_site_ids(session, "s.site_epci_siren = :siren", siren=GATINE_RACAN)
    assert listed_ids(get_page, "/sites?q=gatine") == by_epci


@pytest.mark.parametrize(
    "sort, order",
    [
        ("surface", "v.surf_disponible DESC, " + FRENCH_ORDER),
        ("vacance", "v.taux_vacance DESC NULLS LAST, " + FRENCH_ORDER),
        ("epci", 'e.nom COLLATE "fr-x-icu", ' + FRENCH_ORDER),
    ],
)
def test_list_sorts(get_page, session, sort, order):
    expected = expected_site_ids(session, order=order)
    shown = listed_ids(get_page, f"/sites?tri={sort}") + listed_ids(
        get_page, f"/sites?tri={sort}&page=2"
    )
    assert shown == expected


def page_links(page) -> list[tuple[str, dict[str, list[str]]]]:
    """(path, query) of the pagination's links, in order."""
    links = [urlsplit(href) for href in page.values("href") if "page=" in href]
    return [(link.path, parse_qs(link.query)) for link in links]


def test_page_links_keep_the_filters_and_filters_keep_their_values(get_page):
    page = get_page("/sites?q=e&epci=&tri=surface&surface_min=0,0")
    assert page.status == 200 and "page 1 sur 2" in page.text
    assert '<option selected value="surface">' in page.html
    assert 'value="0,0"' in page.html and 'value="e"' in page.html
    search = {"q": ["e"], "tri": ["surface"], "surface_min": ["0,0"]}
    # « 1 » (the current page), « 2 », « Suivante ›»
    assert page_links(page) == [("/sites", {**search, "page": [n]}) for n in ("1", "2", "2")]


@pytest.mark.parametrize(
    "query",
    ["endpoint=x", "_method=POST", "_external=1&_anchor=ailleurs", "_scheme=https", "x=y&page=1"],
)
def test_page_links_carry_the_search_form_fields_only(get_page, query):
    # url_for takes these names as its own arguments: they must not reach it.
    page = get_page(f"/sites?{query}")
    assert page.status == 200 and "23 parcs trouvés" in page.text
    assert [href for href in page.values("href") if "page=" in href] == [
        "/sites?page=1",
        "/sites?page=2",
        "/sites?page=2",
    ]


def test_pagination_links_carry_the_filters(get_page):
    page = get_page("/sites?tri=epci")
    page_links = [link for link in page.values("href") if "page=" in link]
    assert page_links and all("tri=epci" in link for link in page_links)


def test_empty_result_says_so_and_offers_a_reset(get_page):
    page = get_page("/sites?q=zzzz-introuvable")
    assert page.status == 200
    assert "Aucun parc ne correspond à ces critères" in page.text
    assert "0 parc trouvé" in page.text
    assert 'href="/sites">Réinitialiser la recherche' in page.html


def test_invalid_filters_are_explained_and_the_valid_ones_still_apply(get_page, session):
    page = get_page(f"/sites?surface_min=beaucoup&tri=hasard&epci={TOURS_METROPOLE}")
    assert page.status == 400
    assert "ne sont pas appliqués" in page.text
    assert "Saisissez un nombre positif d’hectares" in page.text
    assert "Trier par" in page.text
    assert 'value="beaucoup"' in page.html
    expected = expected_site_ids(session, "s.site_epci_siren = :siren", siren=TOURS_METROPOLE)
    assert page.values("data-site-id") == expected


@pytest.mark.parametrize("query", ["epci=999999999", "vocation=spatiale", "page=zero", "page=0"])
def test_other_invalid_filters_do_not_crash(get_page, query):
    page = get_page(f"/sites?{query}")
    assert page.status == 400
    assert len(page.values("data-site-id")) == 20


def test_a_huge_surface_is_refused_in_french(get_page):
    page = get_page("/sites?surface_min=1e999999999")
    assert page.status == 400
    assert "Saisissez au plus 100 000 hectares." in page.text
    assert len(page.values("data-site-id")) == 20


def test_the_largest_surface_and_a_tiny_one_are_searched(get_page, session):
    assert listed_ids(get_page, "/sites?surface_min=100%E2%80%AF000") == []
    some_land = expected_site_ids(session, "v.surf_disponible > 0")
    assert listed_ids(get_page, "/sites?surface_min=1e-999999999") == some_land[:20]


@pytest.mark.parametrize(
    "typed", ["1\u202f234,5", "1\u00a0234,5", "1 234,5", " 1234.5 "]
)  # as the pages print it, and as people type it
def test_the_surface_takes_french_thousands_separators(app, get_page, typed):
    with app.test_request_context("/sites", query_string={"surface_min": typed}):
        assert SiteSearchForm(formdata=request.args).criteria().min_available_ha == Decimal(
            "1234.5"
        )
    page = get_page(f"/sites?surface_min={typed}")
    assert page.status == 200 and "0 parc trouvé" in page.text


def test_a_nul_character_in_the_search_is_a_french_400(get_page):
    page = get_page("/sites?q=Iso%00parc")
    assert page.status == 400
    assert "Requête incorrecte" in page.text and 'lang="fr"' in page.html


def test_a_page_past_the_last_is_not_found(get_page):
    page = get_page("/sites?page=3")
    assert page.status == 404
    assert "Page introuvable" in page.text


# --- a park -------------------------------------------------------------------------------------


@pytest.mark.parametrize("site_id", [ISOPARC, "37050_SITE-ECO_00017", "37011_SITE-ECO_00014"])
def test_park_page_shows_its_figures_from_the_site_summary_view(get_page, session, site_id):
    summary = session.execute(
        text("SELECT * FROM site_summary WHERE site_id = :id"), {"id": site_id}
    ).one()
    page = get_page(f"/sites/{site_id}")
    assert page.status == 200
    assert page.element_text("taux-vacance") == f"{summary.taux_vacance} %"
    assert page.element_text("terrains-disponibles") == str(summary.terrains_disponibles)
    hectares = f"{summary.surf_disponible:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    assert page.element_text("surface-disponible") == f"{hectares} ha"
    assert "article L318-8-2 du Code de l’urbanisme" in page.text
    assert (
        f"{summary.uf_vacant_nbre} unité" in page.text
        and f"sur {summary.uf_nbre}" in page.text
        and f"{summary.uf_vacant_a_dater} terrain" in page.text
    )


def test_park_page_counts_the_vacant_plots_left_to_date(get_page, session):
    session.execute(
        text(
            "UPDATE terrain SET terr_vacant_depuis = NULL WHERE terr_id = (SELECT min(terr_id) "
            "FROM terrain WHERE site_id = :id AND terr_etat_occup = 'vacant')"
        ),
        {"id": ISOPARC},
    )
    summary = session.execute(
        text("SELECT * FROM site_summary WHERE site_id = :id"), {"id": ISOPARC}
    ).one()
    assert summary.uf_vacant_a_dater == 1
    page = get_page(f"/sites/{ISOPARC}")
    assert "1 terrain vacant dont le début de vacance reste à dater" in page.text
    assert page.element_text("taux-vacance") == f"{summary.taux_vacance} %"


def test_park_page_lists_its_plots_with_their_stage(get_page, session):
    plots = session.execute(
        text("SELECT terr_id, terr_stade_comm FROM terrain WHERE site_id = :id ORDER BY terr_id"),
        {"id": ISOPARC},
    ).all()
    page = get_page(f"/sites/{ISOPARC}")
    assert page.values("data-terr-id") == [terr_id for terr_id, _ in plots]
    assert f"{len(plots)} terrains" in page.text
    for terr_id, stade in plots:
        assert f'href="/terrains/{terr_id}"' in page.html
        assert stade in page.text
    assert f'fill="{STADE_COMM_COLOURS["en vente"]}"' in page.html


def test_park_page_groups_the_cnig_attributes(get_page):
    page = get_page(f"/sites/{ISOPARC}")
    for heading in [
        "Identification",
        "Surfaces",
        "Vocations",
        "Réseaux",
        "Desserte et accès",
        "Maîtrise d’ouvrage",
    ]:
        assert f">{heading}</h2>" in page.html
    assert "Isoparc" in page.text and "Sorigny" in page.text
    assert "Communauté de communes Touraine Vallée de l'Indre" in page.text
    assert 'id="carte"' in page.html


# --- a plot -------------------------------------------------------------------------------------


def test_plot_in_the_demo_flood_zone_says_so(get_page, plots_by_flood_risk):
    page = get_page(f"/terrains/{plots_by_flood_risk[True]}")
    assert page.status == 200
    assert "En zone inondable : Zone inondable de la Loire (illustrative)" in page.text


def test_plot_outside_any_zone_says_so(get_page, plots_by_flood_risk):
    page = get_page(f"/terrains/{plots_by_flood_risk[False]}")
    assert "n’est dans aucune zone de contrainte" in page.text
    assert "En zone inondable" not in page.text


def test_plot_page_shows_cnig_attributes_extensions_park_and_epci(get_page, session):
    plot = session.get(Terrain, "37250_TERRAIN-ECO_01001")
    page = get_page(f"/terrains/{plot.terr_id}")
    for label in [
        "Stade de commercialisation",
        "Parcelles cadastrales",
        "Date de disponibilité",
        "Puissance électrique disponible",
        "Régime ICPE maximal admis",
        "Divisible",
        "Lot minimal",
        "Hauteur maximale des constructions",
    ]:
        assert label in page.text
    power = f"{plot.terr_puissance_kva:,}".replace(",", " ")
    assert f"{power} kVA" in page.text
    assert plot.terr_icpe_max in page.text
    assert f'href="/sites/{plot.site_id}"' in page.html
    assert plot.site.epci.nom in page.text


# --- errors, notice, confidentiality ------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/sites/INCONNU",
        "/terrains/INCONNU",
        "/nulle-part",
        f"/sites/{ISOPARC}%00",
        "/terrains/a%00",
    ],
)
def test_unknown_pages_are_french_404s(get_page, url):
    page = get_page(url)
    assert page.status == 404
    assert "Page introuvable" in page.text and "n’existe pas" in page.text
    assert 'lang="fr"' in page.html


@pytest.mark.parametrize("url", ["/", "/sites", f"/sites/{ISOPARC}", "/terrains/INCONNU"])
def test_demo_notice_shows_on_every_page(get_page, url):
    page = get_page(url)
    assert DEMO_NOTICE in page.text
    assert "ne sont pas des données officielles" in page.text


def test_demo_notice_goes_once_no_record_is_illustrative(get_page, session):
    for model in (Site, Terrain, ConstraintZone):
        session.execute(update(model).values(is_demo=False))
    session.commit()
    assert DEMO_NOTICE not in get_page("/").text


def test_no_owner_nor_confidential_sale_field_appears_anywhere(client, get_page, session):
    # Owners that are public bodies are named as EPCIs on every page, rightly: they are not
    # the personal data at stake. Private owners and buyers are.
    secrets = set(
        session.scalars(
            text(
                "SELECT nom FROM owner WHERE nom NOT IN (SELECT nom FROM epci) "
                "UNION SELECT terr_acquereur FROM terrain WHERE terr_acquereur IS NOT NULL"
            )
        )
    )
    assert len(secrets) > 50
    touched = list(
        session.scalars(
            text(
                "SELECT DISTINCT o.terr_id FROM owner o WHERE o.nom NOT IN (SELECT nom FROM epci) "
                "UNION SELECT terr_id FROM terrain WHERE terr_acquereur IS NOT NULL"
            )
        )
    )
    urls = ["/", "/sites", "/sites?page=2", "/api/sites?limit=1000", "/api/terrains?limit=1000"]
    urls += [f"/sites/{site_id}" for site_id in session.scalars(text("SELECT site_id FROM site"))]
    urls += [f"/terrains/{terr_id}" for terr_id in touched]
    urls += [f"/api/terrains/{terr_id}" for terr_id in touched[::7]]
    for url in urls:
        body = html.unescape(client.get(url).get_data(as_text=True))
        leaked = [secret for secret in secrets if secret in body]
        assert not leaked, f"{url} shows {leaked[:3]}"
        assert "terr_acquereur" not in body and "terr_vente_montant" not in body, url
