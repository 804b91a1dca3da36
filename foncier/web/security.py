"""Response headers that keep pages to their own origin (and the basemap's tile server), and
out of every cache."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask, Response, request

# Placeholders of a tile URL template, e.g. {s} in https://{s}.tile.example.org/{z}/{x}/{y}.png
TEMPLATE_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def tile_source(basemap_url: str) -> str | None:
    """The CSP source that lets the map load the basemap's tiles; None if same-origin or none."""
    parts = urlsplit(basemap_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{TEMPLATE_PLACEHOLDER.sub('*', parts.netloc)}"


def content_security_policy(basemap_url: str) -> str:
    """Scripts, styles and data from this origin only: nothing from a CDN, no inline script."""
    images = " ".join(filter(None, ["'self'", "data:", tile_source(basemap_url)]))
    return "; ".join(
        [
            "default-src 'self'",
            f"img-src {images}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def init_app(app: Flask) -> None:
    headers = {
        "Content-Security-Policy": content_security_policy(app.config["BASEMAP_URL"]),
        "X-Content-Type-Options": "nosniff",
        # Tile servers such as OpenStreetMap's require the page's origin as referrer.
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        if request.endpoint != "static":
            # Pages, exports and API answers hold what only their reader may see (owners,
            # sale figures, companies): no browser or proxy cache keeps them. Static files keep
            # their own caching; a view that wants another policy sets its own header.
            response.headers.setdefault("Cache-Control", "no-store")
        return response
