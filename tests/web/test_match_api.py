"""POST /api/match and /api/match/why/<terr_id>: the engine's JSON for scripts, in English."""

from __future__ import annotations

import io
import json
import math

import pytest

from foncier.matching import match, parse_needs, why_not
from foncier.models import Terrain
from foncier.models.codelists import STADES_DISPONIBLES
from foncier.web.api import match as match_api
from foncier.web.api.match import MAX_BODY_BYTES, TOO_BIG_NUMBERS, TOO_LARGE

LOGISTICS = {
    "surface_min_ha": 5,
    "naf": "52.10B",
    "motorway_max_km": 10,
    "power_min_kva": 1000,
    "networks_required": ["reseau_electrique"],
    "networks_wanted": ["reseau_electrique", "reseau_fret_ferroviaire"],
}
SMALL_PLOTS = {"surface_min_ha": 0.3, "budget_max_eur_m2": 40}


def post_match(client, needs, query: str = "", status: int = 200) -> dict:
    response = client.post(f"/api/match{query}", json=needs)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def test_the_api_answers_what_the_engine_answers(client, session):
    answer = post_match(client, LOGISTICS)
    assert answer == match(session, parse_needs(LOGISTICS)).to_json()
    assert answer["results"], "the demo has plots for a logistics company"
    assert set(answer) >= {"needs", "weights", "results", "excluded", "candidates", "available"}


def test_results_are_ranked_explained_and_meet_the_hard_constraints(client, session):
    answer = post_match(client, LOGISTICS)
    scores = [result["score"] for result in answer["results"]]
    assert scores == sorted(scores, reverse=True)
    assert [result["rank"] for result in answer["results"]] == list(range(1, len(scores) + 1))
    for result in answer["results"]:
        plot = session.get(Terrain, result["terr_id"])
        assert plot.terr_stade_comm in STADES_DISPONIBLES
        assert plot.terr_surf_brute >= 5 and plot.terr_puissance_kva >= 1000
        assert plot.site.autoroute_echang_dist <= 10 and plot.site.reseau_electrique
        assert result["epci_siren"] == plot.site.site_epci_siren
        contributions = math.fsum(criterion["contribution"] for criterion in result["criteria"])
        assert contributions == pytest.approx(result["score"], abs=1e-5)
        assert all(criterion["explanation"].endswith(".") for criterion in result["criteria"])


def test_excluded_plots_are_counted_by_constraint(client, session):
    answer = post_match(client, LOGISTICS)
    plots = session.query(Terrain).count()
    assert sum(answer["excluded"].values()) + answer["candidates"] == plots
    assert answer["excluded"]["disponibilite"] == plots - answer["available"]


def test_limit_bounds_the_results(client):
    everything = post_match(client, SMALL_PLOTS, "?limit=1000")
    assert everything["candidates"] > 3 and len(everything["results"]) == everything["candidates"]
    three = post_match(client, SMALL_PLOTS, "?limit=3")
    assert three["results"] == everything["results"][:3]
    assert len(post_match(client, SMALL_PLOTS)["results"]) == min(20, everything["candidates"])


@pytest.mark.parametrize("query", ["?limit=0", "?limit=1001", "?limit=abc", "?limit=99999999999"])
def test_a_bad_limit_is_refused(client, query):
    answer = post_match(client, SMALL_PLOTS, query, status=400)
    assert answer["code"] == "Bad Request" and "limit must be an integer" in answer["description"]


def test_unknown_and_repeated_parameters_are_refused(client):
    assert (
        "unknown parameter 'top'" in post_match(client, SMALL_PLOTS, "?top=3", 400)["description"]
    )
    repeated = post_match(client, SMALL_PLOTS, "?limit=3&limit=4", 400)
    assert "limit must be given once" in repeated["description"]


def test_invalid_needs_list_every_problem_in_english(client):
    answer = post_match(
        client,
        {"surface_max_ha": -1, "icpe_regime": "beaucoup", "near": {"lat": 47.4}, "couleur": 1},
        status=400,
    )
    assert answer["code"] == "Bad Request" and answer["description"].startswith("invalid needs")
    errors = {error["path"]: error["message"] for error in answer["errors"]}
    assert set(errors) >= {"surface_min_ha", "surface_max_ha", "icpe_regime", "near.lon", "couleur"}
    assert errors["surface_min_ha"].startswith("give a positive minimum surface, in hectares")
    assert "ICPE regime" in errors["icpe_regime"]


def test_a_cross_field_mistake_is_explained(client):
    answer = post_match(client, {"surface_min_ha": 3, "surface_max_ha": 2}, status=400)
    assert answer["errors"] == [
        {
            "path": "surface_max_ha",
            "message": "the maximum surface must be at least the minimum surface",
        }
    ]


def test_the_body_must_be_json(client):
    refused = client.post("/api/match", data="surface_min_ha=3")
    assert refused.status_code == 415
    assert "Content-Type: application/json" in refused.get_json()["description"]
    malformed = client.post("/api/match", data="{", content_type="application/json")
    assert malformed.status_code == 400
    assert malformed.get_json()["description"] == "the body is not valid JSON"
    assert post_match(client, [1, 2], status=400)["errors"][0]["path"] == ""


def test_signed_out_scripts_get_a_json_401(anonymous_client):
    for url in ("/api/match", "/api/match/why/37250_TERRAIN-ECO_01001"):
        response = anonymous_client.post(url, json=SMALL_PLOTS)
        assert response.status_code == 401 and response.get_json()["code"] == "Unauthorized"


