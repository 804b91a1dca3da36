"""The OpenAPI description of /api (GET /api/openapi.json): it describes every route of the API
and nothing else, it is valid OpenAPI 3.1, the demo's real answers match it, and schemathesis,
sending what the description allows and more, gets no 5xx and only answers it describes."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from foncier.models import Epci
from foncier.web import API_PREFIX
from foncier.web.api.openapi import document
from seed.accounts import referent_email

DESCRIPTION = f"{API_PREFIX}/openapi.json"
SESSION_COOKIE = Flask.default_config["SESSION_COOKIE_NAME"]
# Flask answers these for every GET route by itself.
IMPLICIT_METHODS = frozenset({"HEAD", "OPTIONS"})
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch"})
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def description(anonymous_client: FlaskClient) -> dict[str, Any]:
    response = anonymous_client.get(DESCRIPTION)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def test_the_description_is_public_and_says_how_to_sign_in(description, app):
    assert description == document(app.config["SESSION_COOKIE_NAME"])
    assert description["openapi"].startswith("3.1.")
    scheme = description["components"]["securitySchemes"]["session"]
    assert scheme == {**scheme, "in": "cookie", "name": app.config["SESSION_COOKIE_NAME"]}
    assert description["security"] == [{"session": []}]
    assert description["paths"][DESCRIPTION]["get"]["security"] == []


def test_the_description_refuses_parameters_as_the_api_does(anonymous_client):
    response = anonymous_client.get(f"{DESCRIPTION}?format=yaml")
    assert response.status_code == 400
    assert "unknown parameter 'format'" in response.get_json()["description"]


def test_every_route_of_the_api_is_described_and_nothing_else(description, app):
    routes = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule): (rule.methods or set()) - IMPLICIT_METHODS
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
    }
    described = {
        path: {method.upper() for method in item if method in HTTP_METHODS}
        for path, item in description["paths"].items()
    }
    assert described == routes


def test_the_description_is_valid_openapi_and_json_schema(description):
    schemathesis.openapi.from_dict(description).validate()
    for schema in description["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize(
    ("name", "path"),
    [("Epci", "epci"), ("Site", "sites"), ("Terrain", "terrains"), ("Zone", "zones")],
)
def test_every_feature_of_the_demo_matches_its_description(description, client, name, path):
    answer = description["paths"][f"{API_PREFIX}/{path}"]["get"]["responses"]["200"]
    assert answer["content"]["application/geo+json"]["schema"]["$ref"].endswith(
        f"/{name}Collection"
    )
    body = client.get(f"{API_PREFIX}/{path}?limit=1000").get_json(force=True)
    _validator(description, f"{name}Collection").validate(body)
    assert body["numberReturned"] == body["numberMatched"] > 0, "the demo has every layer"
    served = set().union(*(feature["properties"] for feature in body["features"]))
    described = description["components"]["schemas"][f"{name}Properties"]["properties"]
    assert served == set(described)


def test_a_property_the_description_lacks_would_be_caught(description, client):
    """additionalProperties is false: a column added to a layer and not described fails."""
    feature = client.get(f"{API_PREFIX}/sites?limit=1").get_json(force=True)["features"][0]
    feature["properties"]["nouvelle_colonne"] = 1
    errors = list(_validator(description, "SiteFeature").iter_errors(feature))
    assert errors and "nouvelle_colonne" in errors[0].message


def _validator(description: dict[str, Any], schema_name: str) -> Draft202012Validator:
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": description["components"]}
    return Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)


# --- schemathesis --------------------------------------------------------------------------


@pytest.fixture
def referent_cookie(
    app: Flask, client_for: Callable[[str], FlaskClient], session
) -> dict[str, str]:
    """The session cookie of a référent of the demo."""
    epci = session.scalars(select(Epci).order_by(Epci.siren)).first()
    client = client_for(referent_email(epci))
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    assert cookie is not None
    return {name: cookie.value}


# Built from the document at collection time (schemathesis' lazy loading from a fixture does
# not run under pytest 9); test_the_description_is_public_and_says_how_to_sign_in checks that
# it is the document served.
schema = schemathesis.openapi.from_dict(document(SESSION_COOKIE))


@schema.parametrize()
# The examples share the test's application and its rolled-back transaction on purpose: the
# API writes nothing, and one database per example would cost seconds each.
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_answers_as_described(case, app, referent_cookie):
    # The référent's cookie replaces the one schemathesis makes up from the security scheme.
    case.call_and_validate(app=app, cookies=referent_cookie, checks=CHECKS)
