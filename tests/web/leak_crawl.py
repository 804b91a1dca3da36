"""Walk every page a signed-in person can reach and look for words they must never read.

Used by the confidentiality tests: a company's name, SIREN, contacts and messages must appear
nowhere for members outside the project's EPCIs — pages, API answers, CSV, Excel and PDF
downloads alike. The walk starts from every GET route of the application (its path
parameters filled from the test's records) and follows every same-site link it finds, so an
export reached by a link with a query string is read too.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import urldefrag, urljoin, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter, Rule

LINK = re.compile(r"""(?:href|action)\s*=\s*["']([^"']+)["']""")
# Links that change something or end the session even when followed with GET.
NOT_FOLLOWED = ("/deconnexion", "/static/")
# Enough pages of one kind (a plot's page, a page of the history) to read each variant.
PER_ENDPOINT = 12


@dataclass
class Walk:
    visited: dict[str, int] = field(default_factory=dict)  # URL -> status
    endpoints: dict[str, int] = field(default_factory=dict)  # endpoint -> pages read
    leaks: list[tuple[str, str]] = field(default_factory=list)  # (URL, secret)


def readable_text(content: bytes, content_type: str) -> str:
    """What a person could read in a response: an Excel file's cells are in zipped XML."""
    if content.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(content)) as workbook:
            return "\n".join(
                workbook.read(name).decode("utf-8", "replace")
                for name in workbook.namelist()
                if name.endswith(".xml")
            )
    text = content.decode("utf-8", "replace")
    return unescape(text) if "html" in content_type or "xml" in content_type else text


def route_urls(app: Flask, values: Mapping[str, object]) -> tuple[list[str], list[Rule]]:
    """One URL per GET route, its parameters taken from ``values``; the rules left unfilled."""
    urls, unfilled = [], []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint == "static":
            continue
        if not all(name in values for name in rule.arguments):
            unfilled.append(rule)
            continue
        urls.append(rule.build({name: values[name] for name in rule.arguments})[1])
    return urls, unfilled


def _links(page: str, base: str) -> Iterable[str]:
    for match in LINK.finditer(page):
        url = urldefrag(urljoin(base, unescape(match.group(1))))[0]
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or parts.scheme not in ("", "http"):
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if not path.startswith(NOT_FOLLOWED):
            yield path


def _endpoint(adapter: MapAdapter, url: str) -> str | None:
    try:
        return str(adapter.match(urlsplit(url).path, method="GET")[0])
    except HTTPException:  # a link to a page that does not exist, or POST only
        return None


def walk(
    app: Flask,
    client: FlaskClient,
    start: Iterable[str],
    secrets: Iterable[str],
    max_pages: int = 400,
) -> Walk:
    """Visit ``start`` and every same-site link found on the way (breadth first)."""
    result = Walk()
    queue = deque(start)
    wanted = [secret.lower() for secret in secrets]
    adapter = app.url_map.bind("localhost")
    while queue and len(result.visited) < max_pages:
        url = queue.popleft()
        endpoint = _endpoint(adapter, url)
        if url in result.visited or endpoint is None:
            continue
        if result.endpoints.get(endpoint, 0) >= PER_ENDPOINT:
            continue
        result.endpoints[endpoint] = result.endpoints.get(endpoint, 0) + 1
        response = client.get(url)
        result.visited[url] = response.status_code
        text = readable_text(response.get_data(), response.content_type or "")
        lowered = text.lower()
        result.leaks += [(url, secret) for secret in wanted if secret in lowered]
        if "html" in (response.content_type or ""):
            queue.extend(link for link in _links(text, url) if link not in result.visited)
    return result
