"""The web adapter: a Flask application over the domain core, in French.

``create_app`` builds it and registers one blueprint per feature, each with its views and
its templates (templates/<blueprint>/):

- ``auth``: sign-in, passwords, the accounts an administrator manages and the e-mails sent;
- ``inventory``: the map, parks and plots, their editing and history;
- ``api``: GeoJSON of the inventory, the matching and cadastral outlines, under /api;
- ``transfer``: CNIG imports and exports (/imports-exports);
- ``matching``: the search for plots that fit a company's needs;
- ``prospects``: company projects, their shortlist and exports;
- ``redirections``: a project's case (its moves, proposals to other EPCIs and their
  answers), the list of redirections and the inbox;
- ``agreements``: shared-benefit agreements, the calculator and the ledger (/conventions);
- ``meetings``: the network's meeting, so far the balances between territories
  (/reseau/bilans).

Views only forward: the core finds or refuses a record (``foncier.core.db.get_or_raise`` and
the permission checks after it) and says which choices a form offers, beside the rule that
checks them; no view builds a query (tests/test_architecture.py). Every page but the sign-in
ones needs a signed-in member.
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
from foncier.web.meetings import meetings
from foncier.web.prospects import prospects
from foncier.web.redirections import redirections
from foncier.web.transfer import transfer

API_PREFIX = "/api"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The application; ``config`` keys override the environment's settings.

    Keys: DATABASE_URL, DATABASE_POOL_SIZE (connections kept per process), SECRET_KEY,
    BASEMAP_URL, BASEMAP_ATTRIBUTION, PROXY_HOPS, SESSION_FACTORY (a sessionmaker, e.g. bound
    to a test's transaction), and any Flask setting (TESTING...).
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
    app.register_blueprint(meetings)
    return app
