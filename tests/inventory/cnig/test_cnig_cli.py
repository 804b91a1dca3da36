"""The import and export commands: English report, exit status, one commit."""

from __future__ import annotations

import json

from click.testing import CliRunner
from cnig_helpers import STANDARD, CsvTable
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from tcp_proxy import cuttable_relay

from foncier.cli import main
from foncier.core.config import normalise_database_url
from foncier.core.pgcluster import free_port
from foncier.inventory.cnig.columns import TERRAIN_EXTENSIONS
from foncier.models import ConstraintZone, Site

GATINE_RACAN = "200073237"


def run(*args):
    return CliRunner().invoke(main, [str(arg) for arg in args])


def count(url, query):
    engine = create_engine(normalise_database_url(url))
    try:
        with Session(engine) as session:
            return session.scalar(query)
    finally:
        engine.dispose()


def test_refused_import_prints_every_error_and_exits_1(cli_database, shared_dir):
    example = shared_dir / STANDARD / "terrain-eco/exemple-valide.csv"
    result = run("import", "cnig", "--terrains", example)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"Error: Refused: 2 error(s) in {example}; nothing was written."
    assert lines[1] == (
        f"{example}:2 site_id: Unknown site: neither in the sites file nor in the database."
        " (value: '80024_SITE-ECO_00001')"
    )
    assert lines[2].startswith(f"{example}:2 terr_geomsurf: Ring not closed")


def test_dry_run_then_import_then_export(cli_database, demo_export, tmp_path):
    sites, terrains = demo_export / "site-eco.csv", demo_export / "terrain-eco.csv"
    dry = run("import", "cnig", "--sites", sites, "--terrains", terrains, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines()[0] == f"{sites}: 23 created, 0 updated, 0 unchanged"
    assert dry.output.splitlines()[-1] == "Dry run: nothing was written."
    assert count(cli_database, select(func.count()).select_from(Site)) == 0

    real = run("import", "cnig", "--sites", sites, "--terrains", terrains)
    assert real.exit_code == 0, real.output
    assert count(cli_database, select(func.count()).select_from(Site)) == 23

    outdir = tmp_path / "export"
    export = run("export", "cnig", outdir, "--epci", GATINE_RACAN, "--with-extensions")
    assert export.exit_code == 0, export.output
    assert export.output.startswith(f"{outdir / 'site-eco.csv'}: ")
    plots = CsvTable.read(outdir / "terrain-eco.csv")
    assert plots.header[-len(TERRAIN_EXTENSIONS) :] == [c.name for c in TERRAIN_EXTENSIONS]
    assert plots.rows and not any(row["terr_acquereur"] for row in plots.rows)

    confidential = run("export", "cnig", tmp_path / "confidential", "--confidential")
    assert confidential.exit_code == 0, confidential.output
    plots = CsvTable.read(tmp_path / "confidential" / "terrain-eco.csv")
    assert any(row["terr_acquereur"] for row in plots.rows)


def test_export_of_an_unknown_epci_fails_cleanly(cli_database, tmp_path):
    result = run("export", "cnig", tmp_path, "--epci", "123456789")
    assert result.exit_code == 1
    assert "unknown EPCI SIREN 123456789" in result.output


def test_import_needs_a_file(cli_database):
    result = run("import", "cnig", "--dry-run")
    assert result.exit_code == 2
    assert "give --sites, --terrains or both" in result.output


def test_zones_import_and_reimport(cli_database, tmp_path):
    square = [[[515000, 6700000], [516000, 6700000], [516000, 6701000], [515000, 6700000]]]
    document = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"nom": "Val"},
                "geometry": {"type": "Polygon", "coordinates": square},
            }
        ],
    }
    path = tmp_path / "ppri.geojson"
    path.write_text(json.dumps(document), encoding="utf-8")
    args = (
        "import",
        "zones",
        "--type",
        "inondation",
        path,
        "--name-field",
        "nom",
        "--crs",
        "EPSG:2154",
    )
    first = run(*args)
    assert first.exit_code == 0, first.output
    assert first.output.startswith("ppri.geojson: 1 inondation zone(s) imported, 0 from")
    second = run(*args)
    assert "1 from an earlier import of this file replaced" in second.output
    names = count(cli_database, text("SELECT string_agg(nom, ',') FROM constraint_zone"))
    assert names == "Val"
    assert count(cli_database, select(func.count()).select_from(ConstraintZone)) == 1


# --- a database that stops answering --------------------------------------------------------


def one_line_failure(result) -> str:
    """The whole output of a command the database failed: one short line, exit status 1."""
    assert result.exit_code == 1
    assert len(result.output.splitlines()) == 1 and len(result.output) < 400, result.output
    assert "INSERT" not in result.output and "[parameters" not in result.output
    return result.output.strip()


def test_a_database_that_dies_mid_import_is_reported_in_one_line(
    cli_database, demo_export, monkeypatch
):
    """The probe's import printed SQLAlchemy's message: the statement and its parameters,
    862,109 characters. The connection is cut as the plots are about to be written."""
    url = make_url(cli_database)
    with cuttable_relay((url.host or "127.0.0.1", url.port or 5432)) as relay:
        relayed = url.set(port=relay.port).render_as_string(hide_password=False)
        monkeypatch.setenv("DATABASE_URL", relayed)

        def cut_before_the_plots(_connection, _cursor, statement, *_args) -> None:
            if statement.startswith("INSERT INTO terrain"):
                relay.cut()

        event.listen(Engine, "before_cursor_execute", cut_before_the_plots)
        try:
            result = run(
                "import", "cnig", demo_export / "site-eco.csv", demo_export / "terrain-eco.csv"
            )
        finally:
            event.remove(Engine, "before_cursor_execute", cut_before_the_plots)

    line = one_line_failure(result)
    assert line.startswith("Error: the database failed (OperationalError: ")
    assert line.endswith("were not committed. Run it again once the database answers.")
    assert count(cli_database, select(func.count()).select_from(Site)) == 0


def test_a_database_that_does_not_answer_is_reported_in_one_line(
    cli_database, demo_export, monkeypatch
):
    dead = make_url(cli_database).set(port=free_port()).render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", dead)
    result = run("import", "cnig", "--dry-run", demo_export / "site-eco.csv")
    assert "Connection refused" in one_line_failure(result)
