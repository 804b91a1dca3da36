"""Views of the inventory pages; queries live in foncier.inventory.queries."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for

from foncier.inventory.editing import surface_check_of
from foncier.inventory.plot_status import status_changes_for
from foncier.inventory.queries import (
    available_from,
    get_site_detail,
    get_terrain_detail,
    has_demo_data,
    search_sites,
)
from foncier.models.codelists import STADE_COMM_COLOURS, ZONE_TYPE_LABELS
from foncier.prospects.cases import settled_project
from foncier.territory.epcis import list_epcis
from foncier.web.api.views import MAX_LIMIT, MAX_SIMPLIFY_M
from foncier.web.auth import current_actor
from foncier.web.database import db_session
from foncier.web.inventory.fields import SITE_GROUPS, TERRAIN_GROUPS, ZONE_NOTICES
from foncier.web.inventory.forms import SiteSearchForm

inventory = Blueprint("inventory", __name__)
inventory.add_app_template_global(available_from)

PARKS_PER_PAGE = 20
# Below this zoom the overview map shows parks only: plots would be specks, and the parks
# must stay clickable.
PLOTS_MIN_ZOOM = 12
# Placeholder of the page URL templates handed to the map script.
ID_PLACEHOLDER = "__ID__"


@inventory.app_template_global()
def demo_data_present() -> bool:
    return has_demo_data(db_session())


def stade_legend() -> list[tuple[str, list[str]]]:
    """(colour, marketing stages) pairs: stages sharing a colour share a legend entry."""
    legend: dict[str, list[str]] = {}
    for stade, colour in STADE_COMM_COLOURS.items():
        legend.setdefault(colour, []).append(stade)
    return list(legend.items())


def basemap_config() -> dict[str, str]:
    """The tiles under every map (common.js's addBasemap): none when BASEMAP_URL is empty."""
    return {
        "url": current_app.config["BASEMAP_URL"],
        "attribution": current_app.config["BASEMAP_ATTRIBUTION"],
    }


def map_config(layers: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    """What the map script needs: where to fetch each layer, how to draw and link it."""
    return {
        "basemap": basemap_config(),
        "colours": STADE_COMM_COLOURS,
        "zoneTypes": ZONE_TYPE_LABELS,
        "pages": {
            "site": url_for("inventory.site", site_id=ID_PLACEHOLDER),
            "terrain": url_for("inventory.terrain", terr_id=ID_PLACEHOLDER),
        },
        "layers": layers,
        **options,
    }


def _layer(kind: str, url: str, **options: Any) -> dict[str, Any]:
    """A layer of the map script: a kind of feature (epci, site, terrain, zone), fetched from
    ``url`` once, or for the visible area at every move with ``byBbox`` (from ``minZoom``,
    simplified to the zoom's pixel size up to ``simplifyMax`` metres)."""
    return {"kind": kind, "url": url, **options}


def _zone_layer() -> dict[str, Any]:
    # Real PPRI or Natura 2000 files weigh megabytes at full resolution: the map fetches the
    # zones it shows, no finer than its pixels.
    return _layer(
        "zone",
        url_for("api.zone_collection", limit=MAX_LIMIT),
        byBbox=True,
        simplifyMax=MAX_SIMPLIFY_M,
    )


def _park_layers(site_id: str) -> list[dict[str, Any]]:
    """A park, its plots and the constraint zones around: the maps of the detail pages."""
    return [
        _layer("site", url_for("api.site_item", site_id=site_id)),
        _layer("terrain", url_for("api.terrain_collection", site_id=site_id, limit=MAX_LIMIT)),
        _zone_layer(),
    ]


@inventory.get("/")
def map_page() -> str:
    config = map_config(
        [
            _layer("epci", url_for("api.epci_collection", limit=MAX_LIMIT)),
            _zone_layer(),
            _layer("site", url_for("api.site_collection", limit=MAX_LIMIT)),
            _layer(
                "terrain",
                url_for("api.terrain_collection", limit=MAX_LIMIT),
                byBbox=True,
                minZoom=PLOTS_MIN_ZOOM,
            ),
        ],
        fit=["epci", "site"],
    )
    return render_template(
        "inventory/map.html",
        map_config=config,
        legend=stade_legend(),
        plots_min_zoom=PLOTS_MIN_ZOOM,
    )


@inventory.get("/sites")
def sites() -> tuple[str, int]:
    session = db_session()
    form = SiteSearchForm(formdata=request.args)
    form.set_epcis(list_epcis(session))
    valid = form.validate()
    page = search_sites(session, form.criteria(), page=form.page_number(), per_page=PARKS_PER_PAGE)
    return render_template(
        "inventory/sites.html",
        form=form,
        page=page,
        filters=form.filters(),
    ), (200 if valid else 400)


@inventory.app_template_global()
def page_numbers(current: int, last: int, around: int = 2) -> list[int | None]:
    """Page links to show: the first, the last and those around the current one (None: a gap)."""
    shown = sorted({1, last, *range(max(1, current - around), min(last, current + around) + 1)})
    numbers: list[int | None] = []
    for number in shown:
        if numbers and number - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


@inventory.get("/sites/<site_id>")
def site(site_id: str) -> str:
    detail = get_site_detail(db_session(), site_id)
    config = map_config(_park_layers(site_id), fit=["site"])
    return render_template(
        "inventory/site.html",
        detail=detail,
        groups=SITE_GROUPS,
        colours=STADE_COMM_COLOURS,
        today=date.today(),
        map_config=config,
    )


@inventory.get("/terrains/<terr_id>")
def terrain(terr_id: str) -> str:
    detail = get_terrain_detail(db_session(), terr_id, current_actor())
    config = map_config(_park_layers(detail.terrain.site_id), fit=["highlight"], highlight=terr_id)
    return render_template(
        "inventory/terrain.html",
        detail=detail,
        groups=TERRAIN_GROUPS,
        colours=STADE_COMM_COLOURS,
        zone_notices=ZONE_NOTICES,
        today=date.today(),
        map_config=config,
        surface=surface_check_of(detail.terrain),
        status_changes=status_changes_for(detail.terrain),
        # The project that settled here, for those in the know of it only.
        settled_project=settled_project(db_session(), current_actor(), terr_id),
    )
