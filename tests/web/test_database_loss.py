"""Losing the database in the middle of a request: a French page (JSON under /api), never the
web server's bare « Internal Server Error ».

The database is the tests' real PostgreSQL, reached through a TCP relay that the test cuts
once the person is loaded: the request's next statement finds the connection gone, as when
PostgreSQL stops or the network fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import delete
from sqlalchemy.engine import make_url
from tcp_proxy import CuttableRelay, cuttable_relay
from web_helpers import TEST_CONFIG, page_of, sign_in

from foncier.core.db import make_engine, make_session_factory
from foncier.models import WebSession
from foncier.web import create_app

REFERENT = "referent.gatine-racan@demo.foncier.test"


@pytest.fixture
def relay(database_url: str) -> Iterator[CuttableRelay]:
    url = make_url(database_url)
    with cuttable_relay((url.host or "127.0.0.1", url.port or 5432)) as relay:
        yield relay


@pytest.fixture
def app_through(relay: CuttableRelay, database_url: str) -> Iterator[Flask]:
    """The application on the relayed database, cut as soon as a request has loaded its
    person and a test has asked for it."""
    engine = make_engine(
        make_url(database_url).set(host="127.0.0.1", port=relay.port).render_as_string(False)
    )
    factory = make_session_factory(engine)
    app = create_app({**TEST_CONFIG, "SESSION_FACTORY": factory, "SESSION_COOKIE_SECURE": False})
    app.config["CUT_AFTER_SIGN_IN"] = False

    @app.before_request
    def cut_when_asked() -> None:  # runs after the person was loaded (registered later)
        if app.config["CUT_AFTER_SIGN_IN"]:
            relay.cut()

    yield app
    engine.dispose()
    with make_engine(database_url).begin() as cleanup:  # the session row the test committed
        cleanup.execute(delete(WebSession))


@pytest.fixture
def signed_in(app_through: Flask):
    factory = app_through.extensions["foncier.sessions"]
    with factory.begin() as session:
        client = sign_in(app_through.test_client(), session, REFERENT)
    assert client.get("/projets").status_code == 200
    return client


@pytest.mark.parametrize("path", ["/projets", "/sites/37250_SITE-ECO_00001"])
def test_a_page_that_loses_the_database_answers_the_french_unavailable_page(
    app_through, signed_in, path
):
    app_through.config["CUT_AFTER_SIGN_IN"] = True
    response = signed_in.get(path)
    page = page_of(response)
    assert response.status_code == 503
    assert "Service momentanément indisponible" in page.text
    assert "base de données" in page.text
    assert response.headers["Retry-After"]


def test_the_api_that_loses_the_database_answers_json(app_through, signed_in):
    app_through.config["CUT_AFTER_SIGN_IN"] = True
    response = signed_in.get("/api/sites")
    assert response.status_code == 503
    assert response.json["code"] == "Service Unavailable"


def test_a_database_that_is_down_from_the_start_gives_the_same_page(app_through, relay):
    relay.cut()
    client = app_through.test_client()
    assert client.get("/connexion").status_code == 503
    with client.session_transaction() as cookie:
        cookie["session_key"] = "any"
    response = client.get("/sites")
    assert response.status_code == 503
    assert "Service momentanément indisponible" in page_of(response).text


def test_an_error_page_that_cannot_be_rendered_falls_back_to_a_bare_french_page(app_through):
    """Whatever breaks the error page itself (here a failing template helper), the answer is
    still French, never the web server's bare « Internal Server Error »."""

    @app_through.context_processor
    def broken() -> dict[str, object]:
        raise RuntimeError("a template helper that fails")

    response = app_through.test_client().get("/connexion")
    assert response.status_code == 500
    assert '<html lang="fr">' in response.get_data(as_text=True)
    assert "Erreur interne" in page_of(response).text
