"""Backing up a foncier database to one file, and restoring it into an empty database.

The file is PostgreSQL's custom format (``pg_dump -Fc``): compressed, one consistent snapshot
of the whole database (pg_dump reads it in a single repeatable-read transaction, so the
platform keeps running while it is taken), restored table by table with ``pg_restore``. It
holds the schema, the PostGIS extension, every row (accounts, audit trail, outbox) and the
Alembic revision, so a restored database is the platform as it was. docs/operations.md says
what to schedule.

The password of DATABASE_URL is handed to pg_dump and pg_restore in their environment
(PGPASSWORD), never on their command line, which any user of the machine can read in ``ps``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from foncier.core import migrations
from foncier.core.errors import FoncierError

# Where Debian's postgresql-NN packages put each major version's client tools.
DEBIAN_POSTGRESQL = Path("/usr/lib/postgresql")

# Seconds to wait for the server to answer, unless the URL says otherwise.
CONNECT_TIMEOUT = 10

# The first bytes of every custom-format archive.
CUSTOM_FORMAT_MAGIC = b"PGDMP"

# Tables of a database that is not empty: anything but what extensions own (PostGIS's
# spatial_ref_sys), so that a database where PostGIS was created beforehand still counts as
# empty.
OWN_TABLES = """
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%%'
      AND NOT EXISTS (
          SELECT 1 FROM pg_depend d
          WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    ORDER BY c.relname LIMIT 4
"""


# Entries of pg_restore's list of a foncier backup that only PostGIS's owner may restore.
POSTGIS_OWNED_ENTRIES = ("COMMENT - EXTENSION ", "TABLE DATA public spatial_ref_sys ")


class BackupError(FoncierError):
    """A backup or a restore could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size: int  # bytes
    seconds: float
    revision: str | None  # the schema revision the backup holds

    def english_line(self) -> str:
        return (
            f"{self.path}: {megabytes(self.size)} written in {self.seconds:.1f} s "
            f"(schema revision {self.revision or 'none'})."
        )


@dataclass(frozen=True)
class RestoreReport:
    path: Path
    database: str
    seconds: float
    revision: str | None  # the schema revision restored
    head: str  # the revision this code expects

    def english_line(self) -> str:
        return (
            f"{self.path} restored into {self.database} in {self.seconds:.1f} s "
            f"(schema revision {self.revision or 'none'})."
        )

    def revision_warning(self) -> str | None:
        """What must happen before serving, when the restored schema is not this code's."""
        if self.revision == self.head:
            return None
        if self.revision in migrations.known_revisions():
            return (
                f"The backup's schema revision {self.revision} is older than this code's "
                f"{self.head}: run `foncier db upgrade` before serving."
            )
        return (
            f"The backup's schema revision {self.revision or 'none'} is unknown to this code "
            f"(which expects {self.head}): serve it with the version of foncier that made the "
            "backup, or a newer one."
        )


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def backup_database(database_url: str, path: Path, *, force: bool = False) -> BackupReport:
    """Write the whole database at ``database_url`` to ``path`` (pg_dump's custom format).

    An existing ``path`` is refused unless ``force``. The dump is written to a temporary
    file beside ``path`` and renamed over it once complete, so a failed backup never leaves a
    truncated file, nor destroys the previous one.
    """
    if path.exists() and not force:
        raise BackupError(f"{path} already exists: choose another file, or pass --force")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent} is not a directory: create it first")
    target = Target.of(database_url)
    pg_dump = client_tool("pg_dump", target.server_major())
    started = time.monotonic()
    handle, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(handle)
    try:
        target.run(pg_dump, "--format=custom", f"--file={partial}", what="backup")
        os.replace(partial, path)
    finally:
        Path(partial).unlink(missing_ok=True)
    seconds = time.monotonic() - started
    return BackupReport(path, path.stat().st_size, seconds, target.revision())


def restore_database(database_url: str, path: Path) -> RestoreReport:
    """Restore the backup ``path`` into the EMPTY database at ``database_url``.

    Objects are owned by the connecting role (``--no-owner``: the backup's roles need not
    exist here), and the restore is one transaction that stops at the first error, so a
    failed restore leaves the database as empty as it was.
    """
    check_archive(path)
    target = Target.of(database_url)
    pg_restore = client_tool("pg_restore", target.server_major())
    target.check_empty()
    started = time.monotonic()
    with tempfile.NamedTemporaryFile("w", prefix="foncier-restore-", suffix=".list") as listing:
        listing.write(restore_list(pg_restore, path))
        listing.flush()
        target.run(
            pg_restore, "--no-owner", "--exit-on-error", "--single-transaction",
            f"--use-list={listing.name}", str(path), what=f"restore of {path}",
        )  # fmt: skip
    seconds = time.monotonic() - started
    return RestoreReport(path, target.name, seconds, target.revision(), migrations.head_revision())


def check_archive(path: Path) -> None:
    """Refuse early a file that is no pg_dump custom-format archive."""
    try:
        with path.open("rb") as file:
            start = file.read(len(CUSTOM_FORMAT_MAGIC))
    except OSError as error:
        raise BackupError(f"cannot read {path}: {error.strerror}") from error
    if start != CUSTOM_FORMAT_MAGIC:
        raise BackupError(f"{path} is not a foncier backup (a pg_dump custom-format file)")


