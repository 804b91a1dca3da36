"""Editing plots (terrains): create and update, checked as the CNIG import checks them (an
outline within its park, a minimum lot no larger than the plot).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Final

from geoalchemy2.shape import to_shape
from shapely import Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from foncier.core import audit
from foncier.core.db import get_or_raise
from foncier.core.errors import ValidationError
from foncier.core.formulas import formula_problems
from foncier.core.permissions import Actor
from foncier.inventory.cnig.importer import SITE_TOLERANCE_M, Outline
from foncier.inventory.cnig.values import REFCAD
from foncier.inventory.editing import (
    TERRAIN_FIELDS,
    Saved,
    added,
    apply_values,
    at_least,
    check_version,
    code_list_problems,
    current_values,
    for_database,
    geometry_changed,
    invalid_geometry,
    known_values,
    next_id,
    required_problems,
    saving_record,
    terrain_for_edit,
    url_problems,
)
from foncier.inventory.plot_status import sale_rules
from foncier.models import Site, Terrain

TERRAIN_REQUIRED: Final = (
    "terr_surf_brute",
    "terr_maitrise_fonc",
    "terr_stade_amngt",
    "terr_stade_comm",
    "terr_etat_occup",
    "terr_usage",
    "terr_geomsurf",
)


def create_terrain(
    session: Session,
    actor: Actor,
    site_id: str,
    values: Mapping[str, Any],
    *,
    today: date | None = None,
) -> Saved[Terrain]:
    """Create a plot of the park ``site_id`` from ``values`` (columns of TERRAIN_FIELDS)."""
    site = get_or_raise(session, Site, site_id)
    actor.require_edit(site.site_epci_siren, "les terrains de ce parc")
    audit.acting_as(session, actor)
    values = _with_defaults(known_values(values, TERRAIN_FIELDS))
    today = today or date.today()
    sale, sale_problems = sale_rules(None, values, today)
    _validate_terrain(values | sale, site, extra_errors=sale_problems)
    terrain = Terrain(
        terr_id=next_terrain_id(session, site),
        site_id=site.site_id,
        terr_identif_date=today,
        terr_actu_date=today,
        **for_database(values | sale),
    )
    return added(session, terrain, "Création du terrain")


def update_terrain(
    session: Session,
    actor: Actor,
    terr_id: str,
    values: Mapping[str, Any],
    *,
    expected_version: int,
    today: date | None = None,
) -> Saved[Terrain]:
    """Apply ``values`` to the plot, if nobody saved it since ``expected_version``."""
    terrain = terrain_for_edit(session, actor, terr_id)
    values = _with_defaults(known_values(values, TERRAIN_FIELDS))
    audit.acting_as(session, actor)
    check_version(terrain, expected_version)
    today = today or date.today()
    merged = current_values(terrain, TERRAIN_FIELDS) | values
    sale, sale_problems = sale_rules(terrain, merged, today)
    recheck = geometry_changed(terrain, values)
    _validate_terrain(
        merged | sale, terrain.site, check_outline=recheck, extra_errors=sale_problems
    )
    with saving_record(session, terrain, "Modification du terrain"):
        apply_values(terrain, values | sale, today=today)
    return Saved.of(terrain)


def _with_defaults(values: dict[str, Any]) -> dict[str, Any]:
    # terr_divisible cannot be null: an unticked box or a missing value means "no".
    if "terr_divisible" in values and values["terr_divisible"] is None:
        values["terr_divisible"] = False
    return values


def _validate_terrain(
    values: Mapping[str, Any],
    site: Site,
    *,
    check_outline: bool = True,
    extra_errors: Mapping[str, str] | None = None,
) -> None:
    errors = (
        formula_problems(values)
        | required_problems(values, TERRAIN_REQUIRED)
        | code_list_problems(values)
        | url_problems(values)
    )
    errors |= at_least(values, ("terr_surf_brute", "terr_hauteur_max_m"), minimum=0, strict=True)
    errors |= at_least(values, ("terr_m2_prix", "terr_puissance_kva"), minimum=0)
    errors |= at_least(values, ("terr_vente_montant",), minimum=0)
    errors |= _lot_min_problems(values)
    refcad = values.get("terr_refcad")
    if refcad and not REFCAD.match(refcad):
        errors["terr_refcad"] = (
            "Références cadastrales de 14 caractères attendues, séparées par « | », par "
            "exemple 37167000AB0012|37167000AB0013."
        )
    outline = values.get("terr_geomsurf")
    checked = check_outline and outline is not None and "terr_geomsurf" not in errors
    if checked and (message := _outline_problem(outline, site)):
        errors["terr_geomsurf"] = message
    errors |= extra_errors or {}
    if errors:
        raise ValidationError(errors)


def _lot_min_problems(values: Mapping[str, Any]) -> dict[str, str]:
    lot_min, surface = values.get("terr_lot_min_ha"), values.get("terr_surf_brute")
    if lot_min is None:
        return {}
    if not values.get("terr_divisible"):
        return {"terr_lot_min_ha": "Un lot minimal ne se donne que pour un terrain divisible."}
    if lot_min <= 0:
        return {"terr_lot_min_ha": "Le lot minimal doit être strictement positif."}
    if surface is not None and lot_min > surface:
        return {"terr_lot_min_ha": "Le lot minimal ne peut pas dépasser la surface du terrain."}
    return {}


def _outline_problem(outline: BaseGeometry, site: Site) -> str | None:
    if message := invalid_geometry(outline, (Polygon,), "un seul polygone"):
        return message
    if not Outline(to_shape(site.site_geomsurf), SITE_TOLERANCE_M).covers(outline):
        return (
            f"Le contour sort du périmètre du parc {site.site_nom}, même à "
            f"{SITE_TOLERANCE_M:g} m près."
        )
    return None


def next_terrain_id(session: Session, site: Site) -> str:
    """The next free TERRAIN-ECO id under the INSEE code the park's id starts with.

    The standard numbers objects by the commune where the park was first located, which is
    the prefix of its id even if its commune changed since.
    """
    insee = site.site_id.split("_", 1)[0]
    return next_id(session, Terrain.terr_id, f"{insee}_TERRAIN-ECO_")
