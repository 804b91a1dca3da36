"""The web application's settings: environment first, then what create_app is given."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from typing import Any, Final

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from foncier.core.config import DEFAULT_BASEMAP_ATTRIBUTION, DEFAULT_BASEMAP_URL
from foncier.core.errors import ConfigurationError
from foncier.messaging.mail import MailSettings

# A working day: after it the person signs in again (the cookie's signature expires too).
DEFAULT_SESSION_HOURS: Final = 12
MAX_PROXY_HOPS: Final = 5
# The largest request body, uploads included: a whole département's inventory as CNIG files
# or a GeoPackage weighs a few megabytes; national-size files go through `foncier import cnig`.
DEFAULT_MAX_UPLOAD_MB: Final = 32
MAX_UPLOAD_MB: Final = 256


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
        # None: decided by secure_cookies() once TESTING and DEBUG are known.
        "SESSION_COOKIE_SECURE": _flag("FONCIER_COOKIE_SECURE"),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=_session_hours()),
        "MAIL_SETTINGS": MailSettings.from_environment(),
        # Werkzeug refuses a larger body with 413 before reading it (Flask's default: no limit).
        "MAX_CONTENT_LENGTH": _max_upload_mb() * 2**20,
        # Reverse proxies in front of the platform that set X-Forwarded-For/-Proto/-Host.
        "PROXY_HOPS": _proxy_hops(),
        # Form messages in French from WTForms' own catalogues (Flask-Babel is not used).
        "WTF_I18N_ENABLED": False,
    }


def _flag(name: str) -> bool | None:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return None
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name}={value!r}: use 1 (yes) or 0 (no)")


def _proxy_hops() -> int:
    value = os.environ.get("FONCIER_PROXY_HOPS", "").strip() or "0"
    if not value.isdigit() or int(value) > MAX_PROXY_HOPS:
        raise ConfigurationError(
            f"FONCIER_PROXY_HOPS={value!r}: the number of reverse proxies in front "
            f"(0-{MAX_PROXY_HOPS})"
        )
    return int(value)


def trust_proxies(app: Flask) -> None:
    """Behind ``PROXY_HOPS`` reverse proxies, read the client's address, scheme and host from
    the headers they set: per-address sign-in throttling and absolute links need the real
    ones. Without proxies the headers are ignored — anyone could forge them."""
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]


def _max_upload_mb() -> int:
    value = os.environ.get("FONCIER_MAX_UPLOAD_MB", "").strip() or str(DEFAULT_MAX_UPLOAD_MB)
    if not value.isdigit() or not 1 <= int(value) <= MAX_UPLOAD_MB:
        raise ConfigurationError(
            f"FONCIER_MAX_UPLOAD_MB={value!r}: the largest upload, in megabytes (1-{MAX_UPLOAD_MB})"
        )
    return int(value)


def _session_hours() -> float:
    value = os.environ.get("FONCIER_SESSION_HOURS", "").strip()
    try:
        hours = float(value) if value else DEFAULT_SESSION_HOURS
    except ValueError:
        hours = 0
    if not 0 < hours <= 24 * 31:
        raise ConfigurationError(f"FONCIER_SESSION_HOURS={value!r}: a number of hours (0-744)")
    return hours


def secure_cookies(app: Flask) -> None:
    """Send the session cookie over HTTPS only, unless told otherwise or testing/debugging.

    Production serves HTTPS; on a developer's machine over plain http, FONCIER_COOKIE_SECURE=0
    (scripts/run sets it) lets the browser send the cookie back.
    """
    if app.config.get("SESSION_COOKIE_SECURE") is None:
        app.config["SESSION_COOKIE_SECURE"] = not (app.testing or app.debug)


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
