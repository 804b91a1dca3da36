"""The web application's settings: environment first, then what create_app is given."""

from __future__ import annotations

import os
import secrets
from typing import Any

from flask import Flask

from foncier.config import DEFAULT_BASEMAP_ATTRIBUTION, DEFAULT_BASEMAP_URL
from foncier.errors import ConfigurationError


def from_environment() -> dict[str, Any]:
    """Settings read from FONCIER_* variables, with safe defaults.

    DATABASE_URL is read later, and only when no SESSION_FACTORY is given.
    """
    return {
        "SECRET_KEY": os.environ.get("FONCIER_SECRET_KEY") or None,
        # Empty means no basemap: the map shows the inventory's outlines only.
        "BASEMAP_URL": os.environ.get("FONCIER_BASEMAP_URL", DEFAULT_BASEMAP_URL).strip(),
        "BASEMAP_ATTRIBUTION": os.environ.get(
            "FONCIER_BASEMAP_ATTRIBUTION", DEFAULT_BASEMAP_ATTRIBUTION
        ),
        # The session cookie is out of reach of scripts and of cross-site form posts.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Form messages in French from WTForms' own catalogues (Flask-Babel is not used).
        "WTF_I18N_ENABLED": False,
    }


def ensure_secret_key(app: Flask) -> None:
    """Require a secret key in production; make a throwaway one for tests and debugging.

    A throwaway key changes at every start (and differs between gunicorn workers), which would
    break sessions and CSRF tokens in production, hence the refusal there.
    """
    if app.config.get("SECRET_KEY"):
        return
    if not (app.testing or app.debug):
        raise ConfigurationError(
            "FONCIER_SECRET_KEY is not set: give the web application a long random secret, "
            'e.g. python -c "import secrets; print(secrets.token_hex(32))" '
            "(FLASK_DEBUG=1 makes a temporary one for development)."
        )
    app.logger.warning(
        "FONCIER_SECRET_KEY is not set: using a temporary random key (development only)."
    )
    app.config["SECRET_KEY"] = secrets.token_hex(32)
