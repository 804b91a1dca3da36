"""Fixtures of the web adapter's tests: page and API tests run the application on the test's
rolled-back transaction (SESSION_FACTORY). The browser tests are in tests/browser."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from web_helpers import TEST_CONFIG, Page, page_of, sign_in

from foncier.web import create_app
from seed.accounts import PARTNER_EMAIL


@pytest.fixture
def app(session_factory: sessionmaker[Session]) -> Flask:
    return create_app({**TEST_CONFIG, "TESTING": True, "SESSION_FACTORY": session_factory})


@pytest.fixture
def anonymous_client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def client_for(app: Flask, session: Session) -> Callable[[str], FlaskClient]:
    """A new client signed in as the account ``email`` (e.g. a demo referent)."""
    return lambda email: sign_in(app.test_client(), session, email)


@pytest.fixture
def client(client_for: Callable[[str], FlaskClient]) -> FlaskClient:
    """Signed in as the demo partner: reads everything public, writes nothing."""
    return client_for(PARTNER_EMAIL)


@pytest.fixture
def get_page(client: FlaskClient) -> Callable[..., Page]:
    """GET a URL from the test's application, or from ``through`` another client."""

    def get(url: str, through: FlaskClient | None = None) -> Page:
        return page_of((through or client).get(url))

    return get
