"""Editing the inventory as a person does it: parks, plots, their marketing stage, their owners.

Every operation here checks, in this order, that the actor may write the EPCI concerned
(PermissionDeniedError), that the edit starts from the version stored now (StaleVersionError:
no lost update when two referents edit the same record), and that the values hold together
(ValidationError, one French message per field). Then it changes the records through the ORM,
so that foncier.core.audit records the change as the actor's, and flushes without committing.

Geometries arrive as shapely shapes in Lambert-93 (foncier.inventory.geometry_input parses what
people type or draw); the checks are those of the CNIG import (foncier.inventory.cnig.importer): a
plot lies in its park's perimeter and a park in its EPCI, within the same tolerances.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, Generic, TypeVar

from geoalchemy2.shape import from_shape, to_shape
from shapely import MultiPolygon, Polygon, wkt
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from foncier.core import audit
from foncier.core.db import saving
from foncier.core.errors import NotFoundError, StaleVersionError, ValidationError
from foncier.core.permissions import Actor
from foncier.inventory import history
from foncier.inventory.cnig.geometry import as_multipolygon, check_valid
from foncier.inventory.cnig.importer import EPCI_TOLERANCE_M, SITE_TOLERANCE_M, Outline
from foncier.inventory.cnig.issues import IssueError
from foncier.inventory.cnig.values import INSEE_PREFIX, REFCAD, URL
from foncier.models import SRID, Commune, Epci, Owner, Site, Terrain, codelists

Record = TypeVar("Record", Site, Terrain)
# The records that carry a version (optimistic locking).
Versioned = Site | Terrain | Owner

# Columns nobody types: keys, dates the platform sets, bookkeeping. Everything else of a
# park or a plot is editable.
NOT_EDITABLE: Final = frozenset(
    {
        "site_id",
        "terr_id",
        "site_identif_date",
        "site_actu_date",
        "terr_identif_date",
        "terr_actu_date",
        "is_demo",
        "version",
        "created_at",
        "updated_at",
    }
)
SITE_FIELDS: Final = tuple(c.key for c in Site.__mapper__.column_attrs if c.key not in NOT_EDITABLE)
# A plot stays in the park it was created in: moving it is a new plot.
TERRAIN_FIELDS: Final = tuple(
    c.key for c in Terrain.__mapper__.column_attrs if c.key not in NOT_EDITABLE | {"site_id"}
)
OWNER_FIELDS: Final = ("nom", "nature", "siren", "adresse")
OWNER_NATURES: Final = ("personne physique", "personne morale")

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
TERRAIN_REQUIRED: Final = (
    "terr_surf_brute",
    "terr_maitrise_fonc",
    "terr_stade_amngt",
    "terr_stade_comm",
    "terr_etat_occup",
    "terr_usage",
    "terr_geomsurf",
)
REQUIRED_MESSAGE: Final = "Ce champ est obligatoire."
# Checked as the CNIG import checks them, so that what the editor saves, its export re-imports.
URL_FIELDS: Final = ("site_url", "site_media", "terr_url_cartofriches")
URL_MESSAGE: Final = (
    "Adresse web attendue, commençant par https:// ou http:// et sans espace, par exemple "
    "https://www.exemple.fr/page."
)

SOLD: Final = "vendu, commercialisation achevée"
SALE_FIELDS: Final = ("terr_acquereur", "terr_cession_date", "terr_vente_montant")

# Above this gap between the surface people declare and the area of the outline they drew,
# one of the two is probably wrong: the page says so, the save goes through.
AREA_WARNING_RATIO: Final = Decimal("0.10")
SQUARE_METRES_PER_HECTARE: Final = Decimal(10_000)
HECTARES: Final = Decimal("0.0001")

SAME_SHAPE_TOLERANCE_M: Final = 0.05

# CNIG identifiers: [INSEE]_[class]_[number], the number on 5 digits like the standard's
# examples (44003_TERRAIN-ECO_00223), which is also what the id columns hold.
ID_DIGITS: Final = 5
POLE_ID: Final = re.compile(rf"^{INSEE_PREFIX}_POLE-ECO_\d+$", re.ASCII)
SIREN: Final = re.compile(r"^\d{9}$", re.ASCII)


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurfaceCheck:
    """The declared surface beside the area of the drawn outline."""

    declared_ha: Decimal | None
    computed_ha: Decimal

    @property
    def differs(self) -> bool:
        if not self.declared_ha:
            return False
        return abs(self.computed_ha - self.declared_ha) > AREA_WARNING_RATIO * self.declared_ha

    @property
    def warning(self) -> str | None:
        if not self.differs:
            return None
        return (
            f"La surface déclarée ({_hectares(self.declared_ha)} ha) diffère de plus de 10 % "
            f"de celle du contour dessiné ({_hectares(self.computed_ha)} ha) : vérifiez l’une "
            "ou l’autre."
        )


@dataclass(frozen=True)
class Saved(Generic[Record]):
    """A saved park or plot, and how its declared surface compares with its outline."""

    record: Record
    surface: SurfaceCheck

    @classmethod
    def of(cls, record: Record) -> Saved[Record]:
        return cls(record, surface_check_of(record))


def added(session: Session, record: Record, reason: str) -> Saved[Record]:
    """Add a new park or plot, its creation recorded in the history under ``reason``."""
    with audit.reason(session, reason):
        session.add(record)
    return Saved.of(record)


def _hectares(value: Decimal | None) -> str:
    return "" if value is None else format(value.quantize(Decimal("0.01")), "f").replace(".", ",")


def surface_check(declared_ha: Decimal | None, geometry: BaseGeometry) -> SurfaceCheck:
    """Compare a declared surface (ha) with the area of a Lambert-93 outline (m²)."""
    computed = (Decimal(repr(geometry.area)) / SQUARE_METRES_PER_HECTARE).quantize(HECTARES)
    return SurfaceCheck(declared_ha, computed)


def surface_check_of(record: Site | Terrain) -> SurfaceCheck:
    if isinstance(record, Site):
        return surface_check(record.site_surf_brute, to_shape(record.site_geomsurf))
    return surface_check(record.terr_surf_brute, to_shape(record.terr_geomsurf))


# --- loading what an actor may edit ----------------------------------------------------------


def site_for_edit(session: Session, actor: Actor, site_id: str) -> Site:
    """The park ``site_id``, if the actor may edit it (NotFoundError, PermissionDeniedError)."""
    site = session.get(Site, site_id)
    if site is None:
        raise NotFoundError(f"no site {site_id!r}")
    actor.require_edit(site.site_epci_siren, "ce parc")
    return site


def terrain_for_edit(session: Session, actor: Actor, terr_id: str) -> Terrain:
    """The plot ``terr_id``, if the actor may edit it (NotFoundError, PermissionDeniedError)."""
    terrain = session.get(Terrain, terr_id)
    if terrain is None:
        raise NotFoundError(f"no plot {terr_id!r}")
    actor.require_edit(terrain.site.site_epci_siren, "ce terrain")
    return terrain


def owner_for_edit(session: Session, actor: Actor, owner_id: int) -> Owner:
    owner = session.get(Owner, owner_id)
    if owner is None:
        raise NotFoundError(f"no owner {owner_id!r}")
    actor.require_edit(owner.terrain.site.site_epci_siren, "les propriétaires de ce terrain")
    return owner


def editable_communes(session: Session, actor: Actor) -> list[Commune]:
    """The communes where the actor may create a park: those of the EPCIs they may edit."""
    query = select(Commune).where(Commune.epci_siren.is_not(None)).order_by(Commune.nom)
    if not actor.network_wide:
        query = query.where(Commune.epci_siren == (actor.epci_siren or ""))
    return list(session.scalars(query))


# --- parks ---------------------------------------------------------------------------------


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
    errors = required_problems(values, SITE_REQUIRED) | code_list_problems(values) | url_problems(values)
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


# --- plots ---------------------------------------------------------------------------------


def create_terrain(
    session: Session,
    actor: Actor,
    site_id: str,
    values: Mapping[str, Any],
    *,
    today: date | None = None,
) -> Saved[Terrain]:
    """Create a plot of the park ``site_id`` from ``values`` (columns of TERRAIN_FIELDS)."""
    site = session.get(Site, site_id)
    if site is None:
        raise NotFoundError(f"no site {site_id!r}")
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
    errors = required_problems(values, TERRAIN_REQUIRED) | code_list_problems(values) | url_problems(values)
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


# --- marketing stage: what a referent does every week ---------------------------------------


class StatusAction(StrEnum):
    PUT_ON_SALE = "mise-en-vente"
    RESERVE = "reservation"
    SELL = "vente"
    WITHDRAW = "retrait"


@dataclass(frozen=True)
class StatusChange:
    """One click of a referent: the stage it sets, how the page and the history name it."""

    action: StatusAction
    button: str
    stade: str
    # Recorded as the reason of the change in the audit trail; a noun phrase whose gender
    # the confirmation agrees with (« Mise en vente enregistrée », « Retrait … enregistré »).
    reason: str
    feminine: bool
    question: str
    needs_sale: bool = False

    @property
    def confirmation(self) -> str:
        """« Mise en vente enregistrée »: what the page says once the change is saved."""
        return f"{self.reason} {'enregistrée' if self.feminine else 'enregistré'}"


STATUS_CHANGES: Final = {
    change.action: change
    for change in (
        StatusChange(
            StatusAction.PUT_ON_SALE,
            "Mettre en vente",
            "en vente",
            "Mise en vente",
            True,
            "Mettre ce terrain en vente ? Il sera proposé aux entreprises de tout le réseau.",
        ),
        StatusChange(
            StatusAction.RESERVE,
            "Réserver (option)",
            "réservé par option de réservation",
            "Réservation (option)",
            True,
            "Marquer ce terrain comme réservé par une option ou un compromis de vente ?",
        ),
        StatusChange(
            StatusAction.SELL,
            "Marquer vendu",
            SOLD,
            "Vente",
            True,
            "Enregistrer la vente de ce terrain ? Indiquez l’acquéreur, la date et le montant.",
            needs_sale=True,
        ),
        StatusChange(
            StatusAction.WITHDRAW,
            "Retirer de la commercialisation",
            "non commercialisé",
            "Retrait de la commercialisation",
            False,
            "Retirer ce terrain de la commercialisation ? Il ne sera plus proposé aux entreprises.",
        ),
    )
}


@dataclass(frozen=True)
class Sale:
    """What the law's inventory and the CNIG standard keep of a sale (confidential)."""

    acquereur: str | None
    cession_date: date | None
    vente_montant: Decimal | None


