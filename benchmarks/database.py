"""The benchmark's own PostGIS cluster, started on demand and tuned for a read-mostly workload.

The benchmark never touches the development cluster (port 54329) nor the tests' clusters: unless
a --database-url is given, it keeps one in /tmp/foncier-bench on port 54400, which survives
between runs so that the inventory is generated once and measured many times.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from foncier.core.config import normalise_database_url
from foncier.core.pgcluster import Cluster

DEFAULT_DIR = Path("/tmp/foncier-bench")
DEFAULT_PORT = 54400
DEFAULT_DATABASE = "foncier_bench"

# Settings for a 2-core, 24 GiB machine shared with other work, the rest left at PostgreSQL's
# defaults. pgcluster starts servers with fixed options, so these go to postgresql.auto.conf
# (ALTER SYSTEM) and need one restart.
TUNING = {
    "shared_buffers": "2GB",
    "effective_cache_size": "8GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "1GB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "random_page_cost": "1.1",
}


def benchmark_parser(prog: str, description: str | None) -> argparse.ArgumentParser:
    """A benchmark's command line, with the options of its database."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_database_arguments(parser)
    return parser


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        help="an existing PostGIS database (default: the benchmark's own cluster)",
    )
    parser.add_argument("--cluster-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--keep-running", action="store_true", help="leave the benchmark cluster running"
    )


def plain_url(url: str) -> str:
    """The URL as psycopg (not SQLAlchemy) takes it."""
    return normalise_database_url(url).replace("postgresql+psycopg", "postgresql")


def _tune(cluster: Cluster) -> None:
    """Apply TUNING once (it persists in the data directory) and restart if anything changed."""
    with psycopg.connect(plain_url(cluster.url()), autocommit=True) as connection:
        changes = {
            name: value
            for name, value in TUNING.items()
            if connection.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
            != (value,)
        }
        for name, value in changes.items():
            connection.execute(
                sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value))
            )
    if changes:
        cluster.stop()
        cluster.start(durable=False)


def start_cluster(directory: Path, port: int) -> tuple[Cluster, bool]:
    """Start (creating it if needed) and tune the benchmark cluster; durability off: the data
    can always be generated again. Returns the cluster and whether this call started it."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)  # the postgres system user must reach it when we run as root
    cluster = Cluster(directory.resolve(), port)
    if not cluster.initialised():
        cluster.init()
    started = not cluster.running()
    if started:
        cluster.start(durable=False)
    _tune(cluster)
    return cluster, started


@contextmanager
def bench_database(args: argparse.Namespace, name: str = DEFAULT_DATABASE) -> Iterator[str]:
    """The URL to work on: --database-url, or the database ``name`` of the benchmark cluster. A
    cluster this process started is stopped at the end unless --keep-running; its data stay
    for next time."""
    if args.database_url:
        yield normalise_database_url(args.database_url)
        return
    cluster, started = start_cluster(args.cluster_dir, args.port)
    try:
        yield cluster.create_database(name)
    finally:
        if started and not args.keep_running:
            cluster.stop()
