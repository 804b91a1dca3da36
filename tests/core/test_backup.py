"""`foncier backup` and `foncier restore`: a restored demo database is the same platform (CNIG
export, accounts, audit trail), and every way it can go wrong says so in one line."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from foncier.cli import main
from foncier.core import backup, migrations
from foncier.core.db import make_engine
from foncier.core.pgcluster import free_port
from foncier.inventory.cnig import export_cnig

# What the platform is made of, read in the same order from both databases.
ACCOUNTS = "SELECT email, password_hash, role, epci_siren, active, nom FROM app_user ORDER BY id"
AUDIT_TRAIL = "SELECT * FROM audit_event ORDER BY id"


def run(url: str, *args: object) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args], env={"DATABASE_URL": url})


def execute(url: str, statement: str) -> None:
    plain = make_url(url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(plain, autocommit=True) as db:
        db.execute(statement)


@pytest.fixture(scope="module")
def source(database_builder) -> str:
    """A demo database of this module's own (the tests write to it)."""
    return database_builder("backup_source")


@pytest.fixture(scope="module")
def dump(source, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("backup") / "foncier.dump"
    result = run(source, "backup", path)
    assert result.exit_code == 0, result.output
    return path


def platform(url: str, outdir: Path) -> tuple[bytes, bytes, list, list, int]:
    """The CNIG export (both files, every column), the accounts, the audit trail and the
    next audit event's number of the database at ``url``."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            report = export_cnig(session, outdir, confidential=True, with_extensions=True)
            accounts = session.execute(text(ACCOUNTS)).all()
            audit_trail = session.execute(text(AUDIT_TRAIL)).all()
            last_event = session.execute(text("SELECT last_value FROM audit_event_id_seq")).one()
    finally:
        engine.dispose()
    files = report.site_path.read_bytes(), report.terrain_path.read_bytes()
    return *files, accounts, audit_trail, last_event[0]


def test_a_restored_backup_is_the_same_platform(source, dump, pg_server, tmp_path):
    target = pg_server.create_database("backup_target")  # empty: not even PostGIS

    result = run(target, "restore", dump)

    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{dump} restored into {make_url(target).database} in ")
    assert result.output.endswith(f"(schema revision {migrations.head_revision()}).\n")
    restored = platform(target, tmp_path / "restored")
    original = platform(source, tmp_path / "original")
    assert restored == original
    sites, terrains, accounts, audit_trail, _ = restored
    assert sites.count(b"\n") > 20 and terrains.count(b"\n") > 200
    assert len(accounts) >= 13 and all(row.password_hash for row in accounts)
    assert len(audit_trail) > 200


def test_backup_prints_one_line_and_keeps_an_existing_file(source, dump):
    again = run(source, "backup", dump)
    assert again.exit_code == 1
    assert again.output == f"Error: {dump} already exists: choose another file, or pass --force\n"

    forced = run(source, "backup", dump, "--force")
    assert forced.exit_code == 0, forced.output
    size = backup.megabytes(dump.stat().st_size)
    assert forced.output.startswith(f"{dump}: {size} written in ")
    assert forced.output.count("\n") == 1
    assert [path.name for path in dump.parent.iterdir()] == [dump.name]  # no partial file left
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600  # it holds personal data


def test_restore_refuses_a_database_that_is_not_empty(source, dump):
    result = run(source, "restore", dump)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: the database {make_url(source).database} is not ")
    assert "`createdb -O OWNER" in result.output and result.output.count("\n") == 1


def test_restore_into_a_database_that_already_has_postgis(dump, pg_server):
    """The way `scripts/run`'s cluster and many hosts make databases: PostGIS first."""
    target = pg_server.create_database("backup_postgis")
    execute(target, "CREATE EXTENSION postgis")
    result = run(target, "restore", dump)
    assert result.exit_code == 0, result.output


@pytest.fixture
def owner_database(pg_server):
    """An empty database owned by a role that is no superuser, where PostGIS was created by
    a superuser (what an administrator hands over on a managed server): the role's URL, with
    its password."""
    role = f"backup_owner_{uuid.uuid4().hex[:8]}"
    execute(pg_server.admin_url, f"CREATE ROLE {role} LOGIN PASSWORD 'pa:ss@word'")
    admin_url = pg_server.create_database("backup_owner")
    database = make_url(admin_url).database
    execute(admin_url, f"ALTER DATABASE {database} OWNER TO {role}")
    execute(admin_url, "CREATE EXTENSION postgis")
    yield make_url(admin_url).set(username=role, password="pa:ss@word").render_as_string(False)
    execute(pg_server.admin_url, f"DROP DATABASE {database} WITH (FORCE)")
    execute(pg_server.admin_url, f"DROP ROLE {role}")


def test_a_database_owner_who_is_no_superuser_can_restore(dump, owner_database, tmp_path):
    result = run(owner_database, "restore", dump)

    assert result.exit_code == 0, result.output
    engine = make_engine(owner_database)
    try:
        with engine.connect() as connection:
            owners = connection.execute(
                text("SELECT DISTINCT tableowner FROM pg_tables WHERE tablename = 'audit_event'")
            ).scalars()
            assert list(owners) == [make_url(owner_database).username]
    finally:
        engine.dispose()


def test_an_older_backup_says_to_upgrade(database_builder, pg_server, tmp_path):
    older = database_builder("backup_older")
    execute(older, "UPDATE alembic_version SET version_num = '0001'")
    assert run(older, "backup", tmp_path / "older.dump").exit_code == 0
    target = pg_server.create_database("backup_upgrade")

    result = run(target, "restore", tmp_path / "older.dump")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == (
        f"Warning: The backup's schema revision 0001 is older than this code's "
        f"{migrations.head_revision()}: run `foncier db upgrade` before serving."
    )


def test_corrupt_files_are_refused_and_leave_the_database_empty(dump, pg_server, tmp_path):
    target = pg_server.create_database("backup_corrupt")
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a backup\n")
    truncated = tmp_path / "truncated.dump"
    truncated.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])

    refused = run(target, "restore", text_file)
    broken = run(target, "restore", truncated)

    assert refused.exit_code == 1
    assert refused.output == (
        f"Error: {text_file} is not a foncier backup (a pg_dump custom-format file)\n"
    )
    assert broken.exit_code == 1, broken.output
    assert broken.output.startswith(f"Error: restore of {truncated} failed: ")
    assert broken.output.count("\n") == 1
    assert run(target, "restore", dump).exit_code == 0  # nothing was left half-restored