def status_changes_for(terrain: Terrain) -> list[StatusChange]:
    """The quick changes that make sense from the plot's present stage."""
    return [c for c in STATUS_CHANGES.values() if c.stade != terrain.terr_stade_comm]


def clears_sale(terrain: Terrain, change: StatusChange) -> bool:
    """Whether ``change`` takes a sold plot back, which erases its sale (see sale_rules)."""
    return terrain.terr_stade_comm == SOLD and change.stade != SOLD


def change_terrain_status(
    session: Session,
    actor: Actor,
    terr_id: str,
    action: StatusAction,
    *,
    expected_version: int,
    sale: Sale | None = None,
    today: date | None = None,
) -> Terrain:
    """Set the plot's marketing stage (and the sale, for SELL), recorded with its reason."""
    terrain = terrain_for_edit(session, actor, terr_id)
    change = STATUS_CHANGES[action]
    audit.acting_as(session, actor)
    check_version(terrain, expected_version)
    today = today or date.today()
    values: dict[str, Any] = {"terr_stade_comm": change.stade}
    if change.needs_sale:
        sale = sale or Sale(None, None, None)
        typed = {
            "terr_acquereur": sale.acquereur,
            "terr_cession_date": sale.cession_date,
            "terr_vente_montant": sale.vente_montant,
        }
        values |= known_values(typed, SALE_FIELDS)
    merged = current_values(terrain, (*SALE_FIELDS, "terr_stade_comm")) | values
    implied, problems = sale_rules(terrain, merged, today)
    if problems:
        raise ValidationError(problems)
    with saving_record(session, terrain, change.reason):
        apply_values(terrain, values | implied, today=today)
    return terrain


