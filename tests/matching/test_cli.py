"""`foncier match` against the session database (read-only)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from foncier.cli import main

LOGISTICS = {
    "surface_min_ha": 4.5,
    "surface_max_ha": 8,
    "naf": "52.10B",
    "power_min_kva": 1000,
    "motorway_max_km": 10,
    "reference_date": "2026-09-01",
}
ARTISAN = {
    "surface_min_ha": 0.3,
    "surface_max_ha": 0.5,
    "naf": "43.22A",
    "reference_date": "2026-09-01",
}


@pytest.fixture
def run(database_url, tmp_path):
    runner = CliRunner()

    def invoke(*args: str, **files: object):
        paths = []
        for name, content in files.items():
            path = tmp_path / f"{name}.json"
            path.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
            paths.append(str(path))
        return runner.invoke(main, ["match", *paths, *args], env={"DATABASE_URL": database_url})

    return invoke


def test_one_needs_file_prints_the_ranked_plots_as_json(run):
    result = run("--limit", "3", logistics=LOGISTICS)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["needs"]["vocation"] == "entrepôts, logistique"
    assert [r["rank"] for r in data["results"]] == [1, 2, 3]
    assert sum(data["excluded"].values()) == data["plots"] - data["candidates"]
    assert "Échangeur autoroutier" in result.output  # French explanations kept as they are


def test_several_needs_files_print_json_lines_in_order(run):
    result = run("--limit", "2", a=LOGISTICS, b=ARTISAN, c=LOGISTICS)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().split("\n")
    assert len(lines) == 3
    vocations = [json.loads(line)["needs"]["vocation"] for line in lines]
    assert vocations == ["entrepôts, logistique", "artisanale", "entrepôts, logistique"]
    assert json.loads(lines[0]) == json.loads(lines[2])


def test_invalid_needs_exit_1_with_english_messages_and_no_search(run):
    result = run(good=ARTISAN, bad={"surface_min_ha": -2, "icpe_regime": "oui"})
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "bad.json: invalid needs" in result.output
    assert "surface_min_ha: give a positive minimum surface, in hectares" in result.output
    assert "icpe_regime: choose an ICPE regime" in result.output


def test_a_file_that_is_not_json_is_refused(run):
    result = run(broken="{surface: 5")
    assert result.exit_code == 1
    assert "broken.json: not a JSON file" in result.output


def test_why_explains_a_plot(run):
    top = json.loads(run("--limit", "1", logistics=LOGISTICS).output)["results"][0]
    result = run("--why", top["terr_id"], logistics=LOGISTICS)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert (answer["eligible"], answer["rank"], answer["score"]) == (True, 1, top["score"])
    strict = {**LOGISTICS, "surface_min_ha": 4.6, "surface_max_ha": 4.6, "turnkey_required": True}
    tiny = run("--why", top["terr_id"], logistics=strict)
    answer = json.loads(tiny.output)
    assert answer["eligible"] is False and answer["failed"]
    assert all(set(f) == {"constraint", "explanation"} for f in answer["failed"])


def test_why_an_unknown_plot_fails_cleanly(run):
    result = run("--why", "nope", logistics=LOGISTICS)
    assert result.exit_code == 1
    assert "no plot 'nope'" in result.output
