"""Editing parks (sites économiques): create and update, checked as the CNIG import checks
them (the commune in the actor's EPCI, a valid perimeter that keeps its plots).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any, Final

from geoalchemy2.shape import to_shape
from shapely import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from foncier.core import audit
from foncier.core.errors import ValidationError
from foncier.core.formulas import formula_problems
from foncier.core.permissions import Actor
from foncier.inventory.cnig.importer import EPCI_TOLERANCE_M, SITE_TOLERANCE_M, Outline
from foncier.inventory.cnig.values import INSEE_PREFIX
from foncier.inventory.editing import (
    SITE_FIELDS,
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
    site_for_edit,
    url_problems,
)
from foncier.models import Commune, Epci, Site, Terrain

SITE_REQUIRED: Final = (
    "site_nom",
    "site_type",
    "site_vocadomi",
    "site_etat",
    "site_surf_brute",
    "site_surf_utile",
    "site_comm_insee",
    "site_moa_type",
    "site_geomsurf",
)
POLE_ID: Final = re.compile(rf"^{INSEE_PREFIX}_POLE-ECO_\d+$", re.ASCII)


def create_site(
    session: Session, actor: Actor, values: Mapping[str, Any], *, today: date | None = None
) -> Saved[Site]:
    """Create a park from ``values`` (columns of SITE_FIELDS); its EPCI is its commune's."""
    values = known_values(values, SITE_FIELDS)
    epci_siren = _site_epci(session, values)
    actor.require_edit(epci_siren, "un parc de cet EPCI")
    audit.acting_as(session, actor)
    _validate_site(session, values, epci_siren, current=None)
    today = today or date.today()
    site = Site(
        site_id=next_site_id(session, values["site_comm_insee"]),
        site_identif_date=today,
        site_actu_date=today,
        **for_database({**values, "site_epci_siren": epci_siren}),
    )
    return added(session, site, "Création du parc")


def update_site(
    session: Session,
    actor: Actor,
    site_id: str,
    values: Mapping[str, Any],
    *,
    expected_version: int,
    today: date | None = None,
) -> Saved[Site]:
    """Apply ``values`` to the park, if nobody saved it since ``expected_version``."""
    site = site_for_edit(session, actor, site_id)
    values = known_values(values, SITE_FIELDS)
    merged = current_values(site, SITE_FIELDS) | values
    if "site_epci_siren" not in values:
        del merged["site_epci_siren"]  # the EPCI follows a new commune unless one is given
    epci_siren = _site_epci(session, merged)
    actor.require_edit(epci_siren, "un parc de cet EPCI")
    audit.acting_as(session, actor)
    check_version(site, expected_version)
    # An unchanged perimeter in an unchanged EPCI was checked when it was saved.
    recheck = epci_siren != site.site_epci_siren or geometry_changed(site, values)
    _validate_site(session, merged, epci_siren, current=site, check_perimeter=recheck)
    with saving_record(session, site, "Modification du parc"):
        apply_values(site, {**values, "site_epci_siren": epci_siren}, today=today)
    return Saved.of(site)


def _site_epci(session: Session, values: Mapping[str, Any]) -> str | None:
    """The EPCI of the park's commune; a different SIREN given with it is refused."""
    insee = values.get("site_comm_insee")
    commune = session.get(Commune, insee) if insee else None
    if commune is None or commune.epci_siren is None:
        message = "Choisissez la commune du parc." if not insee else "Commune inconnue."
        raise ValidationError({"site_comm_insee": message})
    given = values.get("site_epci_siren")
    if given and given != commune.epci_siren:
        raise ValidationError(
            {
                "site_comm_insee": f"{commune.nom} n’est pas dans l’EPCI {given} : le parc relève "
                "de l’EPCI de sa commune."
            }
        )
    return commune.epci_siren


def _validate_site(
    session: Session,
    values: Mapping[str, Any],
    epci_siren: str | None,
    *,
    current: Site | None,
    check_perimeter: bool = True,
) -> None:
    errors = (
        formula_problems(values)
        | required_problems(values, SITE_REQUIRED)
        | code_list_problems(values)
        | url_problems(values)
    )
    errors |= at_least(values, ("site_surf_brute", "site_surf_utile"), minimum=0)
    errors |= at_least(values, ("site_surf_comm_dispo", "site_surf_projet"), minimum=0)
    errors |= at_least(values, ("site_nb_etab", "site_nb_emploi"), minimum=0)
    distances = [name for name in SITE_FIELDS if name.endswith("_dist")]
    errors |= at_least(values, distances, minimum=0)
    pole_id = values.get("pole_id")
    if pole_id and not POLE_ID.match(pole_id):
        errors["pole_id"] = "Identifiant de pôle attendu sous la forme 37167_POLE-ECO_00001."
    year = values.get("site_creation_date")
    if year is not None and not 1800 <= year <= date.today().year + 10:
        errors["site_creation_date"] = "Année à quatre chiffres attendue, par exemple 2008."
    perimeter = values.get("site_geomsurf")
    checked = check_perimeter and perimeter is not None and "site_geomsurf" not in errors
    if checked and (message := _perimeter_problem(session, perimeter, epci_siren, current)):
        errors["site_geomsurf"] = message
    if errors:
        raise ValidationError(errors)


def _perimeter_problem(
    session: Session, perimeter: BaseGeometry, epci_siren: str | None, current: Site | None
) -> str | None:
    if message := invalid_geometry(perimeter, (Polygon, MultiPolygon), "un ou plusieurs polygones"):
        return message
    epci = session.get(Epci, epci_siren) if epci_siren else None
    if epci is not None and not Outline(to_shape(epci.geom), EPCI_TOLERANCE_M).covers(perimeter):
        return (
            f"Le périmètre sort de l’EPCI du parc ({epci.nom}), même à "
            f"{EPCI_TOLERANCE_M:g} m près : vérifiez la commune ou le dessin."
        )
    if current is not None:
        left_out = _plots_left_out(session, current.site_id, perimeter)
        if left_out:
            return (
                "Le nouveau périmètre laisse hors du parc des terrains enregistrés : "
                f"{', '.join(left_out)}."
            )
    return None


def _plots_left_out(session: Session, site_id: str, perimeter: BaseGeometry) -> list[str]:
    outline = Outline(perimeter, SITE_TOLERANCE_M)
    plots = session.execute(
        select(Terrain.terr_id, Terrain.terr_geomsurf)
        .where(Terrain.site_id == site_id)
        .order_by(Terrain.terr_id)
    )
    return [terr_id for terr_id, shape in plots if not outline.covers(to_shape(shape))]


def next_site_id(session: Session, insee: str) -> str:
    """The next free SITE-ECO id of a commune: 37167_SITE-ECO_00007 after _00006."""
    return next_id(session, Site.site_id, f"{insee}_SITE-ECO_")