def test_a_missing_file_and_a_dead_server_are_one_line_each(dump, tmp_path):
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/foncier"

    missing = run(dead, "restore", tmp_path / "nowhere.dump")
    unreachable = run(dead, "backup", tmp_path / "new.dump")

    assert missing.exit_code == 1
    assert (
        missing.output
        == f"Error: cannot read {tmp_path / 'nowhere.dump'}: No such file or directory\n"
    )
    assert unreachable.exit_code == 1
    assert unreachable.output.startswith(
        f"Error: cannot connect to postgresql://postgres@127.0.0.1:{make_url(dead).port}/foncier: "
    )
    assert unreachable.output.count("\n") == 1
    assert not (tmp_path / "new.dump").exists()


def test_a_url_that_is_no_postgresql_database_is_refused(tmp_path):
    result = run("sqlite:///foncier.db", "backup", tmp_path / "new.dump")
    assert result.exit_code == 1
    assert result.output.startswith("Error: DATABASE_URL must name a PostgreSQL database")


def test_without_pg_dump_the_backup_says_what_to_install(source, tmp_path, monkeypatch):
    monkeypatch.setattr(backup, "DEBIAN_POSTGRESQL", tmp_path / "nothing")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("PG_BINDIR", raising=False)

    result = run(source, "backup", tmp_path / "new.dump")

    assert result.exit_code == 1
    assert result.output.startswith("Error: pg_dump ")
    assert "(or newer) not found: install postgresql-client-" in result.output


def test_the_password_travels_in_the_environment_not_the_command_line():
    target = backup.Target.of("postgresql+psycopg://owner:s3cret@db.example:5432/foncier")
    command = target.command(Path("pg_dump"), "--format=custom")
    assert not any("s3cret" in argument for argument in command)
    assert "--dbname=postgresql://owner@db.example:5432/foncier" in command
    assert target.environment()["PGPASSWORD"] == "s3cret"
