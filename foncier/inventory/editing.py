"""Editing the inventory as a person does it: what the editing of parks (parks), plots (plots),
their marketing stage (plot_status) and their owners (owners) shares.

Every editing operation checks, in this order, that the actor may write the EPCI concerned
(PermissionDeniedError), that the edit starts from the version stored now (StaleVersionError:
no lost update when two referents edit the same record), and that the values hold together
(ValidationError, one French message per field). Then it changes the records through the ORM,
so that foncier.core.audit records the change as the actor's, and flushes without committing.

Geometries arrive as shapely shapes in Lambert-93 (foncier.inventory.geometry_input parses what
people type or draw); the checks are those of the CNIG import (foncier.inventory.cnig.importer): a
plot lies in its park's perimeter and a park in its EPCI, within the same tolerances.

Here: the records an actor may edit, the fields people type, the shared checks of values,
the version check and save, the next CNIG identifiers, and a refused edit replayed on the
record as it is now (rebase_edit).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final, Generic, TypeVar

from geoalchemy2.shape import from_shape, to_shape
from shapely import MultiPolygon, wkt
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from foncier.core import audit
from foncier.core.db import get_or_raise, saving
from foncier.core.errors import StaleVersionError, ValidationError
from foncier.core.permissions import Actor
from foncier.inventory import history
from foncier.inventory.cnig.geometry import as_multipolygon, check_valid
from foncier.inventory.cnig.issues import IssueError
from foncier.inventory.cnig.values import URL
from foncier.models import SRID, Commune, Owner, Site, Terrain, codelists

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
SIREN: Final = re.compile(r"^\d{9}$", re.ASCII)


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


def site_for_edit(session: Session, actor: Actor, site_id: str) -> Site:
    """The park ``site_id``, if the actor may edit it (NotFoundError, PermissionDeniedError)."""
    site = get_or_raise(session, Site, site_id)
    actor.require_edit(site.site_epci_siren, "ce parc")
    return site


def terrain_for_edit(session: Session, actor: Actor, terr_id: str) -> Terrain:
    """The plot ``terr_id``, if the actor may edit it (NotFoundError, PermissionDeniedError)."""
    terrain = get_or_raise(session, Terrain, terr_id)
    actor.require_edit(terrain.site.site_epci_siren, "ce terrain")
    return terrain


def owner_for_edit(session: Session, actor: Actor, owner_id: int) -> Owner:
    owner = get_or_raise(session, Owner, owner_id)
    actor.require_edit(owner.terrain.site.site_epci_siren, "les propriétaires de ce terrain")
    return owner


def editable_communes(session: Session, actor: Actor) -> list[Commune]:
    """The communes where the actor may create a park: those of the EPCIs they may edit."""
    query = select(Commune).where(Commune.epci_siren.is_not(None)).order_by(Commune.nom)
    if not actor.network_wide:
        query = query.where(Commune.epci_siren == (actor.epci_siren or ""))
    return list(session.scalars(query))


def blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


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
