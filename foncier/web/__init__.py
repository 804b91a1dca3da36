"""The web adapter: a Flask application over the domain core, in French.

``create_app`` builds it; each feature is a blueprint (``auth`` sign-in and accounts,
``inventory`` pages, ``matching`` search for plots, ``api`` GeoJSON and matching) with its
views and its templates (templates/<blueprint>/). Every page but the sign-in ones needs a
signed-in member.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from foncier.web import auth, database, errors, formatting, navigation, security, settings
from foncier.web.agreements import agreements
from foncier.web.api import api
from foncier.web.inventory import inventory
from foncier.web.matching import matching
from foncier.web.prospects import prospects
from foncier.web.redirections import redirections
from foncier.web.transfer import transfer

API_PREFIX = "/api"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The application; ``config`` keys override the environment's settings.

    Keys: DATABASE_URL, SECRET_KEY, BASEMAP_URL, BASEMAP_ATTRIBUTION, PROXY_HOPS, SESSION_FACTORY (a
    sessionmaker, e.g. bound to a test's transaction), and any Flask setting (TESTING...).
    """
    app = Flask(__name__)
    app.config.from_mapping(settings.from_environment())
    app.config.from_mapping(config or {})
    settings.ensure_secret_key(app)
    settings.secure_cookies(app)
    settings.trust_proxies(app)
    database.init_app(app)
    CSRFProtect(app)
    security.init_app(app)
    errors.init_app(app, api_prefix=API_PREFIX)
    formatting.init_app(app)
    auth.init_app(app, api_prefix=API_PREFIX)
    navigation.init_app(app)
    app.register_blueprint(auth.auth)
    app.register_blueprint(inventory)
    app.register_blueprint(api, url_prefix=API_PREFIX)
    app.register_blueprint(transfer)
    app.register_blueprint(matching)
    app.register_blueprint(prospects)
    app.register_blueprint(redirections)
    app.register_blueprint(agreements)
    return app
