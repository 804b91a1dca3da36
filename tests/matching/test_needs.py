"""Needs: the JSON Schema, French and English messages per field, normalisation, NAF codes."""

from __future__ import annotations

import json
import time
from datetime import date

import pytest
from jsonschema import Draft202012Validator

from foncier.matching import NeedsError, parse_needs, schema
from foncier.matching.naf import NAF_DIVISIONS, normalise_naf, vocation_for_naf
from foncier.matching.scoring import CRITERION_NAMES, NETWORKS
from foncier.models import codelists


def issues_of(data) -> dict[str, tuple[str, str]]:
    with pytest.raises(NeedsError) as caught:
        parse_needs(data)
    return {issue.path: (issue.french, issue.english) for issue in caught.value.issues}


def test_the_schema_is_valid_and_speaks_the_code_lists():
    Draft202012Validator.check_schema(schema())
    properties = schema()["properties"]
    assert properties["icpe_regime"]["enum"] == list(codelists.ICPE_REGIMES)
    assert properties["avoid_zones"]["items"]["enum"] == list(codelists.ZONE_TYPES)
    assert properties["networks_required"]["items"]["enum"] == list(NETWORKS)
    assert properties["weights"]["propertyNames"]["enum"] == list(CRITERION_NAMES)
    vocations = [v for v in codelists.SITE_VOCADOMI if v not in codelists.CONVENTIONAL]
    assert properties["vocation"]["enum"] == vocations
    assert set(NETWORKS) <= {column.name for column in _site_columns()}


def _site_columns():
    from foncier.models import Site

    return Site.__table__.columns


def test_minimal_needs_are_completed_with_defaults():
    needs = parse_needs({"surface_min_ha": 2})
    data = needs.to_json()
    assert data["surface_min_ha"] == 2.0 and data["icpe_regime"] == "aucun"
    assert data["budget_is_hard"] is False and data["turnkey_required"] is False
    assert data["networks_required"] == [] and data["weights"] == {}
    assert data["reference_date"] == date.today().isoformat()
    assert json.loads(json.dumps(data)) == data


def test_normalised_needs_parse_back_to_the_same_needs():
    data = {
        "label": "Logisticien",
        "surface_min_ha": 5,
        "surface_max_ha": 8,
        "budget_max_eur_m2": 30,
        "naf": "5210b",
        "icpe_regime": "enregistrement",
        "networks_required": ["reseau_fret_ferroviaire", "reseau_electrique"],
        "power_min_kva": 1000,
        "motorway_max_km": 5,
        "needed_by": "2027-06-30",
        "reference_date": "2026-09-01",
        "near": {"lat": 47.39, "lon": 0.69, "max_km": 30},
        "avoid_zones": ["natura2000", "inondation"],
        "weights": {"prix": 2},
        "origin_epci": "243700754",
    }
    needs = parse_needs(data)
    normalised = needs.to_json()
    assert normalised["naf"] == "52.10B" and normalised["vocation"] == "entrepôts, logistique"
    assert normalised["networks_required"] == ["reseau_electrique", "reseau_fret_ferroviaire"]
    assert normalised["avoid_zones"] == ["inondation", "natura2000"]
    again = {key: value for key, value in normalised.items() if value is not None}
    assert parse_needs(again) == needs
    assert 520_000 < needs.near.x < 530_000 and 6_695_000 < needs.near.y < 6_710_000


def test_a_missing_surface_is_explained_in_french_and_english():
    assert issues_of({}) == {
        "surface_min_ha": (
            "indiquez une surface minimale positive, en hectares",
            "give a positive minimum surface, in hectares",
        )
    }


def test_every_wrong_field_gets_its_own_message_in_form_order():
    with pytest.raises(NeedsError) as caught:
        parse_needs(
            {
                "surface_min_ha": 0,
                "icpe_regime": "beaucoup",
                "networks_required": ["reseau_telepathie"],
                "needed_by": "30/06/2027",
                "near": {"lat": 12, "lon": 0.7},
                "weights": {"prix": -1, "charme": 2},
                "couleur": "bleu",
            }
        )
    paths = [issue.path for issue in caught.value.issues]
    assert paths == ["couleur", "surface_min_ha", "icpe_regime", "networks_required",
                     "needed_by", "near.lat", "weights.charme", "weights.prix"]  # fmt: skip
    message = str(caught.value)
    assert "surface_min_ha: give a positive minimum surface, in hectares" in message
    assert "weights.charme: unknown criterion" in message
    french = {issue.path: issue.french for issue in caught.value.issues}
    assert french["couleur"].startswith("clé inconnue")
    assert french["needed_by"] == "indiquez une date au format AAAA-MM-JJ"
    assert french["near.lat"] == "indiquez une latitude en France métropolitaine (entre 41 et 51,5)"


