"""Settings read from the environment, shared by the CLI, the web app and the tests."""

from __future__ import annotations

import os
from dataclasses import dataclass

from foncier.errors import ConfigurationError

DEFAULT_BASEMAP_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_BASEMAP_ATTRIBUTION = "© contributeurs OpenStreetMap"


def normalise_database_url(url: str) -> str:
    """Make plain ``postgresql://`` URLs use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str | None = None
    basemap_url: str = DEFAULT_BASEMAP_URL
    basemap_attribution: str = DEFAULT_BASEMAP_ATTRIBUTION


def database_url_from_env() -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        raise ConfigurationError(
            "DATABASE_URL is not set: point it at a PostgreSQL/PostGIS database, "
            "e.g. postgresql://user@127.0.0.1:5432/foncier "
            "(scripts/run sets it for its local cluster)."
        )
    return normalise_database_url(url)


def settings_from_env() -> Settings:
    """Read every setting; FONCIER_BASEMAP_URL may be set empty to run without a basemap."""
    return Settings(
        database_url=database_url_from_env(),
        secret_key=os.environ.get("FONCIER_SECRET_KEY") or None,
        basemap_url=os.environ.get("FONCIER_BASEMAP_URL", DEFAULT_BASEMAP_URL).strip(),
        basemap_attribution=os.environ.get(
            "FONCIER_BASEMAP_ATTRIBUTION", DEFAULT_BASEMAP_ATTRIBUTION
        ),
    )
