"""A PostgreSQL/PostGIS cluster of the project's own, for development and for the test suite.

``scripts/run`` keeps a persistent one under .local/; the tests start a throwaway one per
session. PostgreSQL refuses to run as root, so as root every server command runs as the
``postgres`` system user, in directories it owns.

    python -m foncier.core.pgcluster start --dir .local/pg --port 54329 --database foncier
    python -m foncier.core.pgcluster stop --dir .local/pg
"""

from __future__ import annotations

import argparse
import glob
import os
import shlex
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from foncier.core.errors import ConfigurationError

SERVER_USER = "postgres"


def _debian_versions_with_postgis() -> list[int]:
    """Major versions installed by Debian's packages that also have PostGIS, oldest first."""
    versions = []
    for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        version = Path(initdb).parent.parent.name
        postgis = Path(f"/usr/share/postgresql/{version}/extension/postgis.control")
        if version.isdigit() and postgis.exists():
            versions.append(int(version))
    return sorted(versions)


def pg_bindir() -> Path:
    """initdb/pg_ctl's directory: PG_BINDIR, else the newest Debian install with PostGIS, else
    the PATH."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    versions = _debian_versions_with_postgis()
    if versions:
        return Path(f"/usr/lib/postgresql/{versions[-1]}/bin")
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise ConfigurationError(
        "PostgreSQL server binaries not found: install postgresql-15-postgis-3 or set PG_BINDIR."
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def running_as_root() -> bool:
    return os.geteuid() == 0


@dataclass(frozen=True)
class Cluster:
    """A cluster living in ``root`` (data directory, socket and log) and listening on ``port``."""

    root: Path
    port: int

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def logfile(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def _command(self, *args: str) -> list[str]:
        command = [str(pg_bindir() / args[0]), *args[1:]]
        if running_as_root():
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        return command

    def _run(self, *args: str) -> None:
        try:
            subprocess.run(self._command(*args), check=True, stdout=subprocess.DEVNULL)
        except subprocess.CalledProcessError as error:
            raise ConfigurationError(
                f"{args[0]} {args[-1]} failed (exit {error.returncode}); see {self.logfile}"
            ) from error

    def _prepare_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if running_as_root():
            shutil.chown(self.root, user=SERVER_USER)

    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def init(self) -> None:
        self._prepare_root()
        self._run(
            "initdb", "-D", str(self.datadir), "-U", SERVER_USER, "--auth=trust",
            "--locale=C.UTF-8", "-E", "UTF8",
        )  # fmt: skip

    def running(self) -> bool:
        """Whether this cluster's own server runs (not merely something on its port)."""
        status = subprocess.run(
            self._command("pg_ctl", "status", "-D", str(self.datadir)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return status.returncode == 0

    def port_accepts_connections(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def start(self, *, durable: bool = True) -> None:
        """Start the server; ``durable=False`` trades crash safety for speed (tests)."""
        if self.port_accepts_connections():
            raise ConfigurationError(
                f"port {self.port} is already used by another server: choose another port "
                "(scripts/run reads FONCIER_PG_PORT)"
            )
        # pg_ctl hands -o to a shell: quote the socket directory (a path may hold spaces).
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {shlex.quote(str(self.root))}"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        # -w: pg_ctl returns once the server accepts connections.
        self._run(
            "pg_ctl", "-D", str(self.datadir), "-l", str(self.logfile), "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self) -> None:
        # pg_ctl status, not the pid file: a file left by a crash is no running server.
        if self.initialised() and self.running():
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")

    def running_port(self) -> int | None:
        """The port the running server listens on, from its pid file (line 4)."""
        lines = (self.datadir / "postmaster.pid").read_text().splitlines()
        return int(lines[3]) if len(lines) > 3 else None

    def ensure_running(self, *, durable: bool = True) -> None:
        if not self.initialised():
            self.init()
        if not self.running():
            self.start(durable=durable)
        elif self.running_port() != self.port:
            raise ConfigurationError(
                f"the cluster in {self.root} already runs on port {self.running_port()}: "
                f"stop it first (python -m foncier.core.pgcluster stop --dir {self.root})"
            )

    def create_database(self, name: str) -> str:
        """Create ``name`` with PostGIS if it does not exist; return its URL."""
        import psycopg  # local: only the cluster tools need a raw driver connection
        from psycopg import sql

        admin_url = self.url().replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(admin_url, autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        with psycopg.connect(self.url(name).replace("+psycopg", ""), autocommit=True) as db:
            db.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        return self.url(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m foncier.core.pgcluster", description=__doc__)
    parser.add_argument("action", choices=["start", "stop", "url"])
    parser.add_argument("--dir", required=True, type=Path, help="cluster directory")
    parser.add_argument("--port", type=int, default=54329)
    parser.add_argument("--database", default="foncier")
    args = parser.parse_args(argv)
    cluster = Cluster(args.dir.resolve(), args.port)
    try:
        if args.action == "start":
            cluster.ensure_running()
            print(cluster.create_database(args.database))
        elif args.action == "stop":
            cluster.stop()
        else:
            print(cluster.url(args.database))
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
