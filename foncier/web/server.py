"""Serving the application with gunicorn, started from Python (``foncier serve``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

# A sync worker silent for longer is killed (gunicorn's default: 30 s), and one still busy
# that long after a restart signal too. The longest legitimate request is the confirmation of a
# web import at its bound (staged_imports.MAX_ROWS_PER_FILE): 20,000 plots updated took 32 s
# on a 2-core machine under a load of 6 (20,000 created: 18-25 s; previews 3-7 s), so 90 s
# leaves it room, and a request beyond it is a fault rather than work.
WORKER_TIMEOUT_S = 90
# A worker is replaced after this many requests (give or take the jitter, so that they are not
# all replaced at once): Python keeps the memory a large import preview took (the probe saw a
# worker stay at 995 MB), and a new worker gives it back to the system.
MAX_REQUESTS_PER_WORKER = 1000
MAX_REQUESTS_JITTER = 100


class FoncierServer(BaseApplication):
    """gunicorn with its settings given here rather than read from its command line."""

    def __init__(self, app_factory: Callable[[], Flask], options: dict[str, Any]) -> None:
        self.app_factory = app_factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        self.cfg.set("timeout", WORKER_TIMEOUT_S)
        self.cfg.set("graceful_timeout", WORKER_TIMEOUT_S)
        self.cfg.set("max_requests", MAX_REQUESTS_PER_WORKER)
        self.cfg.set("max_requests_jitter", MAX_REQUESTS_JITTER)
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        # Each worker builds its own application, hence its own database connection pool.
        return self.app_factory()


def run_gunicorn(
    app_factory: Callable[[], Flask], bind: str, workers: int, threads: int = 1
) -> None:
    """Serve ``app_factory()`` on ``bind`` (host:port) with ``workers`` processes of ``threads``
    threads each, until stopped: gthread workers (kept-alive connections, a thread a request)
    from two threads on, sync workers (one request at a time, no keep-alive) with one."""
    FoncierServer(
        app_factory,
        {
            "bind": bind,
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread" if threads > 1 else "sync",
            "accesslog": "-",
            "proc_name": "foncier",
        },
    ).run()
