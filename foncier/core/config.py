"""Settings read from the environment and shared by the CLI and the web app."""

from __future__ import annotations

import os

from foncier.core.errors import ConfigurationError

DEFAULT_BASEMAP_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_BASEMAP_ATTRIBUTION = "© contributeurs OpenStreetMap"


def normalise_database_url(url: str) -> str:
    """Make plain ``postgresql://`` URLs use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def database_url_from_env() -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        raise ConfigurationError(
            "DATABASE_URL is not set: point it at a PostgreSQL/PostGIS database, "
            "e.g. postgresql://user@127.0.0.1:5432/foncier "
            "(scripts/run sets it for its local cluster)."
        )
    return normalise_database_url(url)
