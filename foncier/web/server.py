"""Serving the application with gunicorn, started from Python (``foncier serve``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


class FoncierServer(BaseApplication):
    """gunicorn with its settings given here rather than read from its command line."""

    def __init__(self, app_factory: Callable[[], Flask], options: dict[str, Any]) -> None:
        self.app_factory = app_factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        # Each worker builds its own application, hence its own database connection pool.
        return self.app_factory()


def run_gunicorn(app_factory: Callable[[], Flask], bind: str, workers: int) -> None:
    """Serve ``app_factory()`` on ``bind`` (host:port) with ``workers`` processes, until stopped."""
    FoncierServer(
        app_factory,
        {"bind": bind, "workers": workers, "accesslog": "-", "proc_name": "foncier"},
    ).run()
