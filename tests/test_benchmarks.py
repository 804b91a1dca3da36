"""The matching benchmark's tools on a tiny inventory: generation and the measuring harness.

Not a timed test: it checks that the generator writes a valid, deterministic inventory and
that the harness reports every figure with the engine and the naive baseline agreeing. The
tools live outside the package (benchmarks/), so they run as `python -m` from the checkout,
as documented.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

REPO = Path(__file__).resolve().parents[1]
PLOTS, PARKS = 2000, 60


def run_module(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return result


def generate(url: str, *extra: str) -> dict:
    result = run_module(
        "benchmarks.generate", "--plots", str(PLOTS), "--parks", str(PARKS),
        "--departements", "37", "--database-url", url, *extra,
    )  # fmt: skip
    return json.loads(result.stdout)


def query(url: str, statement: str) -> list[tuple]:
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as connection:
        return connection.execute(statement).fetchall()


# Everything generated, geometry included, in one digest.
FINGERPRINT = """
SELECT md5(string_agg(row_text, '' ORDER BY row_text)) FROM (
    SELECT t::text AS row_text FROM (
        SELECT terr_id, site_id, terr_surf_brute, terr_stade_comm, terr_stade_amngt, terr_m2_prix,
               terr_dispo_date, terr_puissance_kva, terr_icpe_max, terr_divisible,
               terr_lot_min_ha, terr_hauteur_max_m, terr_cle_en_main,
               ST_AsText(terr_geomsurf) FROM terrain) AS t
    UNION ALL
    SELECT s::text FROM (
        SELECT site_id, site_vocadomi, site_epci_siren, reseau_electrique, reseau_gaz,
               reseau_fret_ferroviaire, autoroute_echang_dist, ST_AsText(site_geomsurf)
        FROM site) AS s
    UNION ALL
    SELECT z::text FROM (SELECT zone_type, nom, ST_AsText(geom) FROM constraint_zone) AS z
) AS everything
"""


@pytest.fixture(scope="module")
def bench_url(pg_server) -> Iterator[str]:
    url = pg_server.create_database("foncier_bench")
    generate(url)
    yield url


def test_the_generator_writes_a_valid_inventory_across_the_territory(bench_url):
    plots, available, parks, epcis = query(
        bench_url,
        "SELECT (SELECT count(*) FROM terrain),"
        " (SELECT count(*) FROM terrain"
        "  WHERE terr_stade_comm IN ('en vente', 'en vente avec contraintes')),"
        " (SELECT count(*) FROM site), (SELECT count(DISTINCT site_epci_siren) FROM site)",
    )[0]
    assert (plots, parks) == (PLOTS, PARKS)
    assert 0.10 * PLOTS <= available <= 0.20 * PLOTS  # "about 15 % available"
    assert epcis >= 5  # spread over Indre-et-Loire's EPCIs, not piled in one
    outside_parks = query(
        bench_url,
        "SELECT count(*) FROM terrain t JOIN site s USING (site_id)"
        " WHERE NOT ST_CoveredBy(t.terr_geomsurf, s.site_geomsurf)",
    )[0][0]
    assert outside_parks == 0
    # Written with COPY (triggers off), the plots reach the engine's table through its rebuild.
    assert query(bench_url, "SELECT count(*) FROM matching_plot")[0][0] == available
    assert query(bench_url, "SELECT count(*) FROM site WHERE is_demo")[0][0] == 0
    zone_types = {row[0] for row in query(bench_url, "SELECT zone_type FROM constraint_zone")}
    assert "inondation" in zone_types


def test_the_harness_reports_every_figure_and_matches_the_naive_top_10(bench_url, tmp_path):
    output = tmp_path / "report.json"
    run_module(
        "benchmarks.run", "--needs", "3", "--repeat", "2", "--database-url", bench_url,
        "--json", str(output),
    )  # fmt: skip
    report = json.loads(output.read_text(encoding="utf-8"))
    summary = report["summary"]
    assert report["dataset"]["plots"] == PLOTS
    assert summary["needs"] == 3 and summary["calls_per_needs"] == 2
    assert (
        0 < summary["fast_ms"]["median"] <= summary["fast_ms"]["p95"] <= summary["fast_ms"]["max"]
    )
    assert summary["naive_ms"]["needs_measured"] == 3 and summary["naive_ms"]["median"] > 0
    assert summary["speedup_median"] > 0
    assert summary["memory"]["tracemalloc_peak_mib_max"] > 0
    assert set(summary["targets_met"]) == {
        "median_le_50ms", "p95_le_150ms", "speedup_ge_20x", "same_top10_everywhere",
    }  # fmt: skip
    per_needs = report["per_needs"]
    assert [m["fast_top"] for m in per_needs] == [m["naive_top"] for m in per_needs]
    assert any(m["fast_top"] for m in per_needs), "no needs found any plot: nothing compared"
    assert summary["top10_identical"] == "3/3" and summary["mismatches"] == []
    assert summary["targets_met"]["same_top10_everywhere"]


def test_generating_again_with_the_same_seed_gives_the_same_inventory(bench_url):
    """Last of the module: it leaves another seed's inventory behind."""
    before = query(bench_url, FINGERPRINT)[0][0]
    report = generate(bench_url, "--replace")
    assert report["plots"] == PLOTS
    assert query(bench_url, FINGERPRINT)[0][0] == before
    generate(bench_url, "--replace", "--seed", "7")
    assert query(bench_url, FINGERPRINT)[0][0] != before
