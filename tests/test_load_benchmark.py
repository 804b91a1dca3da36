"""The load test's runner and locustfile, a few seconds on a copy of the demo.

Not a timed test: it checks that the runner prepares the demo, serves it with `foncier serve`,
that Locust's référents sign in and go through the whole mix without one failed request, and
that the report carries the figures docs/benchmarks.md quotes. A route renamed, a form
changed or a sign-in broken makes requests fail here rather than in the next measurement.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The mix's requests that come often enough to be in any run of a few seconds.
FREQUENT = {"/", "/api/terrains?bbox", "/terrains/<id>", "/sites/<id>", "/api/match", "/projets"}


def test_load_run_goes_through_the_mix_without_failures(database_builder, tmp_path):
    url = database_builder("foncier_load_test")
    report_file = tmp_path / "report.json"
    subprocess.run(
        [
            sys.executable, "-m", "benchmarks.load_run", "--database-url", url,
            "--rounds", "1", "--users", "4", "--duration", "8", "--warmup", "1",
            "--no-baseline", "--output", str(tmp_path / "runs"), "--json", str(report_file),
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=600,
    )  # fmt: skip
    report = json.loads(report_file.read_text())
    summary = report["summary"]["foncier serve"]
    assert summary["best"]["failures"] == 0
    assert summary["best"]["requests"] > 20
    assert set(summary["p95_ms_per_endpoint_in_best"]) >= FREQUENT
    targets = report["comparison"]["foncier serve"]["targets_met"]
    assert set(targets) == {"requests_per_s_ge_200", "p95_le_200ms", "no_errors"}
    assert targets["no_errors"]
