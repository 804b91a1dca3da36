"""Helpers of the page tests (tests/web) and the browser tests (tests/browser): reading pages and
forms as a person would, signing in a test client; the fixtures live in each folder's
conftest.py."""

from __future__ import annotations

import html
import json
import re
import uuid
from dataclasses import dataclass
from html.parser import HTMLParser

import shapely
from flask.testing import FlaskClient
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from foncier.accounts import sessions
from foncier.models import User

# The application's settings in tests: no basemap, so that no page loads anything from outside.
TEST_CONFIG = {"SECRET_KEY": "tests-only", "BASEMAP_URL": "", "BASEMAP_ATTRIBUTION": ""}
TO_WGS84 = Transformer.from_crs(2154, 4326, always_xy=True)


@dataclass(frozen=True)
class Page:
    """A response read as a person would: its status, its visible text, its data attributes."""

    status: int
    html: str

    @property
    def text(self) -> str:
        return visible_text(self.html)

    def values(self, attribute: str) -> list[str]:
        """Values of ``attribute`` (e.g. data-site-id), in document order."""
        return [html.unescape(v) for v in re.findall(rf'\b{attribute}="([^"]*)"', self.html)]

    def json_script(self, element_id: str) -> object:
        """The data of a <script type="application/json"> element."""
        match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>',
                          self.html, flags=re.S)  # fmt: skip
        assert match, f"no JSON script #{element_id}"
        return json.loads(match.group(1))

    def element_text(self, element_id: str) -> str:
        match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', self.html, flags=re.S)
        assert match, f"no element #{element_id}"
        return " ".join(html.unescape(match.group(1)).split())


def page_of(response: TestResponse) -> Page:
    return Page(response.status_code, response.get_data(as_text=True))


def sign_in(client: FlaskClient, session: Session, email: str) -> FlaskClient:
    """Put ``email``'s account in the client's session cookie, as the sign-in page does."""
    user = session.scalars(select(User).where(User.email == email)).one()
    key = sessions.open_session(session, user, client.application.permanent_session_lifetime)
    with client.session_transaction() as cookie:
        cookie["session_key"] = key
    return client


def csrf_token_of(client: FlaskClient, url: str) -> str:
    """The CSRF token of the form page at ``url``, as a browser would read it."""
    html = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def post_form(
    client: FlaskClient, url: str, data: dict[str, str] | None = None, form_page: str | None = None
) -> TestResponse:
    """POST ``data`` to ``url`` with the CSRF token read from ``form_page`` (default: ``url``)."""
    token = csrf_token_of(client, form_page or url)
    return client.post(url, data={**(data or {}), "csrf_token": token})


class _FormReader(HTMLParser):
    """The values a browser would submit from the form ``form_id``, unchanged by the user."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.inside = attributes.get("id") == self.form_id
        if not self.inside or ("name" not in attributes and tag != "option"):
            return
        kind = attributes.get("type", "text")
        if tag == "input" and kind not in ("file", "submit", "button"):
            if kind not in ("checkbox", "radio") or "checked" in attributes:
                self.values[attributes["name"]] = attributes.get("value", "on")
        elif tag == "select":
            self._select = attributes["name"]
        elif tag == "option" and self._select is not None:
            if "selected" in attributes or self._select not in self.values:
                self.values[self._select] = attributes.get("value", "")
        elif tag == "textarea":
            self._textarea = attributes["name"]
            self.values[self._textarea] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.values[self._textarea] += data


def form_values(html: str, form_id: str) -> dict[str, str]:
    """What submitting the form ``form_id`` of a page as it is would send (CSRF token too)."""
    reader = _FormReader(form_id)
    reader.feed(html)
    assert reader.values, f"no form #{form_id} with fields"
    return reader.values


def form_of(client: FlaskClient, url: str, form_id: str) -> dict[str, str]:
    """What submitting the form ``form_id`` of the page at ``url`` unchanged would send."""
    response = client.get(url)
    assert response.status_code == 200, url
    return form_values(response.get_data(as_text=True), form_id)


def visible_text(page_html: str) -> str:
    """A page's text as a person reads it, e.g. of a POST's answer."""
    without_scripts = re.sub(r"<script\b.*?</script>", " ", page_html, flags=re.S)
    # Folding white space also folds French no-break spaces.
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", without_scripts)).split())


def unique_email(prefix: str = "web") -> str:
    """An address no account has yet."""
    return f"{prefix}.{uuid.uuid4().hex[:10]}@example.org"


def in_degrees(geometry: BaseGeometry) -> BaseGeometry:
    """A Lambert-93 geometry in WGS84 longitude, latitude."""
    return shapely.transform(geometry, TO_WGS84.transform, interleaved=False)