def test_scripts_need_no_csrf_token_but_forms_still_do(client):
    """The match API only reads and takes JSON only: a script with a session cookie calls it
    without a CSRF token, while every form POST keeps needing one."""
    assert client.post("/api/match", json=SMALL_PLOTS).status_code == 200
    assert (
        client.post("/api/match/why/37250_TERRAIN-ECO_01001", json=SMALL_PLOTS).status_code == 200
    )
    # What a page of another site can make a browser send is refused before any search.
    for content_type in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data"):
        response = client.post("/api/match", data="{}", content_type=content_type)
        assert response.status_code == 415
    assert client.post("/deconnexion").status_code == 400  # other POSTs: CSRF token required


def test_why_not_names_the_flood_zone_of_a_flooded_plot(client, plots_by_flood_risk):
    flooded = plots_by_flood_risk[True]
    needs = {"surface_min_ha": 0.01, "avoid_zones": ["inondation"]}
    response = client.post(f"/api/match/why/{flooded}", json=needs)
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["terr_id"] == flooded and answer["eligible"] is False
    zones = [failure for failure in answer["failed"] if failure["constraint"] == "zones"]
    assert zones and "Zone inondable de la Loire" in zones[0]["explanation"]
    assert "rank" not in answer and "criteria" not in answer


def test_why_not_gives_the_rank_of_an_eligible_plot(client, session):
    ranked = post_match(client, SMALL_PLOTS, "?limit=1000")["results"]
    fifth = ranked[4]
    answer = client.post(f"/api/match/why/{fifth['terr_id']}", json=SMALL_PLOTS).get_json()
    assert answer["eligible"] is True and answer["failed"] == []
    assert answer["rank"] == 5 and answer["score"] == fifth["score"]
    assert answer["criteria"] == fifth["criteria"]
    assert answer == why_not(session, parse_needs(SMALL_PLOTS), fifth["terr_id"]).to_json()


def test_why_not_of_an_unknown_plot_is_a_404(client):
    response = client.post("/api/match/why/INCONNU", json=SMALL_PLOTS)
    assert response.status_code == 404 and response.get_json()["code"] == "Not Found"


def test_invalid_needs_are_refused_by_why_not_too(client):
    response = client.post("/api/match/why/37250_TERRAIN-ECO_01001", json={"vocation": "spatiale"})
    assert response.status_code == 400
    assert {error["path"] for error in response.get_json()["errors"]} == {
        "surface_min_ha",
        "vocation",
    }


# --- input limits: a body can neither tie up a worker nor cause a 500 ------------------------


def test_a_body_over_64_kb_is_refused_before_it_is_read(client):
    needs = json.dumps(SMALL_PLOTS)
    just_under = needs + " " * (MAX_BODY_BYTES - len(needs))
    accepted = client.post("/api/match", data=just_under, content_type="application/json")
    assert accepted.status_code == 200
    for url in ("/api/match", "/api/match/why/37250_TERRAIN-ECO_01001"):
        refused = client.post(url, data=just_under + " ", content_type="application/json")
        assert refused.status_code == 413 and refused.mimetype == "application/json"
        answer = refused.get_json()
        assert answer["code"] == "Request Entity Too Large"
        assert answer["description"] == TOO_LARGE and "64 KB" in answer["description"]


def test_a_body_without_length_is_cut_at_64_kb(client):
    """Chunked transfer: no Content-Length to check up front, reading stops at the limit."""
    body = (json.dumps(SMALL_PLOTS) + " " * MAX_BODY_BYTES).encode()
    refused = client.post(
        "/api/match",
        input_stream=io.BytesIO(body),
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert refused.status_code == 413 and refused.get_json()["description"] == TOO_LARGE


@pytest.mark.parametrize(
    "body",
    [
        "[" * 5000 + "]" * 5000,  # deeper than the JSON parser goes
        json.dumps({**SMALL_PLOTS, "near": {"lat": 47.4, "lon": 0.7, "x": [[[[[]]]]]}}),
        '{"surface_min_ha": ' + "9" * 400 + "}",  # beyond any float
        '{"surface_min_ha": 1, "weights": {"surface": 1e308, "prix": 1e308}}',
        '{"surface_min_ha": 1e999}',
        '{"surface_min_ha": 1, "near": {"lat": 47.4, "lon": 0.7, "max_km": 1e308}}',
    ],
)
def test_pathological_needs_are_a_400_never_a_500(client, body):
    for url in ("/api/match", "/api/match/why/37250_TERRAIN-ECO_01001"):
        response = client.post(url, data=body, content_type="application/json")
        assert response.status_code == 400, response.get_data(as_text=True)
        assert response.get_json()["code"] == "Bad Request"


def test_needs_nested_just_within_the_parser_s_reach_are_a_400(client):
    """Deep enough for the checks to recurse far, not for the JSON parser to refuse it."""
    deep = "[" * 900 + "]" * 900
    for url in ("/api/match", "/api/match/why/37250_TERRAIN-ECO_01001"):
        body = '{"surface_min_ha": 1, "networks_required": ' + deep + "}"
        response = client.post(url, data=body, content_type="application/json")
        assert response.status_code == 400 and response.get_json()["code"] == "Bad Request"


def test_an_overflow_in_the_engine_is_a_400(client, monkeypatch):
    """Should a number pass the checks and overflow a computation, the client hears why."""

    def overflowing(*args, **kwargs):
        raise OverflowError("math range error")

    monkeypatch.setattr(match_api, "match", overflowing)
    monkeypatch.setattr(match_api, "why_not", overflowing)
    for url in ("/api/match", "/api/match/why/37250_TERRAIN-ECO_01001"):
        response = client.post(url, json=SMALL_PLOTS)
        assert response.status_code == 400
        assert response.get_json()["description"] == TOO_BIG_NUMBERS
