"""`foncier serve` runs the application under a real gunicorn."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from foncier.core.pgcluster import free_port
from foncier.web import create_app, database
from foncier.web.server import WORKER_TIMEOUT_S, FoncierServer

# The `foncier` console script, run by this interpreter wherever its scripts are installed.
FONCIER = [sys.executable, "-c", "from foncier.cli import main; main()"]


def wait_for(url: str, process: subprocess.Popen, timeout: float = 30.0) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize(
    ("options", "worker"), [((), "sync"), (("--workers", "1", "--threads", "2"), "gthread")]
)
def test_foncier_serve_runs_gunicorn(database_url, options, worker):
    port = free_port()
    process = serve(database_url, port, *options)
    try:
        # Signed out, the list of parks leads to the sign-in page (a redirection followed).
        page = wait_for(f"http://127.0.0.1:{port}/sites", process).decode()
        assert "Connexion" in page and 'name="csrf_token"' in page
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert "Booting worker" in output and "GET /sites" in output
    # The default worker model, or threads when asked for (each with its own connection).
    assert f"Using worker: {worker}" in output


def serve(database_url: str, port: int, *options: str, **env: str) -> subprocess.Popen:
    """`foncier serve` on ``port``, its output piped; ``env``: more FONCIER_* settings."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "FONCIER_SECRET_KEY": "tests-only",
        "FONCIER_BASEMAP_URL": "",
        **env,
    }
    command = [*FONCIER, "serve", "--port", str(port), *options]
    return subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_a_browser_sending_too_much_reads_the_french_answer_not_a_reset(database_url):
    """Refusing a body larger than the limit before reading it, then closing the connection,
    made the browser show « ERR_CONNECTION_RESET » instead of the page that says why: the
    server now reads what was sent (within a bound) before it answers."""
    port = free_port()
    process = serve(database_url, port, FONCIER_MAX_UPLOAD_MB="1")
    try:
        wait_for(f"http://127.0.0.1:{port}/connexion", process)
        # The imports page says why on its own page; any other form answers the 413 page.
        for path, status, text in (
            ("/imports-exports/import", 303, ""),
            ("/deconnexion", 413, "Envoi trop volumineux"),
        ):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            # Sent whole before the answer is read, as a browser sends a form.
            connection.request(
                "POST",
                path,
                body=b"x" * (6 * 2**20),
                headers={"Content-Type": "multipart/form-data; boundary=b"},
            )
            response = connection.getresponse()
            assert response.status == status, path
            assert text in response.read().decode()
            connection.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


def test_database_pool_holds_a_connection_per_thread(database_url):
    app = create_app({"DATABASE_URL": database_url, "DATABASE_POOL_SIZE": 3, "TESTING": True})
    factory = app.extensions[database.EXTENSION]
    assert factory.kw["bind"].pool.size() == 3
    assert (
        create_app({"DATABASE_URL": database_url, "TESTING": True})
        .extensions[database.EXTENSION]
        .kw["bind"]
        .pool.size()
        == database.DEFAULT_POOL_SIZE
    )


def test_workers_are_given_the_time_of_the_longest_legitimate_request():
    """gunicorn's 30 s default killed the worker of a large import's confirmation, and the
    person got a bare 500; the bound of web imports now fits well within the timeout."""
    config = FoncierServer(lambda: None, {"bind": "127.0.0.1:0"}).cfg
    assert config.timeout == config.graceful_timeout == WORKER_TIMEOUT_S == 90


def test_workers_are_replaced_now_and_then_to_give_memory_back():
    """The probe saw a worker stay at 995 MB after a large preview: Python keeps what it
    took. Workers are replaced after about a thousand requests, not all at once."""
    config = FoncierServer(lambda: None, {"bind": "127.0.0.1:0"}).cfg
    assert config.max_requests == 1000 and config.max_requests_jitter == 100