def restore_list(pg_restore: Path, path: Path) -> str:
    """What to restore of the archive: everything but what belongs to PostGIS's owner.

    Where an administrator created PostGIS beforehand for a database owner who is no
    superuser (a managed server, a host without superuser access), that owner may neither
    comment on the extension nor write to its spatial_ref_sys table, and either refusal would
    stop the whole restore. The extension itself is restored with IF NOT EXISTS; the dump
    holds only the rows added to spatial_ref_sys by hand, and foncier adds none (it uses
    EPSG:2154 and 4326, which PostGIS ships).
    """
    result = subprocess.run(
        [str(pg_restore), "--list", str(path)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"cannot read {path}: {tool_error(result.stderr)}")
    return "".join(
        line
        for line in result.stdout.splitlines(keepends=True)
        if not any(entry in line for entry in POSTGIS_OWNED_ENTRIES)
    )


@dataclass(frozen=True)
class Target:
    """A database as pg_dump and pg_restore reach it: the URL without its password, which
    travels in the environment."""

    url: URL

    @classmethod
    def of(cls, database_url: str) -> Target:
        try:
            url = make_url(database_url)
        except ArgumentError as error:
            raise BackupError(f"DATABASE_URL is not a database URL: {error}") from error
        if url.get_backend_name() != "postgresql" or not url.database:
            raise BackupError(
                "DATABASE_URL must name a PostgreSQL database, "
                "e.g. postgresql://user@127.0.0.1:5432/foncier"
            )
        return cls(url.set(drivername="postgresql"))

    @property
    def name(self) -> str:
        return str(self.url.database)

    @property
    def conninfo(self) -> str:
        """A libpq connection string without the password (``URL.set`` keeps a password
        set to None: the URL is built again without it)."""
        url = self.url
        without_password = URL.create(
            url.drivername, url.username, None, url.host, url.port, url.database, url.query
        )
        return without_password.render_as_string(hide_password=False)

    def environment(self) -> dict[str, str]:
        environment = dict(os.environ)
        if self.url.password is not None:
            environment["PGPASSWORD"] = str(self.url.password)
        return environment

    def connect(self) -> psycopg.Connection:
        try:
            # A server that drops packets would otherwise hold the command for minutes.
            return psycopg.connect(
                self.conninfo,
                autocommit=True,
                password=self.url.password,
                connect_timeout=self.url.query.get("connect_timeout", CONNECT_TIMEOUT),
            )
        except psycopg.Error as error:
            raise BackupError(
                f"cannot connect to {self.url.render_as_string()}: {first_line(str(error))}"
            ) from error

    def server_major(self) -> int:
        with self.connect() as connection:
            number = connection.execute("SHOW server_version_num").fetchone()
        assert number is not None
        return int(number[0]) // 10_000

    def check_empty(self) -> None:
        with self.connect() as connection:
            tables = [row[0] for row in connection.execute(OWN_TABLES)]
        if tables:
            shown = ", ".join(tables[:3]) + (", …" if len(tables) > 3 else "")
            raise BackupError(
                f"the database {self.name} is not empty (tables {shown}): a backup restores "
                "into an empty database only. Create one, e.g. `createdb -O OWNER "
                f"{self.name}_restored`, and point DATABASE_URL at it"
            )

    def revision(self) -> str | None:
        return migrations.current_revision(self.url.render_as_string(hide_password=False))

    def command(self, tool: Path, *arguments: str) -> list[str]:
        """The tool's command line: never a password prompt (``--no-password``: it fails
        instead of waiting for a person), never the password itself."""
        return [str(tool), "--no-password", f"--dbname={self.conninfo}", *arguments]

    def run(self, tool: Path, *arguments: str, what: str) -> None:
        """Run pg_dump or pg_restore on this database; its first error line if it fails."""
        result = subprocess.run(
            self.command(tool, *arguments),
            env=self.environment(),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(f"{what} failed: {tool_error(result.stderr)}")


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "unknown error")


def tool_error(stderr: str) -> str:
    """The line of a PostgreSQL tool's output that says what went wrong."""
    errors = [line for line in stderr.splitlines() if ": error: " in line]
    line = errors[0] if errors else first_line(stderr)
    return re.sub(r"^pg_\w+: error: ", "", line.strip())


def client_tool(name: str, server_major: int) -> Path:
    """``pg_dump`` or ``pg_restore`` able to work with a server of version ``server_major``:
    the server's own version from Debian's packages, else PG_BINDIR's or the PATH's if they
    are as new (an older pg_dump refuses a newer server)."""
    candidates = [
        DEBIAN_POSTGRESQL / str(server_major) / "bin" / name,
        *([Path(os.environ["PG_BINDIR"]) / name] if os.environ.get("PG_BINDIR") else []),
        *([Path(found)] if (found := shutil.which(name)) else []),
    ]
    for candidate in candidates:
        if candidate.is_file() and tool_major(candidate) >= server_major:
            return candidate
    raise BackupError(
        f"{name} {server_major} (or newer) not found: install postgresql-client-{server_major} "
        "(Debian) or put its directory on the PATH"
    )


def tool_major(tool: Path) -> int:
    """The major version a PostgreSQL tool says it is (``pg_dump (PostgreSQL) 15.8``), 0 if
    it does not say."""
    result = subprocess.run([str(tool), "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"\) (\d+)", result.stdout)
    return int(found.group(1)) if found else 0