def sale_rules(
    current: Terrain | None, values: Mapping[str, Any], today: date
) -> tuple[dict[str, Any], dict[str, str]]:
    """What the marketing stage in ``values`` (the plot's values after the edit) implies for
    its sale, the same for the edit form and the quick actions. Returns the sale fields to
    write and the problems, by field.

    A plot becomes sold only with its buyer, a date not in the future and an amount. A sold
    plot that goes back to another stage loses them: they describe a sale that no longer
    holds (the audit trail keeps them). A sold plot edited for something else keeps its sale
    as it is, even incomplete: a CNIG file may have recorded the sale without it.
    """
    was_sold = current is not None and current.terr_stade_comm == SOLD
    if values.get("terr_stade_comm") != SOLD:
        return (dict.fromkeys(SALE_FIELDS) if was_sold else {}), {}
    sale = {name: values.get(name) for name in SALE_FIELDS}
    if was_sold and all(sale[name] == getattr(current, name) for name in SALE_FIELDS):
        return {}, {}
    return sale, _sale_problems(sale, today)


def _sale_problems(sale: Mapping[str, Any], today: date) -> dict[str, str]:
    errors = {}
    if not sale["terr_acquereur"]:
        errors["terr_acquereur"] = "Indiquez l’acquéreur."
    cession_date, amount = sale["terr_cession_date"], sale["terr_vente_montant"]
    if cession_date is None:
        errors["terr_cession_date"] = "Indiquez la date de la vente."
    elif cession_date > today:
        errors["terr_cession_date"] = "La date de la vente ne peut pas être dans le futur."
    if amount is None:
        errors["terr_vente_montant"] = "Indiquez le montant de la vente."
    elif amount <= 0:
        errors["terr_vente_montant"] = "Le montant doit être strictement positif."
    return errors


