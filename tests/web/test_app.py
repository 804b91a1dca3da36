"""The application factory: settings, secret key, CSRF, one unit of work a request, errors."""

from __future__ import annotations

import itertools
import logging
from datetime import date
from decimal import Decimal

import pytest
from flask import abort
from sqlalchemy import func, select
from sqlalchemy.exc import InvalidRequestError
from web_helpers import sign_in

from foncier.core.errors import ConfigurationError, NotFoundError
from foncier.inventory.features import InvalidParameterError
from foncier.inventory.queries import get_site_detail, get_terrain_detail
from foncier.models import ConstraintZone, LoginAttempt, Site, Terrain, User
from foncier.models.codelists import CONFIDENTIAL_TERRAIN_FIELDS
from foncier.web import create_app
from foncier.web.database import db_session
from foncier.web.formatting import display, file_size, french_date, number, plural
from foncier.web.inventory.fields import SITE_GROUPS, TERRAIN_GROUPS
from foncier.web.inventory.views import page_numbers
from foncier.web.security import tile_source
from seed.accounts import DEMO_PASSWORD, PARTNER_EMAIL

TEST_ZONE = "tests/web"


def make_app(session_factory, **config):
    return create_app({"SESSION_FACTORY": session_factory, "BASEMAP_URL": "", **config})


# --- settings -----------------------------------------------------------------------------------


