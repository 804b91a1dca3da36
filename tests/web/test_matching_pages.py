"""The search pages: the needs form, ranked plots, « pourquoi pas ? », comparison, sheets."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from web_helpers import form_values, visible_text

from foncier.matching import CRITERIA, DEFAULT_WEIGHTS, match, parse_needs, why_not
from foncier.matching import engine as engine_module
from foncier.models import Epci, Owner, Terrain
from foncier.web.matching.examples import EXAMPLES
from foncier.web.matching.explaining import explain, ranking, scan
from foncier.web.matching.presenting import EXCLUSION_REASONS, exclusion_sentence, exclusions
from seed.accounts import COORDINATOR_EMAIL

EXAMPLE = {example.key: example for example in EXAMPLES}
LOGISTICS = EXAMPLE["logisticien"].parameters
ARTISAN = EXAMPLE["artisan"].parameters
INDUSTRY = EXAMPLE["industriel"].parameters
SMALL_PLOTS = {"surface_min_ha": "0,3", "budget_max_eur_m2": "40"}


def url(path: str, parameters: dict | None = None, **more) -> str:
    return f"{path}?{urlencode({**(parameters or {}), **more}, doseq=True)}"


def ranked(session, needs: dict, limit: int = 20) -> list[str]:
    """The plots the engine ranks for ``needs`` (JSON data), best first."""
    return [result.terr_id for result in match(session, parse_needs(needs), limit=limit).results]


def checked(page_html: str, name: str) -> list[str]:
    """The values of the ticked checkboxes named ``name``."""
    inputs = re.findall(rf'<input[^>]*name="{name}"[^>]*>', page_html)
    return [re.search(r'value="([^"]*)"', tag).group(1) for tag in inputs if " checked" in tag]


def errors_of(page, field_id: str) -> str:
    """The messages shown beside the field ``field_id``."""
    found = re.search(rf'id="{field_id}-erreurs">(.*?)</ul>', page.html, flags=re.S)
    assert found, f"no message beside {field_id}"
    return visible_text(found.group(1))


# --- the form --------------------------------------------------------------------------------


def test_the_menu_leads_to_the_search(get_page):
    page = get_page("/")
    assert 'href="/recherche"' in page.html and "Recherche de terrain" in page.text


def test_a_first_visit_shows_the_form_and_the_examples_only(get_page):
    page = get_page("/recherche")
    assert page.status == 200
    assert 'id="besoins"' in page.html and 'method="get"' in page.html
    assert "Terrains classés" not in page.text and 'id="erreurs-besoins"' not in page.html
    for example in EXAMPLES:
        assert example.label in page.text
    # Every key of the needs has its field, and every criterion its weight with its default.
    fields = form_values(page.html, "besoins")
    for name in ("surface_min_ha", "surface_max_ha", "budget_max_eur_m2", "naf", "vocation",
                 "icpe_regime", "power_min_kva", "motorway_max_km", "needed_by", "height_min_m",
                 "near_lat", "near_lon", "near_max_km", "origin_epci", "label"):  # fmt: skip
        assert name in fields, name
    for name in ("networks_required", "networks_wanted", "avoid_zones", "budget_is_hard",
                 "turnkey_required"):  # fmt: skip
        assert f'name="{name}"' in page.html
    for spec in CRITERIA:
        assert float(fields[f"poids_{spec.name}"]) == DEFAULT_WEIGHTS[spec.name]


@pytest.mark.parametrize("key", sorted(EXAMPLE))
def test_an_example_prefills_the_form_and_searches(get_page, key):
    home = get_page("/recherche")
    link = re.search(rf'id="exemple-{key}" href="([^"]+)"', home.html).group(1)
    page = get_page(link.replace("&amp;", "&"))
    assert page.status == 200
    fields = form_values(page.html, "besoins")
    for name, value in EXAMPLE[key].parameters.items():
        if isinstance(value, list):
            assert sorted(checked(page.html, name)) == sorted(value)
        else:
            assert fields[name] == value
    assert "Terrains classés" in page.text


def test_refused_values_are_explained_in_french_beside_their_field(get_page):
    page = get_page(
        url(
            "/recherche",
            surface_min_ha="beaucoup",
            surface_max_ha="2",
            near_lat="47,4",
            needed_by="31/02/2026",
            poids_prix="-1",
            naf="ABC",
        )
    )
    assert page.status == 400
    assert "La recherche n’a pas pu être lancée" in page.text
    assert "Saisissez une surface positive en hectares" in errors_of(page, "surface_min_ha")
    assert "Saisissez une date" in errors_of(page, "needed_by")
    assert "Saisissez un poids positif ou nul" in errors_of(page, "poids_prix")
    # What only the engine checks shows at the same time: a place needs its longitude.
    assert "Indiquez une longitude" in errors_of(page, "near_lon")
    assert "Indiquez un code NAF comme 52.10B" in errors_of(page, "naf")
    assert 'id="classement"' not in page.html
    # What was typed stays, to be corrected.
    fields = form_values(page.html, "besoins")
    assert fields["surface_min_ha"] == "beaucoup" and fields["near_lat"] == "47,4"
    assert 'aria-invalid="true"' in page.html


def test_the_markup_never_reads_none_and_messages_describe_their_field(get_page):
    for address in ("/recherche", url("/recherche", SMALL_PLOTS), url("/recherche", LOGISTICS)):
        assert '="None"' not in get_page(address).html, address
    refused = get_page(url("/recherche", surface_min_ha="beaucoup")).html
    assert '="None"' not in refused
    assert re.search(r'aria-describedby="[^"]*surface_min_ha-erreurs"', refused)


def test_the_engine_s_cross_field_checks_reach_the_form(get_page):
    page = get_page(url("/recherche", surface_min_ha="3", surface_max_ha="2"))
    assert page.status == 400
    assert errors_of(page, "surface_max_ha") == (
        "La surface maximale doit être au moins égale à la surface minimale."
    )
    zero = {f"poids_{spec.name}": "0" for spec in CRITERIA}
    page = get_page(url("/recherche", {"surface_min_ha": "1", **zero}))
    assert page.status == 400
    assert "au moins un critère qui s’applique doit avoir un poids positif" in page.text.lower()


def test_a_search_needs_a_minimum_surface(get_page):
    page = get_page(url("/recherche", budget_max_eur_m2="30"))
    assert page.status == 400
    assert errors_of(page, "surface_min_ha") == (
        "Indiquez une surface minimale positive, en hectares."
    )


# --- results ---------------------------------------------------------------------------------


def test_results_are_the_engine_s_ranking_with_their_criteria(get_page, session):
    page = get_page(url("/recherche", SMALL_PLOTS))
    assert page.status == 200
    expected = ranked(session, {"surface_min_ha": 0.3, "budget_max_eur_m2": 40})
    assert page.values("data-terr-id") == expected
    assert page.values("data-rank") == [str(rank) for rank in range(1, len(expected) + 1)]
    criteria_rows = page.values("data-criterion")
    assert criteria_rows == [spec.name for spec in CRITERIA] * len(expected)
    first = session.get(Terrain, expected[0])
    assert (
        first.site.site_nom in page.text
        and session.get(Epci, first.site.site_epci_siren).nom in page.text
    )
    assert "Échangeur autoroutier à" in page.text  # the engine's explanations are shown
    result = match(session, parse_needs({"surface_min_ha": 0.3, "budget_max_eur_m2": 40}))
    assert f"{result.candidates} terrains répondent à tous les critères impératifs" in page.text
    assert f"sur {result.available} terrains en vente" in page.text


def test_the_map_and_the_script_get_the_results(get_page):
    page = get_page(url("/recherche", LOGISTICS))
    config = page.json_script("recherche-config")
    assert [r["terr_id"] for r in config["result"]["results"]] == page.values("data-terr-id")
    assert config["api"] == {"match": "/api/match", "whyNot": "/api/match/why/__ID__"}
    assert config["needs"]["surface_min_ha"] == 5.0
    map_config = page.json_script("carte-config")
    assert [layer["kind"] for layer in map_config["layers"]] == ["epci", "zone", "terrain"]
    assert "/static/js/matching.js" in page.html and "/static/js/map.js" in page.html


def test_weights_rerank_without_script(get_page, session):
    default = get_page(url("/recherche", SMALL_PLOTS)).values("data-terr-id")
    weighted = get_page(url("/recherche", SMALL_PLOTS, poids_prix="0", poids_autoroute="5"))
    expected = ranked(
        session,
        {"surface_min_ha": 0.3, "budget_max_eur_m2": 40, "weights": {"prix": 0, "autoroute": 5}},
    )
    assert weighted.values("data-terr-id") == expected != default
    assert 'id="poids" open' in weighted.html  # the changed weights are in sight


def test_the_origin_epci_changes_nothing(get_page):
    alone = get_page(url("/recherche", SMALL_PLOTS))
    with_origin = get_page(url("/recherche", SMALL_PLOTS, origin_epci="243700754"))
    assert with_origin.values("data-terr-id") == alone.values("data-terr-id")
    assert re.search(r'<option selected value="243700754">', with_origin.html)


def test_more_results_on_demand_up_to_a_hundred(get_page, session):
    needs = {"surface_min_ha": 0.01}
    everything = ranked(session, needs, limit=100)
    assert len(everything) > 20
    page = get_page(url("/recherche", surface_min_ha="0,01"))
    assert page.values("data-terr-id") == everything[:20]
    more = re.search(r'id="plus-de-resultats" href="([^"]+)"', page.html).group(1)
    assert parse_qs(urlsplit(more.replace("&amp;", "&")).query)["limit"] == ["40"]
    page = get_page(more.replace("&amp;", "&"))
    assert page.values("data-terr-id") == everything[:40]
    assert get_page(url("/recherche", surface_min_ha="0,01", limit="101")).status == 400


def test_an_empty_result_says_what_excluded_most_and_how_to_relax_it(get_page, session):
    # No plot takes a Seveso plant drawing 1 GVA.
    asked = {"surface_min_ha": "3", "icpe_regime": "seveso seuil haut", "power_min_kva": "1000000"}
    needs = {"surface_min_ha": 3, "icpe_regime": "seveso seuil haut", "power_min_kva": 1_000_000}
    assert ranked(session, needs) == []
    page = get_page(url("/recherche", asked))
    assert page.status == 200
    assert "Aucun terrain ne répond à tous les critères impératifs." in page.text
    box = page.html[page.html.index('id="aucun-resultat"') :]
    box = box[: box.index("</div>")]
    relaxations = re.findall(r'<a href="([^"]+)">([^<]+)</a>', box)
    labels = [label for _, label in relaxations]
    assert set(labels) <= {"Chercher sans régime ICPE", "Chercher sans puissance minimale"}
    assert labels, "a way to relax the search is offered"
    for address, label in relaxations:
        kept = set(parse_qs(urlsplit(address.replace("&amp;", "&")).query))
        left_out = "icpe_regime" if "ICPE" in label else "power_min_kva"
        assert kept == {"surface_min_ha", "icpe_regime", "power_min_kva"} - {left_out}
    excluded = match(session, parse_needs(needs)).excluded
    # Most excluding first; on a tie, in the engine's order of constraints (ICPE first).
    icpe_first = excluded["icpe"] >= excluded["puissance"]
    assert labels[0] == (
        "Chercher sans régime ICPE" if icpe_first else "Chercher sans puissance minimale"
    )


# --- « pourquoi pas ? » ---------------------------------------------------------------------


def test_why_not_names_the_flood_zone(get_page, plots_by_flood_risk):
    flooded = plots_by_flood_risk[True]
    page = get_page(url("/recherche", SMALL_PLOTS, avoid_zones="inondation", pourquoi=flooded))
    answer = page.element_text("pourquoi-reponse")
    assert f"Le terrain {flooded} est écarté" in page.text
    assert "Zone inondable de la Loire" in page.html[page.html.index('id="pourquoi-reponse"') :]
    assert answer  # the box is filled
    assert form_values(page.html, "pourquoi")["pourquoi"] == flooded


def test_why_not_of_a_ranked_plot_gives_its_rank_and_breakdown(get_page, session):
    third = ranked(session, {"surface_min_ha": 0.3, "budget_max_eur_m2": 40})[2]
    page = get_page(url("/recherche", SMALL_PLOTS, pourquoi=third))
    box = page.html[page.html.index('id="pourquoi-reponse"') :]
    assert "répond à tous les critères impératifs" in box and "classé 3<sup>e</sup>" in box
    assert box.count("data-criterion=") == len(CRITERIA)


def test_why_not_of_an_unknown_plot_says_so(get_page):
    page = get_page(url("/recherche", SMALL_PLOTS, pourquoi="INCONNU"))
    assert page.status == 200 and "Aucun terrain n’a l’identifiant « INCONNU »." in page.text


# --- comparison and sheet --------------------------------------------------------------------


def test_the_comparison_form_carries_the_search(get_page):
    page = get_page(url("/recherche", SMALL_PLOTS))
    carried = form_values(page.html, "comparaison")
    assert carried["surface_min_ha"] == "0,3" and carried["budget_max_eur_m2"] == "40"
    assert page.html.count('form="comparaison"') == len(page.values("data-terr-id"))


def test_plots_are_compared_side_by_side(get_page, session, plots_by_flood_risk):
    best, second = ranked(session, {"surface_min_ha": 0.3, "budget_max_eur_m2": 40})[:2]
    flooded = plots_by_flood_risk[True]
    page = get_page(
        url(
            "/recherche/comparer",
            SMALL_PLOTS,
            avoid_zones="inondation",
            terr=[best, second, flooded],
        )
    )
    assert page.status == 200
    assert page.values("data-terr-id") == [best, second, flooded]
    assert "1<sup>er</sup> sur" in page.html and "Écarté" in page.text
    assert "Zone inondable de la Loire" in page.text
    for spec in CRITERIA:
        assert f'data-criterion="{spec.name}"' in page.html
    for fact in ("surface", "prix", "puissance", "icpe", "reseaux", "autoroute", "zones"):
        assert f'data-fact="{fact}"' in page.html


@pytest.mark.parametrize("count", [0, 1, 5])
def test_a_comparison_needs_two_to_four_plots(get_page, session, count):
    plots = ranked(session, {"surface_min_ha": 0.01}, limit=5)[:count]
    page = get_page(url("/recherche/comparer", SMALL_PLOTS, terr=plots))
    assert page.status == 400
    assert "Cochez de 2 à 4 terrains à comparer" in page.text


def test_the_printable_sheet_has_the_facts_the_outline_and_the_score(get_page, session):
    best = ranked(session, {"surface_min_ha": 0.3, "budget_max_eur_m2": 40})[0]
    plot = session.get(Terrain, best)
    page = get_page(url(f"/recherche/fiche/{best}", SMALL_PLOTS, label="Société Exemple"))
    assert page.status == 200
    assert f"{plot.site.site_nom} — terrain {best}" in page.text
    assert "Proposition de terrain · Société Exemple" in page.text
    assert re.search(r'<path d="M[0-9., LMZ]+"', page.html), "the outline is drawn"
    assert "1<sup>er</sup> des" in page.html
    assert page.html.count("data-criterion=") == len(CRITERIA)
    assert "ecran-seulement" in page.html  # the buttons the print stylesheet leaves out


def test_the_print_stylesheet_keeps_the_sheet_to_its_content(client):
    css = client.get("/static/css/foncier.css").get_data(as_text=True)
    printed = css[css.index("@media print") :]
    assert ".entete" in printed and ".ecran-seulement" in printed and "display: none" in printed


def test_a_sheet_of_an_unknown_plot_is_a_404(get_page):
    assert get_page("/recherche/fiche/INCONNU").status == 404


def test_private_fields_never_reach_the_search_pages(client_for, session, get_page):
    """Owners and the sale stay on the plot's own page, even for the coordinator who may read
    them there: a comparison or a sheet is made to be handed to a company."""
    best, second = ranked(session, {"surface_min_ha": 0.3, "budget_max_eur_m2": 40})[:2]
    plot = session.get(Terrain, best)
    plot.terr_acquereur = "Acquéreur Confidentiel"
    session.add(Owner(terr_id=best, nom="Propriétaire Confidentiel", nature="personne morale"))
    session.flush()
    coordinator = client_for(COORDINATOR_EMAIL)
    assert "Propriétaire Confidentiel" in get_page(f"/terrains/{best}", through=coordinator).text
    pages = [
        url("/recherche", SMALL_PLOTS, pourquoi=best),
        url("/recherche/comparer", SMALL_PLOTS, terr=[best, second]),
        url(f"/recherche/fiche/{best}", SMALL_PLOTS),
    ]
    for address in pages:
        page = get_page(address, through=coordinator)
        assert page.status == 200, address
        assert "Confidentiel" not in page.html, address


# --- empty states, wording and numbers --------------------------------------------------------


def empty_state(page) -> str:
    box = page.html[page.html.index('id="aucun-resultat"') :]
    return box[: box.index("</div>")]


def test_an_empty_result_among_plots_on_sale_lists_what_excluded_them(get_page, session):
    """No plot is that large, yet plots are on sale: say why, not that none is on sale."""
    asked = {"surface_min_ha": "50"}
    result = match(session, parse_needs({"surface_min_ha": 50}))
    assert result.candidates == 0 and result.available > 0
    page = get_page(url("/recherche", asked))
    box = empty_state(page)
    assert "Aucun terrain du réseau n’est en vente" not in page.text
    surface = re.search(r'<li data-constraint="surface">(.*?)</li>', box, flags=re.S).group(1)
    assert visible_text(surface) == exclusion_sentence(
        exclusions({"surface": result.excluded["surface"]}, {})[0]
    )
    # No maximum surface to leave out: no link, and the person is told to edit the search.
    assert "<a " not in box and "Modifiez ces critères" in box
    assert 'data-constraint="disponibilite"' not in box  # not a reason among plots on sale


def test_an_empty_result_offers_links_only_for_what_can_be_relaxed(get_page, session):
    asked = {"surface_min_ha": "0,01", "power_min_kva": "1000000"}
    result = match(session, parse_needs({"surface_min_ha": 0.01, "power_min_kva": 1_000_000}))
    assert result.candidates == 0 and result.excluded["puissance"] > 0
    box = empty_state(get_page(url("/recherche", asked)))
    items = dict(re.findall(r'<li data-constraint="(\w+)">(.*?)</li>', box, flags=re.S))
    listed = {name for name, count in result.excluded.items() if count and name != "disponibilite"}
    assert set(items) == listed
    for name, item in items.items():
        link = re.search(r'<a href="([^"]+)">([^<]+)</a>', item)
        if name == "puissance":
            assert link and link.group(2) == "Chercher sans puissance minimale"
            kept = set(parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query))
            assert kept == {"surface_min_ha"}
        else:  # nothing set in the search that leaving out would relax
            assert link is None, item
    assert "Modifiez ces critères" not in box


def test_nothing_on_sale_is_said_only_when_nothing_is_on_sale(get_page, session):
    session.query(Terrain).update({Terrain.terr_stade_comm: "vendu, commercialisation achevée"})
    session.flush()
    page = get_page(url("/recherche", SMALL_PLOTS))
    assert "Aucun terrain du réseau n’est en vente en ce moment." in empty_state(page)
    assert "sur 0 terrain en vente" in page.text


@pytest.mark.parametrize("constraint", sorted(EXCLUSION_REASONS))
def test_every_exclusion_agrees_with_its_count(constraint):
    one, many = (exclusions({constraint: count}, {})[0] for count in (1, 1200))
    singular, plural_form = EXCLUSION_REASONS[constraint]
    assert exclusion_sentence(one) == f"1 terrain {singular}"
    assert exclusion_sentence(many) == f"1\u202f200 terrains {plural_form}"
    # No plural verb nor adjective is left in the singular.
    plural_words = {"sont", "ont", "n’ont", "dépassent", "acceptent", "permettent", "clés"}
    assert not plural_words & set(singular.split()), singular
    assert "disponibles" not in singular and singular != plural_form


def test_the_date_exclusion_reads_well_in_both_numbers():
    one, two = (exclusions({"date": count}, {})[0] for count in (1, 2))
    assert exclusion_sentence(one) == "1 terrain n’est pas disponible à temps"
    assert exclusion_sentence(two) == "2 terrains ne sont pas disponibles à temps"


def test_counts_are_written_with_thousands_separators(app, session):
    result = match(session, parse_needs({"surface_min_ha": 0.3}), limit=1)
    large = dataclasses.replace(result, plots=1_000_000, available=12_345, candidates=2_000)
    with app.test_request_context():
        macros = app.jinja_env.get_template("matching/_matching.html").module
        text = str(macros.results_count(large))
    assert "sur 12\u202f345 terrains en vente et 1\u202f000\u202f000 dans l’inventaire" in text
    assert text.startswith("2\u202f000 terrains répondent")
    script = (Path(app.static_folder) / "js" / "matching.js").read_text(encoding="utf-8")
    assert "${integer(result.plots)} dans l’inventaire" in script


# --- one pass over the plots on offer per page ---------------------------------------------------


@pytest.fixture
def scans(monkeypatch) -> list[int]:
    """How many times a request read every plot on offer (the engine's scan_offer)."""
    counted: list[int] = []
    original = engine_module.scan_offer

    def counting(*args, **kwargs):
        counted.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(engine_module, "scan_offer", counting)
    return counted


def test_a_search_explaining_a_plot_beyond_the_list_scans_once(get_page, session, scans):
    everything = ranked(session, {"surface_min_ha": 0.01}, limit=100)
    beyond = everything[24]
    scans.clear()
    page = get_page(url("/recherche", surface_min_ha="0,01", pourquoi=beyond))
    assert len(scans) == 1
    box = page.html[page.html.index('id="pourquoi-reponse"') :]
    assert "classé 25<sup>e</sup>" in box and "au-delà des 20 résultats affichés" in box
    assert page.values("data-terr-id") == everything[:20]


def test_a_comparison_of_four_plots_scans_once(get_page, session, scans, plots_by_flood_risk):
    plots = ranked(session, {"surface_min_ha": 0.01}, limit=4)
    scans.clear()
    page = get_page(url("/recherche/comparer", surface_min_ha="0,01", terr=plots))
    assert page.status == 200 and len(scans) == 1
    assert page.html.count("<sup>") >= 4
    # Plots that fail a hard constraint need no scan at all.
    flooded = plots_by_flood_risk[True]
    scans.clear()
    asked = {"surface_min_ha": "1000000", "avoid_zones": "inondation"}
    page = get_page(url("/recherche/comparer", asked, terr=[flooded, plots[0]]))
    assert page.status == 200 and scans == [] and page.text.count("Écarté") == 2


def test_the_shared_scan_answers_what_match_and_why_not_answer(session, plots_by_flood_risk):
    for data in ({"surface_min_ha": 0.01}, {"surface_min_ha": 0.3, "avoid_zones": ["inondation"]}):
        needs = parse_needs(data)
        scanned = scan(session, needs)
        assert ranking(session, scanned, 30) == match(session, needs, limit=30)
        chosen = [*ranked(session, data, limit=40)[::13], plots_by_flood_risk[True], "INCONNU"]
        answers = explain(session, needs, chosen, lambda scanned=scanned: scanned)
        assert set(answers) == set(chosen) - {"INCONNU"}
        for terr_id, answer in answers.items():
            assert answer == why_not(session, needs, terr_id)