# --- owners (personal data: only those who may edit the plot see and change them) ---------


def add_owner(session: Session, actor: Actor, terr_id: str, values: Mapping[str, Any]) -> Owner:
    terrain = terrain_for_edit(session, actor, terr_id)
    values = _owner_values(values)
    audit.acting_as(session, actor)
    owner = Owner(terr_id=terrain.terr_id, **values)
    with audit.reason(session, "Ajout d’un propriétaire"):
        terrain.owners.append(owner)
    return owner


def update_owner(
    session: Session,
    actor: Actor,
    owner_id: int,
    values: Mapping[str, Any],
    *,
    expected_version: int,
) -> Owner:
    """Apply ``values`` to the owner, if nobody saved it since ``expected_version``."""
    owner = owner_for_edit(session, actor, owner_id)
    audit.acting_as(session, actor)
    check_version(owner, expected_version)
    cleaned = _owner_values(values)
    with saving_record(session, owner, "Modification d’un propriétaire"):
        for name, value in cleaned.items():
            if getattr(owner, name) != value:
                setattr(owner, name, value)
    return owner


def remove_owner(session: Session, actor: Actor, owner_id: int) -> None:
    owner = owner_for_edit(session, actor, owner_id)
    audit.acting_as(session, actor)
    with audit.reason(session, "Retrait d’un propriétaire"):
        session.delete(owner)


def _owner_values(values: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = {name: blank_to_none(values.get(name)) for name in OWNER_FIELDS}
    errors = required_problems(cleaned, ("nom", "nature"))
    if cleaned["nature"] and cleaned["nature"] not in OWNER_NATURES:
        errors["nature"] = "Choisissez personne physique ou personne morale."
    if cleaned["siren"] and not SIREN.match(cleaned["siren"]):
        errors["siren"] = "Le SIREN compte 9 chiffres."
    if cleaned["siren"] and cleaned["nature"] == "personne physique":
        errors["siren"] = "Une personne physique n’a pas de SIREN."
    if errors:
        raise ValidationError(errors)
    return cleaned


def blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


# --- identifiers ---------------------------------------------------------------------------


def next_site_id(session: Session, insee: str) -> str:
    """The next free SITE-ECO id of a commune: 37167_SITE-ECO_00007 after _00006."""
    return next_id(session, Site.site_id, f"{insee}_SITE-ECO_")


def next_terrain_id(session: Session, site: Site) -> str:
    """The next free TERRAIN-ECO id under the INSEE code the park's id starts with.

    The standard numbers objects by the commune where the park was first located, which is
    the prefix of its id even if its commune changed since.
    """
    insee = site.site_id.split("_", 1)[0]
    return next_id(session, Terrain.terr_id, f"{insee}_TERRAIN-ECO_")


def next_id(session: Session, column: Any, prefix: str) -> str:
    # Two referents creating plots at the same moment would compute the same number: the
    # lock serialises them until the first transaction ends.
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(prefix))))
    numbers = session.scalars(
        select(func.substr(column, len(prefix) + 1)).where(column.startswith(prefix))
    )
    used = [int(number) for number in numbers if number.isascii() and number.isdigit()]
    following = max(used, default=0) + 1
    if following >= 10**ID_DIGITS:
        raise ValidationError({"": f"Plus aucun identifiant libre après {prefix}{following - 1}."})
    return f"{prefix}{following:0{ID_DIGITS}d}"