@pytest.mark.parametrize(
    ("data", "path", "english"),
    [
        ({"surface_min_ha": 5, "surface_max_ha": 3}, "surface_max_ha", "the maximum surface must"),
        ({"surface_min_ha": float("nan")}, "surface_min_ha", "give a positive minimum surface"),
        ({"surface_min_ha": float("inf")}, "surface_min_ha", "give a positive minimum surface"),
        ({"surface_min_ha": True}, "surface_min_ha", "give a positive minimum surface"),
        ({"surface_min_ha": "5"}, "surface_min_ha", "give a positive minimum surface"),
        ({"surface_min_ha": 1, "naf": "99.00Z"}, "naf", "NAF code 99.00Z matches no"),
        ({"surface_min_ha": 1, "naf": "camion"}, "naf", "give a NAF code such as 52.10B"),
        (
            {
                "surface_min_ha": 1,
                "weights": {
                    "surface": 0,
                    "autoroute": 0,
                    "disponibilite": 0,
                    "reseaux": 0,
                    "amenagement": 0,
                },
            },
            "weights",
            "at least one applicable criterion",
        ),
        ({"surface_min_ha": 1, "origin_epci": "Tours"}, "origin_epci", "SIREN"),
        ({"surface_min_ha": 1, "avoid_zones": ["inondation", "inondation"]}, "avoid_zones", "zone"),
        ("5 ha", "", "the needs must be a JSON object"),
    ],
)
def test_refusals(data, path, english):
    issues = issues_of(data)
    assert path in issues and english in issues[path][1], issues
    assert issues[path][0]  # a French message too


def test_a_given_vocation_wins_over_the_naf_code():
    needs = parse_needs({"surface_min_ha": 1, "naf": "52.10B", "vocation": "mixte"})
    assert (needs.vocation, needs.naf) == ("mixte", "52.10B")
    assert parse_needs({"surface_min_ha": 1, "naf": "99.00Z", "vocation": "tertiaire"}).vocation


@pytest.mark.parametrize(
    ("code", "vocation"),
    [
        ("52.10B", "entrepôts, logistique"),
        ("49.41A", "entrepôts, logistique"),
        ("25.62B", "industrielle"),
        ("10.71C", "artisanale"),
        ("10.71A", "industrielle"),
        ("43.22A", "artisanale"),
        ("45.20A", "artisanale"),
        ("45.11Z", "commerciale"),
        ("47.11F", "commerciale"),
        ("62.01Z", "tertiaire"),
        ("30.30Z", "aéroportuaire, aéronautique"),
        ("52.22Z", "portuaire"),
        ("46.21Z", "logistique agricole"),
        ("55.10Z", "touristique"),
        ("97.00Z", None),
    ],
)
def test_naf_codes_give_a_cnig_vocation(code, vocation):
    assert vocation_for_naf(code) == vocation


def test_naf_codes_are_normalised_and_every_vocation_is_a_cnig_one():
    assert normalise_naf(" 5210b ") == "52.10B" and normalise_naf("52.10") == "52.10"
    assert normalise_naf("5") is None
    assert set(NAF_DIVISIONS.values()) <= set(codelists.SITE_VOCADOMI)
    assert "01" in NAF_DIVISIONS and "96" in NAF_DIVISIONS and "99" not in NAF_DIVISIONS


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("data", "path", "english"),
    [
        ({"surface_min_ha": 1, "networks_required": ["reseau_gaz"] * 10_000},
         "networks_required", "at most 8 items"),
        ({"surface_min_ha": 1, "avoid_zones": ["pprt"] * 5}, "avoid_zones", "at most 4 items"),
        ({"surface_min_ha": 1, "couleur": list(range(100_000))}, "couleur", "at most 8 items"),
        ({"surface_min_ha": 1, "label": _nested(5_000)}, "label", "nested too deeply"),
        ({"surface_min_ha": 1, "near": {"lat": 47, "lon": 1, "max_km": [[1]]}},
         "near", "nested too deeply"),
        ({"surface_min_ha": 1, **{f"k{i}": i for i in range(10_000)}}, "", "too many keys"),
        ({"surface_min_ha": 10**400}, "surface_min_ha", "give a positive minimum surface"),
        ({"surface_min_ha": 10**20}, "surface_min_ha", "(at most 1,000,000)"),
        ({"surface_min_ha": 1, "near": {"lat": 47, "lon": 1, "max_km": 1e300}},
         "near.max_km", "(at most 1,000,000)"),
        ({"surface_min_ha": 1, "weights": {"prix": 1e308, "surface": 1e308}},
         "weights.prix", "give a weight from 0 to 1,000"),
        ({"surface_min_ha": 1, "weights": {"surface": 10**400}},
         "weights.surface", "give a non-negative weight"),
        (_nested(5_000), "", "the needs must be a JSON object"),
    ],
)  # fmt: skip
def test_oversized_or_absurd_needs_are_refused_quickly_with_a_message(data, path, english):
    start = time.perf_counter()
    issues = issues_of(data)
    assert time.perf_counter() - start < 0.5
    assert path in issues and english in issues[path][1], issues
    assert issues[path][0]


def test_lists_up_to_their_enumeration_and_weights_up_to_1000_are_accepted():
    needs = parse_needs(
        {
            "surface_min_ha": 1_000_000,
            "networks_required": list(NETWORKS),
            "avoid_zones": list(codelists.ZONE_TYPES),
            "weights": dict.fromkeys(CRITERION_NAMES, 1000),
        }
    )
    assert len(needs.networks_required) == 8 and needs.weights["prix"] == 1000.0


def test_no_exception_but_needs_error_escapes_the_parser():
    for data in (None, 3, [], {"surface_min_ha": 1, "weights": {"prix": float("inf")}}):
        with pytest.raises(NeedsError):
            parse_needs(data)


def test_a_date_wanted_already_past_means_the_reference_date():
    needs = parse_needs(
        {"surface_min_ha": 1, "needed_by": "2026-01-15", "reference_date": "2026-09-01"}
    )
    assert needs.needed_by == date(2026, 9, 1)
    assert needs.to_json()["needed_by"] == "2026-09-01"
    later = parse_needs(
        {"surface_min_ha": 1, "needed_by": "2027-01-15", "reference_date": "2026-09-01"}
    )
    assert later.needed_by == date(2027, 1, 15)