def test_config_overrides_the_environment(monkeypatch, session_factory):
    monkeypatch.setenv("FONCIER_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("FONCIER_BASEMAP_URL", "https://env.example.org/{z}/{x}/{y}.png")
    from_env = create_app({"SESSION_FACTORY": session_factory})
    assert from_env.config["SECRET_KEY"] == "from-the-environment"
    assert from_env.config["BASEMAP_URL"] == "https://env.example.org/{z}/{x}/{y}.png"
    overridden = make_app(session_factory, SECRET_KEY="given")
    assert overridden.config["SECRET_KEY"] == "given" and overridden.config["BASEMAP_URL"] == ""


def test_the_database_url_comes_from_the_environment_when_not_given(monkeypatch, database_url):
    monkeypatch.setenv("DATABASE_URL", database_url)
    app = create_app({"SECRET_KEY": "x", "BASEMAP_URL": "", "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    client.post("/connexion", data={"email": PARTNER_EMAIL, "password": DEMO_PASSWORD})
    assert client.get("/api/sites?limit=1").get_json()["numberMatched"] == 23


def test_a_secret_key_is_required_in_production(monkeypatch, session_factory):
    monkeypatch.delenv("FONCIER_SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(ConfigurationError, match="FONCIER_SECRET_KEY"):
        make_app(session_factory)


@pytest.mark.parametrize("mode", [{"TESTING": True}, {"DEBUG": True}])
def test_a_temporary_secret_key_is_made_for_tests_and_debugging(
    monkeypatch, caplog, session_factory, mode
):
    monkeypatch.delenv("FONCIER_SECRET_KEY", raising=False)
    with caplog.at_level(logging.WARNING):
        first = make_app(session_factory, **mode)
    second = make_app(session_factory, **mode)
    assert len(first.config["SECRET_KEY"]) >= 32
    assert first.config["SECRET_KEY"] != second.config["SECRET_KEY"]
    assert "temporary random key" in caplog.text


@pytest.mark.parametrize(("hops", "recorded"), [(0, "127.0.0.1"), (1, "203.0.113.7")])
def test_the_client_address_comes_from_the_proxies_only_when_told(
    session_factory, session, hops, recorded
):
    app = make_app(session_factory, TESTING=True, WTF_CSRF_ENABLED=False, PROXY_HOPS=hops)
    app.test_client().post(
        "/connexion",
        data={"email": "personne@exemple.test", "password": "pas le bon"},
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    attempt = session.scalars(
        select(LoginAttempt).where(LoginAttempt.email == "personne@exemple.test")
    ).one()
    assert attempt.remote_addr == recorded


@pytest.mark.parametrize("value", ["-1", "deux", "9"])
def test_a_wrong_number_of_proxies_is_refused(monkeypatch, session_factory, value):
    monkeypatch.setenv("FONCIER_PROXY_HOPS", value)
    with pytest.raises(ConfigurationError, match="FONCIER_PROXY_HOPS"):
        make_app(session_factory, TESTING=True)


def test_session_cookies_are_http_only_and_same_site(anonymous_client):
    # The sign-in form's CSRF token is the first thing stored in the session.
    response = anonymous_client.get("/connexion")
    assert response.status_code == 200
    [cookie] = response.headers.getlist("Set-Cookie")
    name, *attributes = (part.strip().partition("=")[::2] for part in cookie.split(";"))
    assert name[0] == "session"
    assert ("HttpOnly", "") in attributes and ("SameSite", "Lax") in attributes


def test_every_response_keeps_to_its_own_origin(client):
    response = client.get("/sites")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/sites",  # pages
        "/terrains/{own_plot}",  # a plot with its owners and sale, for its EPCI's référent
        "/imports-exports/export?format=csv&confidentiel=y",  # the confidential export
        "/projets",
        "/api/terrains",
        "/connexion",
    ],
)
def test_no_cache_keeps_pages_exports_or_api_answers(client_for, session, path):
    """The probe found pages and exports holding owners and sale figures without
    Cache-Control: a shared computer's browser cache or a proxy could keep them."""
    referent = session.scalars(select(User).where(User.epci_siren.is_not(None))).first()
    own_plot = session.scalars(
        select(Terrain.terr_id)
        .join(Terrain.site)
        .where(Site.site_epci_siren == referent.epci_siren)
    ).first()
    response = client_for(referent.email).get(path.format(own_plot=own_plot))
    assert response.status_code == 200, path
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_keep_their_own_caching(anonymous_client):
    response = anonymous_client.get("/static/css/foncier.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


@pytest.mark.parametrize(
    "url, source",
    [
        ("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", "https://*.tile.openstreetmap.org"),
        ("https://tiles.example.org/wmts/{z}/{x}/{y}.png", "https://tiles.example.org"),
        ("/tuiles/{z}/{x}/{y}.png", None),
        ("", None),
    ],
)
def test_the_policy_admits_the_basemap_tiles(url, source):
    assert tile_source(url) == source


# --- CSRF and the unit of work ------------------------------------------------------------------


def add_test_routes(app):
    """Routes that write a zone, then succeed, refuse or fail (as future write routes will)."""

    def write_zone() -> None:
        db_session().add(
            ConstraintZone(
                zone_type="autre",
                nom="Zone d'essai",
                source=TEST_ZONE,
                geom="SRID=2154;MULTIPOLYGON(((525000 6700000,525100 6700000,525100 6700100,"
                "525000 6700000)))",
            )
        )
        db_session().flush()

    def succeed() -> str:
        write_zone()
        return "ok"

    def refuse() -> str:
        write_zone()
        abort(400)

    def fail() -> str:
        write_zone()
        raise RuntimeError("boom")

    for view in (succeed, refuse, fail):
        app.add_url_rule(f"/essai/{view.__name__}", view.__name__, view, methods=["GET", "POST"])


def test_posts_without_a_csrf_token_are_refused_in_french(app, client):
    add_test_routes(app)
    response = client.post("/essai/succeed")
    assert response.status_code == 400
    assert "Le formulaire a expiré" in response.get_data(as_text=True)


def count_test_zones(session):
    return session.scalar(select(func.count()).where(ConstraintZone.source == TEST_ZONE))


def test_a_successful_request_commits(app, client, session):
    add_test_routes(app)
    assert client.get("/essai/succeed").status_code == 200
    assert count_test_zones(session) == 1


def test_a_refused_request_rolls_back(app, client, session):
    add_test_routes(app)
    assert client.get("/essai/refuse").status_code == 400
    assert count_test_zones(session) == 0


# Subclasses of mapped domain errors, as features may define.
class UnknownParkError(NotFoundError):
    pass


class BadRadiusError(InvalidParameterError):
    pass


@pytest.mark.parametrize(
    "error, prefix, status",
    [(UnknownParkError, "", 404), (BadRadiusError, "", 400), (UnknownParkError, "/api", 404)],
)
def test_subclasses_of_domain_errors_become_their_parents_http_errors(
    app, client, error, prefix, status
):
    def fail() -> str:
        raise error("pas ici")

    app.add_url_rule(f"{prefix}/essai/domaine", "domain", fail)
    response = client.get(f"{prefix}/essai/domaine")
    assert response.status_code == status
    if prefix:
        assert response.get_json() == {"code": "Not Found", "description": "pas ici"}
    else:
        assert 'lang="fr"' in response.get_data(as_text=True)


def test_a_failing_request_rolls_back_and_shows_a_french_500(session_factory, session, caplog):
    app = make_app(session_factory, SECRET_KEY="x")
    add_test_routes(app)
    client = sign_in(app.test_client(), session, PARTNER_EMAIL)
    with caplog.at_level(logging.ERROR):
        response = client.get("/essai/fail")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Erreur interne" in page and "boom" not in page
    assert "Données de démonstration" not in page  # a 500 page never queries again
    assert count_test_zones(session) == 0
    assert "boom" in caplog.text


# --- French formatting and page pieces ----------------------------------------------------------


def test_french_formatting():
    assert number(Decimal("1234.5"), 2) == "1\u202f234,5"
    assert number(Decimal("27.0086"), 2) == "27,01"
    assert number(3) == "3"
    assert file_size(62) == "62 octets" and file_size(12_288) == "12 Ko"
    assert file_size(3_565_158) == "3,4 Mo"
    assert display(Decimal("8.1096"), "ha") == "8,11\u00a0ha"
    assert display(Decimal("22.50"), "euros_m2") == "22,5\u00a0€/m²"
    assert display(1830, "kva") == "1\u202f830\u00a0kVA"
    assert display(None, "ha") == display("", "text") == "non renseigné"
    assert display(False, "bool") == "non" and display(True, "bool") == "oui"
    assert french_date(date(2026, 1, 1)) == "1er janvier 2026"
    assert display(date(2027, 8, 30), "date") == "30 août 2027"
    assert plural(0, "parc", "parcs") == "0 parc" and plural(23, "parc", "parcs") == "23 parcs"


def test_page_links_around_the_current_page():
    assert page_numbers(1, 1) == [1]
    assert page_numbers(1, 2) == [1, 2]
    assert page_numbers(6, 12) == [1, None, 4, 5, 6, 7, 8, None, 12]
    assert page_numbers(2, 12) == [1, 2, 3, 4, None, 12]


def test_pages_never_list_the_confidential_fields():
    shown = {a.name for group in SITE_GROUPS + TERRAIN_GROUPS for a in group.attributes}
    assert not shown & CONFIDENTIAL_TERRAIN_FIELDS


def test_the_plots_the_pages_receive_never_load_the_confidential_fields(session):
    terr_id, site_id = session.execute(
        select(Terrain.terr_id, Terrain.site_id).where(Terrain.terr_acquereur.is_not(None))
    ).first()
    plots = [
        get_terrain_detail(session, terr_id).terrain,
        *get_site_detail(session, site_id).terrains,
    ]
    for plot, field in itertools.product(plots, sorted(CONFIDENTIAL_TERRAIN_FIELDS)):
        with pytest.raises(InvalidRequestError, match="raiseload"):
            getattr(plot, field)