# --- shared steps --------------------------------------------------------------------------


def known_values(values: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    allowed = set(fields)
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    return {name: blank_to_none(value) for name, value in values.items()}


def required_problems(values: Mapping[str, Any], names: Iterable[str]) -> dict[str, str]:
    return {name: REQUIRED_MESSAGE for name in names if values.get(name) in (None, "")}


def code_list_problems(values: Mapping[str, Any]) -> dict[str, str]:
    errors = {}
    for name, value in values.items():
        allowed = codelists.CODE_LISTS.get(name)
        if allowed is not None and value is not None and value not in allowed:
            errors[name] = "Choisissez une valeur de la liste."
    return errors


def at_least(
    values: Mapping[str, Any], names: Iterable[str], *, minimum: int, strict: bool = False
) -> dict[str, str]:
    errors = {}
    for name in names:
        value = values.get(name)
        if value is None:
            continue
        if strict and value <= minimum:
            errors[name] = "La valeur doit être strictement positive."
        elif value < minimum:
            errors[name] = "La valeur ne peut pas être négative."
    return errors


def url_problems(values: Mapping[str, Any]) -> dict[str, str]:
    return {
        name: URL_MESSAGE
        for name in URL_FIELDS
        if (value := values.get(name)) is not None and not URL.match(value)
    }


def invalid_geometry(geometry: BaseGeometry, types: tuple[type, ...], expected: str) -> str | None:
    if not isinstance(geometry, types):
        return f"Dessinez {expected}."
    if geometry.is_empty:
        return "Le dessin est vide."
    try:
        check_valid(geometry)
    except IssueError as error:
        return error.french
    return None


def for_database(values: Mapping[str, Any]) -> dict[str, Any]:
    converted = dict(values)
    for name, value in values.items():
        if isinstance(value, BaseGeometry):
            shape = as_multipolygon(value) if name == "site_geomsurf" else value
            converted[name] = from_shape(shape, srid=SRID)
    return converted


def current_values(record: Site | Terrain, fields: Iterable[str]) -> dict[str, Any]:
    """The record's editable values, geometries as shapes like the values people send."""
    return {
        name: to_shape(value) if name.endswith("_geomsurf") and value is not None else value
        for name in fields
        for value in [getattr(record, name)]
    }


def geometry_changed(record: Site | Terrain, values: Mapping[str, Any]) -> bool:
    name = "site_geomsurf" if isinstance(record, Site) else "terr_geomsurf"
    return name in values and not _same_shape(getattr(record, name), values[name])


def apply_values(record: Site | Terrain, values: Mapping[str, Any], *, today: date | None) -> None:
    for name, value in values.items():
        if name.endswith("_geomsurf"):
            if _same_shape(getattr(record, name), value):
                continue  # a form sends the outline back unchanged: nothing to record
            value = for_database({name: value})[name]
        if getattr(record, name) != value:
            setattr(record, name, value)
    actu_column = "site_actu_date" if isinstance(record, Site) else "terr_actu_date"
    setattr(record, actu_column, today or date.today())


def _same_shape(stored: Any, new: Any) -> bool:
    """Equal within a few centimetres: what an outline sent back unchanged by the browser
    moves (WGS84 degrees to 7 decimals, then Lambert-93 to the centimetre); redrawing moves
    vertices by far more."""
    if stored is None or new is None:
        return stored is new
    before = stored if isinstance(stored, BaseGeometry) else to_shape(stored)
    after = new if isinstance(new, BaseGeometry) else to_shape(new)
    if isinstance(before, MultiPolygon) != isinstance(after, MultiPolygon):
        before, after = as_multipolygon(before), as_multipolygon(after)
    return before.equals_exact(after, tolerance=SAME_SHAPE_TOLERANCE_M)


def check_version(record: Versioned, expected_version: int) -> None:
    if record.version != expected_version:
        raise StaleVersionError(_stale_message(record), record)


def _stale_message(record: Versioned) -> str:
    what = {Site: "ce parc", Terrain: "ce terrain", Owner: "ce propriétaire"}[type(record)]
    return (
        f"Quelqu’un a enregistré {what} pendant que vous le modifiiez : vos modifications "
        "n’ont pas été appliquées, pour ne pas effacer les siennes."
    )


def saving_record(session: Session, record: Versioned, reason: str) -> AbstractContextManager[None]:
    """Write the changes made in the block under ``reason``, or raise StaleVersionError."""
    return saving(session, record, reason, _stale_message(record))


# --- a refused edit, replayed on the record as it is now -------------------------------------


@dataclass(frozen=True)
class Clash:
    """A field that the late person and someone else both changed, both values as the pages
    write them."""

    name: str
    mine: str
    theirs: str
    who: str

    @property
    def message(self) -> str:
        theirs, mine = self.theirs, self.mine
        if self.name.endswith("_geomsurf"):
            theirs, mine = f"un contour de {theirs}", f"un contour de {mine}"
        return (
            f"Modifié aussi entre-temps par {self.who} : {theirs}. Le formulaire garde votre "
            f"valeur ({mine}) : enregistrez pour la confirmer, ou reprenez la sienne."
        )


@dataclass(frozen=True)
class Rebased:
    """Which values of a refused edit are the person's own changes."""

    # Fields only someone else changed: the form takes them from the record as it is now.
    from_current: frozenset[str]
    # Fields both changed: the form keeps the person's value and shows the other one.
    clashes: dict[str, Clash]


def rebase_edit(
    session: Session, record: Versioned, loaded_version: int, values: Mapping[str, Any]
) -> Rebased:
    """Compare ``values`` — an edit of ``record`` loaded at ``loaded_version`` and refused as
    stale — with the record at that version, as the audit trail tells it: the fields the
    others saved since are those of their events, and each one's value at the loaded version
    is the "before" of the first event that changed it. A field the person left as loaded is
    theirs to take; one the person changed too is a clash, unless both typed the same."""
    loaded: dict[str, Any] = {}
    authors: dict[str, str] = {}
    for event, who in history.with_authors(session, history.events_since(record, loaded_version)):
        for name, (before, _after) in event.changes.items():
            loaded.setdefault(name, before)
            authors[name] = who
    from_current, clashes = set(), {}
    for name, mine in values.items():
        if name not in loaded:
            continue
        now = _as_audited(name, getattr(record, name))
        if _same_value(name, mine, loaded[name]):
            from_current.add(name)
        elif not _same_value(name, mine, now):
            shown = _as_audited(name, blank_to_none(mine))
            clashes[name] = Clash(
                name, history.display_value(name, shown), history.display_value(name, now),
                authors[name],
            )  # fmt: skip
    return Rebased(frozenset(from_current), clashes)


def _as_audited(name: str, value: Any) -> Any:
    """A value as the audit trail keeps it (JSON; outlines as WKT)."""
    return audit.geometry_wkt(value) if name.endswith("_geomsurf") else audit.json_value(value)


def _same_value(name: str, typed: Any, audited: Any) -> bool:
    typed = blank_to_none(typed)
    if name.endswith("_geomsurf"):
        return _same_shape(wkt.loads(audited) if audited else None, typed)
    if name == "terr_divisible" and typed is None:
        typed = False  # see _with_defaults
    return audit.json_value(typed) == audited
