"""The bounds checked before JSON or WKT from outside is parsed: size, nesting, digits."""

from __future__ import annotations

import json
import time

import pytest

from foncier.core.bounded_text import (
    MAX_DEPTH,
    MAX_NUMBER_DIGITS,
    TextLimitError,
    TextLimits,
    check_wkt,
    load_json,
)

GEOJSON = TextLimits("GeoJSON", 16 * 2**20)
WKT = TextLimits("WKT", 2**20)


def refusal(check, text: str, limits: TextLimits) -> str:
    with pytest.raises(TextLimitError) as refused:
        check(text, limits)
    return refused.value.french


def test_within_the_bounds_json_is_parsed_as_json_loads_does():
    text = json.dumps({"a": [[[1.5, -2e3]]], "b": "x" * 100, "c": 10**39, "d": None})
    assert load_json(text, GEOJSON) == json.loads(text)
    nested = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert load_json(nested, GEOJSON) == json.loads(nested)


@pytest.mark.parametrize(
    ("text", "french"),
    [
        # The probe's CSV cell: 50,000 [ after the coordinates key (RecursionError before).
        (
            '{"type":"Polygon","coordinates":' + "[" * 50_000,
            "Le GeoJSON est imbriqué trop profondément (plus de 64 niveaux) : vérifiez ses "
            "crochets et accolades.",
        ),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "imbriqué trop profondément"),
        ('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1), "imbriqué trop profondément"),
        # The probe's 5,001-digit coordinate (int() refuses more than 4,300 digits).
        (
            '{"type":"Polygon","coordinates":[[[' + "7" * 5001 + ",1],[0,1],[1,1],[0,0]]]}",
            "Un nombre du GeoJSON a trop de chiffres (plus de 40) : arrondissez-le.",
        ),
        ("[-1." + "2" * MAX_NUMBER_DIGITS + "]", "trop de chiffres"),
        ("[1e" + "9" * (MAX_NUMBER_DIGITS + 1) + "]", "trop de chiffres"),
        ("[" + "1" * 20 + "." + "1" * 21 + "]", "trop de chiffres"),  # 41 digits with a point
    ],
)
def test_json_beyond_a_bound_is_refused_with_the_bound_in_french(text, french):
    assert french in refusal(load_json, text, GEOJSON)


def test_brackets_and_digits_inside_strings_are_text():
    text = json.dumps({"name": "[" * 1000 + "{" * 1000 + "9" * 5000, "escaped": '\\"[[[[' * 50})
    assert load_json(text, GEOJSON)["name"].startswith("[[[")


def test_an_unterminated_string_hides_nothing_and_is_left_to_the_parser():
    with pytest.raises(json.JSONDecodeError):
        load_json('{"a": "[[[[' + "[" * 1000, GEOJSON)


def test_size_is_checked_first():
    small = TextLimits("GeoJSON", 2**20)
    french = refusal(load_json, " " * (2**20 + 1), small)
    assert (
        french
        == "Le GeoJSON est trop volumineux (plus de 1\u00a0Mo) : simplifiez-le ou découpez-le."
    )
    assert "(plus de 64\u00a0Ko)" in refusal(load_json, " " * 70_000, TextLimits("JSON", 2**16))


def test_ten_million_brackets_are_refused_fast():
    """The probe's GeoJSON: 10 MB of [ are counted in C and numpy, not in a Python loop."""
    text = '{"type":"FeatureCollection","features":' + "[" * 10_000_000
    started = time.perf_counter()
    assert "imbriqué trop profondément" in refusal(load_json, text, GEOJSON)
    assert time.perf_counter() - started < 2.0


def test_english_says_the_same_for_the_command_line_and_the_api():
    with pytest.raises(TextLimitError) as refused:
        load_json("[" * 100, TextLimits("JSON", 1000))
    assert str(refused.value) == refused.value.english
    assert refused.value.english == (
        "The JSON nests too deeply (more than 64 levels): check its brackets."
    )


@pytest.mark.parametrize(
    ("text", "french"),
    [
        (
            "POLYGON" + "(" * 50_000,
            "Le WKT est imbriqué trop profondément (plus de 64 niveaux) : "
            "vérifiez ses parenthèses.",
        ),
        ("POLYGON((" + "1" * 5001 + " 2, 3 4, 5 6, 1 2))", "Un nombre du WKT a trop de chiffres"),
        ("POLYGON((0 0, 1 0, 1 1, 0 0))" + " " * 2**20, "Le WKT est trop volumineux"),
    ],
)
def test_wkt_beyond_a_bound_is_refused(text, french):
    assert french in refusal(check_wkt, text, WKT)


def test_wkt_within_the_bounds_passes():
    check_wkt(
        "SRID=2154;MULTIPOLYGON(((525000.12 6705000.5, 525010 6705000, 525010 6705010, "
        "525000.12 6705000.5)), EMPTY)",
        WKT,
    )
