"""The audit trail, written by the session itself: no change escapes it.

``acting_as(session, actor)`` says who is acting; from then on every flush that creates,
changes or deletes a park, plot or owner — or a company project, a shortlisted plot, a
redirection, an agreement or a party to it, a meeting of the network — writes one AuditEvent
per record with the values before and after, in the same transaction. A flush that changes
them without an actor is refused (MissingActorError): an unattributed change is a bug.

Events of the inventory carry their park, plot and EPCI, and the inventory's histories read
them; events of projects and agreements carry none of these (they name companies, which are
confidential), so no inventory history can show them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from geoalchemy2 import Geometry, WKBElement, WKTElement
from geoalchemy2.shape import to_shape
from shapely import wkt
from sqlalchemy import Select, event, insert, inspect, select
from sqlalchemy.orm import Mapper, Session, UOWTransaction

from foncier.core.errors import MissingActorError
from foncier.core.permissions import Actor
from foncier.models import (
    Agreement,
    AgreementParty,
    AuditEvent,
    Meeting,
    Owner,
    Prospect,
    Redirection,
    ShortlistedPlot,
    Site,
    Terrain,
)

ACTOR_KEY: Final = "foncier.actor"
REASON_KEY: Final = "foncier.reason"
# Bookkeeping columns: they change with every save and tell nothing a person would review.
UNAUDITED: Final = frozenset({"created_at", "updated_at", "version"})
INVENTORY_TYPES: Final = {Site: "site", Terrain: "terrain", Owner: "owner"}
CASE_TYPES: Final = {
    Prospect: "prospect",
    ShortlistedPlot: "shortlisted_plot",
    Redirection: "redirection",
    Agreement: "agreement",
    AgreementParty: "agreement_party",
}
NETWORK_TYPES: Final = {Meeting: "meeting"}
ENTITY_TYPES: Final = {**INVENTORY_TYPES, **CASE_TYPES, **NETWORK_TYPES}
# Centimetres: the precision of the CNIG exports, enough to review a redrawn outline.
WKT_DECIMALS: Final = 2


def acting_as(session: Session, actor: Actor) -> None:
    """Attribute every change this session writes from now on to ``actor``."""
    session.info[ACTOR_KEY] = actor


def actor_of(session: Session) -> Actor | None:
    return session.info.get(ACTOR_KEY)


@contextmanager
def acting(session: Session, actor: Actor) -> Iterator[None]:
    """Attribute the changes flushed inside the block to ``actor``, then give the session
    back its previous actor (a command that acts for several people in turn, like the demo)."""
    previous = actor_of(session)
    session.info[ACTOR_KEY] = actor
    try:
        yield
        session.flush()
    finally:
        session.info[ACTOR_KEY] = previous


@contextmanager
def reason(session: Session, text: str) -> Iterator[None]:
    """Label the changes flushed inside the block (e.g. "Mise en vente", an import's file)."""
    previous = session.info.get(REASON_KEY)
    session.info[REASON_KEY] = text
    try:
        yield
        session.flush()  # the reason must reach the events of this block, not later ones
    finally:
        session.info[REASON_KEY] = previous


def geometry_wkt(value: Any) -> str | None:
    """Any form a geometry attribute takes (WKB/WKT element, EWKT text, shapely) as WKT."""
    if value is None:
        return None
    if isinstance(value, WKBElement):
        shape = to_shape(value)
    elif isinstance(value, WKTElement | str):
        text = value.data if isinstance(value, WKTElement) else value
        shape = wkt.loads(text.split(";", 1)[-1])  # EWKT: drop the SRID=...; prefix
    else:
        shape = value
    return wkt.dumps(shape, rounding_precision=WKT_DECIMALS, trim=True)


def json_value(value: Any) -> Any:
    """A column value as JSON: numbers as text (exact), dates ISO."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


@functools.cache
def _audited_columns(mapper: Mapper[Any]) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """The audited columns of a mapped class, each with its conversion to JSON."""
    return tuple(
        (column.key, geometry_wkt if isinstance(column.columns[0].type, Geometry) else json_value)
        for column in mapper.column_attrs
        if column.key not in UNAUDITED
    )


def _column_changes(obj: Any, action: str) -> dict[str, list[Any]]:
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    # A created or deleted record's values are read as they are, without their history:
    # an import of 20,000 plots spent a fifth of its confirmation computing it.
    attributes = state.attrs if action == "update" else None
    for name, as_json in _audited_columns(state.mapper):
        if attributes is None:
            value = getattr(obj, name)
            before, after = (None, value) if action == "create" else (value, None)
        else:
            history = attributes[name].history
            if not history.has_changes():
                continue
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
        before, after = as_json(before), as_json(after)
        if before != after:
            changes[name] = [before, after]
    return changes


def _placement(session: Session, obj: Any) -> dict[str, str | None]:
    """The park, plot and EPCI of a record: a park's history shows its plots' events, a
    plot's its owners', and an EPCI's export all of them. Projects, agreements and meetings
    have none."""
    if type(obj) not in INVENTORY_TYPES:
        return {"site_id": None, "terr_id": None, "epci_siren": None}
    if isinstance(obj, Site):
        return {"site_id": obj.site_id, "terr_id": None, "epci_siren": obj.site_epci_siren}
    terr_id = obj.terr_id
    with session.no_autoflush:
        terrain = obj if isinstance(obj, Terrain) else session.get(Terrain, terr_id)
        site = session.get(Site, terrain.site_id) if terrain is not None else None
    return {
        "site_id": site.site_id if site is not None else None,
        "terr_id": terr_id,
        "epci_siren": site.site_epci_siren if site is not None else None,
    }


def entity_of(obj: Any) -> tuple[str, str]:
    """The (entity_type, entity_id) that ``obj``'s events are recorded under."""
    return ENTITY_TYPES[type(obj)], _entity_id(obj)


def _entity_id(obj: Any) -> str:
    # The primary key as set during the flush (a new owner's number has no identity yet).
    return str(inspect(obj).mapper.primary_key_from_instance(obj)[0])


def _event(session: Session, obj: Any, action: str, actor: Actor) -> dict[str, Any] | None:
    changes = _column_changes(obj, action)
    if action == "update" and not changes:
        return None
    return {
        "user_id": actor.user_id,
        "actor_label": actor.label,
        "action": action,
        "entity_type": ENTITY_TYPES[type(obj)],
        "entity_id": _entity_id(obj),
        **_placement(session, obj),
        "changes": changes,
        "reason": session.info.get(REASON_KEY),
        "version": None if action == "delete" else getattr(obj, "version", None),
    }


def _audited(objects: Any) -> list[Any]:
    return [obj for obj in objects if type(obj) in ENTITY_TYPES]


@event.listens_for(Session, "before_flush")
def _require_actor(session: Session, _context: UOWTransaction, _instances: Any) -> None:
    touched = _audited(session.new) + _audited(session.dirty) + _audited(session.deleted)
    if touched and actor_of(session) is None:
        raise MissingActorError(
            "Audited changes need an actor: call foncier.core.audit.acting_as(session, …)"
        )


@event.listens_for(Session, "after_flush")
def _write_events(session: Session, _context: UOWTransaction) -> None:
    # After the flush, new records have their ids and versions, and the attribute history
    # still holds the values before the flush.
    actor = actor_of(session)
    if actor is None:
        return
    pending = [(obj, "create") for obj in _audited(session.new)]
    pending += [(obj, "update") for obj in _audited(session.dirty)]
    pending += [(obj, "delete") for obj in _audited(session.deleted)]
    rows = [row for obj, action in pending if (row := _event(session, obj, action, actor))]
    if rows:
        session.connection().execute(insert(AuditEvent), rows)


def site_history(site_id: str) -> Select[tuple[AuditEvent]]:
    """The events of a park and of its plots and their owners, newest first."""
    return select(AuditEvent).where(AuditEvent.site_id == site_id).order_by(AuditEvent.id.desc())


def entity_history(entity_type: str, entity_id: object) -> Select[tuple[AuditEvent]]:
    """The events of one record (e.g. ``("prospect", 12)``), oldest first."""
    return (
        select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
        .order_by(AuditEvent.id)
    )


def terrain_history(terr_id: str) -> Select[tuple[AuditEvent]]:
    """The events of a plot and of its owners, newest first."""
    return select(AuditEvent).where(AuditEvent.terr_id == terr_id).order_by(AuditEvent.id.desc())
