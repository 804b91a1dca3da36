"""The project's own PostGIS clusters: started once, reused, never confused with another server."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import pytest

from foncier.core.errors import ConfigurationError
from foncier.core.pgcluster import Cluster, free_port


def reachable_directory():
    """A temporary directory the postgres system user can reach (pytest's tmp_path is 0700)."""
    directory = tempfile.TemporaryDirectory(prefix="foncier-cluster-test-")
    os.chmod(directory.name, 0o755)
    return directory


@pytest.fixture(scope="module")
def cluster():
    with reachable_directory() as root:
        cluster = Cluster(Path(root) / "pg", free_port())
        cluster.ensure_running(durable=False)
        try:
            yield cluster
        finally:
            cluster.stop()


def test_a_started_cluster_serves_a_postgis_database(cluster):
    import psycopg

    url = cluster.create_database("foncier_cluster_test")
    with psycopg.connect(url.replace("+psycopg", "")) as connection:
        assert connection.execute("SELECT postgis_version()").fetchone()[0]
    assert cluster.running() and cluster.running_port() == cluster.port


def test_ensuring_a_running_cluster_again_is_a_no_op(cluster):
    cluster.ensure_running()
    assert cluster.create_database("foncier_cluster_test") == cluster.url("foncier_cluster_test")


def test_a_running_cluster_asked_on_another_port_is_refused(cluster):
    elsewhere = Cluster(cluster.root, free_port())
    with pytest.raises(ConfigurationError, match=f"already runs on port {cluster.port}"):
        elsewhere.ensure_running()


def test_a_port_taken_by_another_server_is_refused():
    with socket.socket() as other_server, reachable_directory() as root:
        other_server.bind(("127.0.0.1", 0))
        other_server.listen()
        cluster = Cluster(Path(root) / "pg", other_server.getsockname()[1])
        with pytest.raises(ConfigurationError, match="already used by another server"):
            cluster.ensure_running()


def test_a_path_with_spaces_and_a_stale_pid_file_after_a_crash():
    with reachable_directory() as root:
        cluster = Cluster(Path(root) / "mon cluster", free_port())
        cluster.ensure_running(durable=False)
        assert cluster.running()
        cluster.stop()
        assert not cluster.running()
        # What a crash leaves behind: a pid file naming no live server.
        (cluster.datadir / "postmaster.pid").write_text("999999\n")
        cluster.stop()
        cluster.ensure_running(durable=False)
        assert cluster.running() and cluster.running_port() == cluster.port
        cluster.stop()
