"""GeoJSON collections in the style of OGC API – Features: bbox, limit/offset, links."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any, Final
from urllib.parse import urlencode

from flask import Blueprint, Response, request, url_for
from sqlalchemy import ColumnElement

from foncier.inventory import features
from foncier.inventory.features import BBox, InvalidParameterError, Layer
from foncier.web.database import db_session

api = Blueprint("api", __name__)

GEOJSON: Final = "application/geo+json"
DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 1000
# Far beyond any inventory, and (page - 1) * limit stays far within PostgreSQL's bigint.
MAX_OFFSET: Final = 1_000_000_000
MAX_PAGE: Final = MAX_OFFSET // MAX_LIMIT + 1
# Metres: about a pixel's ground size when all of France fits a small map (zooms 4 to 5).
MAX_SIMPLIFY_M: Final = 5000
PARAMETERS: Final = frozenset({"bbox", "limit", "offset", "page", "simplify"})
# Parameters that may be repeated, each value adding to the filter. Any other given twice is
# refused: request.args.get() would silently keep its first value.
REPEATABLE: Final = frozenset({"stade_comm"})
# Plain ASCII digits: int() would also take "1_0", " 1" or other scripts' digits.
INTEGER: Final = re.compile(r"-?[0-9]+")


@api.get("/epci")
def epci_collection() -> Response:
    return _collection(features.EPCIS)


@api.get("/sites")
def site_collection() -> Response:
    return _collection(features.SITES)


@api.get("/sites/<site_id>")
def site_item(site_id: str) -> Response:
    return _item(features.SITES, site_id, "api.site_collection")


@api.get("/terrains")
def terrain_collection() -> Response:
    conditions = features.terrain_conditions(
        site_id=request.args.get("site_id"), stades_comm=request.args.getlist("stade_comm")
    )
    return _collection(features.TERRAINS, conditions, filters=("site_id", "stade_comm"))


@api.get("/terrains/<terr_id>")
def terrain_item(terr_id: str) -> Response:
    return _item(features.TERRAINS, terr_id, "api.terrain_collection")


@api.get("/zones")
def zone_collection() -> Response:
    return _collection(features.ZONES)


def _collection(
    layer: Layer,
    conditions: Sequence[ColumnElement[bool]] = (),
    *,
    filters: Iterable[str] = (),
) -> Response:
    check_parameters(PARAMETERS | set(filters))
    bbox = BBox.parse(request.args["bbox"]) if "bbox" in request.args else None
    limit, offset = _paging()
    simplify_m = _integer("simplify", 0, MAX_SIMPLIFY_M) or 0
    page = features.feature_page(
        db_session(),
        layer,
        limit=limit,
        offset=offset,
        bbox=bbox,
        conditions=conditions,
        simplify_m=simplify_m,
    )
    return _geojson(
        {
            "type": "FeatureCollection",
            "numberMatched": page.number_matched,
            "numberReturned": len(page.features),
            "links": _paging_links(limit, offset, page.number_matched),
            "features": page.features,
        }
    )


def _item(layer: Layer, feature_id: str, collection_endpoint: str) -> Response:
    check_parameters(frozenset())
    feature = features.get_feature(db_session(), layer, feature_id)
    feature["links"] = [
        _link(request.base_url, "self", "Cet objet"),
        _link(url_for(collection_endpoint, _external=True), "collection", "La collection"),
    ]
    return _geojson(feature)


def check_parameters(known: frozenset[str]) -> None:
    """Refuse unknown and repeated parameters, before any query reads them."""
    # A misspelt filter would otherwise return everything, silently.
    unknown = sorted(set(request.args) - known)
    if unknown:
        expected = ", ".join(sorted(known)) or "none"
        raise InvalidParameterError(f"unknown parameter {unknown[0]!r} (expected: {expected})")
    repeated = sorted(
        name for name in set(request.args) - REPEATABLE if len(request.args.getlist(name)) > 1
    )
    if repeated:
        raise InvalidParameterError(f"{repeated[0]} must be given once, not repeated")


def _integer(name: str, minimum: int, maximum: int) -> int | None:
    text = request.args.get(name)
    if text is None:
        return None
    if not INTEGER.fullmatch(text):
        raise InvalidParameterError(f"{name} must be an integer, not {text!r}")
    try:
        value = int(text)
    except ValueError:  # more digits than int() converts: out of range anyway
        value = maximum + 1
    if not minimum <= value <= maximum:
        raise InvalidParameterError(f"{name} must be between {minimum} and {maximum}, not {text}")
    return value


def _paging() -> tuple[int, int]:
    """(limit, offset) from limit and either offset or page (1-based)."""
    limit = _integer("limit", 1, MAX_LIMIT) or DEFAULT_LIMIT
    offset = _integer("offset", 0, MAX_OFFSET)
    page = _integer("page", 1, MAX_PAGE)
    if offset is not None and page is not None:
        raise InvalidParameterError("give offset or page, not both")
    if page is not None:
        return limit, (page - 1) * limit
    return limit, offset or 0


def _paging_links(limit: int, offset: int, number_matched: int) -> list[dict[str, str]]:
    links = [_link(_page_url(limit, offset), "self", "Cette page")]
    if offset + limit < number_matched:
        links.append(_link(_page_url(limit, offset + limit), "next", "Page suivante"))
    if offset > 0:
        links.append(_link(_page_url(limit, max(0, offset - limit)), "prev", "Page précédente"))
    return links


def _page_url(limit: int, offset: int) -> str:
    """This request's URL at another offset, its filters (even repeated ones) kept."""
    kept = [
        (k, v) for k, v in request.args.items(multi=True) if k not in ("limit", "offset", "page")
    ]
    return f"{request.base_url}?{urlencode([*kept, ('limit', limit), ('offset', offset)])}"


def _link(href: str, rel: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": GEOJSON, "title": title}


def _geojson(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), mimetype=GEOJSON)
