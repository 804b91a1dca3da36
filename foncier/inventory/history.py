"""The history of the inventory as people read it: who changed what, when, before → after.

Entries are read from the audit trail (foncier.core.audit) and put in French: column labels,
values as the pages show them, outlines summarised by their area. Private values — an owner's
identity, the buyer, date and amount of a sale — are masked for whoever may not see them
(Actor.can_see_private of the record's EPCI), on the pages and in the CSV exports alike: the
history must not become a way round the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TextIO
from zoneinfo import ZoneInfo

from shapely import wkt
from shapely.errors import ShapelyError
from sqlalchemy import Boolean, Date, Numeric, Select, func, select
from sqlalchemy.orm import Session

from foncier.core import audit
from foncier.core.db import get_or_raise
from foncier.core.paging import Paging, check_page
from foncier.core.permissions import Actor
from foncier.core.spreadsheets import inert_cell, spreadsheet_csv
from foncier.inventory.cnig.labels import LABELS, UNITS
from foncier.models import AuditEvent, Owner, Site, Terrain, User
from foncier.models.codelists import CONFIDENTIAL_TERRAIN_FIELDS

# The platform's users are in mainland France: times are shown in their local time.
LOCAL_TIME: Final = ZoneInfo("Europe/Paris")
MASKED: Final = "(confidentiel)"
EMPTY: Final = "—"
PER_PAGE: Final = 50
SQUARE_METRES_PER_HECTARE: Final = 10_000
GEOMETRY_COLUMNS: Final = frozenset({"site_geomsurf", "terr_geomsurf"})
# An owner's number is already in the entry's label.
NOT_SHOWN: Final = frozenset({"id"})

ACTION_LABELS: Final = {"create": "Création", "update": "Modification", "delete": "Suppression"}
ENTITY_LABELS: Final = {"site": "Parc", "terrain": "Terrain", "owner": "Propriétaire"}

# French labels: the core's labels of the CNIG columns, and those of owners and flags.
COLUMN_LABELS: Final = {
    **LABELS,
    "is_demo": "Donnée de démonstration",
    "id": "Numéro",
    "nom": "Nom",
    "nature": "Nature",
    "siren": "SIREN",
    "adresse": "Adresse",
}
# Kind of every column, for the values the audit trail keeps as JSON text.
COLUMN_TYPES: Final = {
    column.key: column.type
    for model in (Site, Terrain, Owner)
    for column in model.__table__.columns
}

# What makes a spreadsheet read a cell as a formula.
CSV_HEADER: Final = (
    "Date et heure",
    "Auteur",
    "Compte",
    "Action",
    "Objet",
    "Identifiant",
    "Parc",
    "Terrain",
    "EPCI",
    "Motif",
    "Champ",
    "Avant",
    "Après",
)


@dataclass(frozen=True)
class FieldChange:
    name: str
    label: str
    before: str
    after: str
    masked: bool = False

    @property
    def is_geometry(self) -> bool:
        return self.name in GEOMETRY_COLUMNS

    @property
    def text(self) -> str:
        """« 12,5 €/m² → 14 €/m² »; an outline: « contour modifié (1,2 ha → 1,35 ha) »."""
        if not self.is_geometry or self.masked:
            return f"{self.before} → {self.after}"
        if self.before == EMPTY:
            return f"contour dessiné ({self.after})"
        if self.after == EMPTY:
            return "contour effacé"
        return f"contour modifié ({self.before} → {self.after})"


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    at: datetime
    who: str
    account: str
    action: str
    entity_type: str
    entity_id: str
    site_id: str | None
    terr_id: str | None
    epci_siren: str | None
    reason: str | None
    version: int | None
    changes: tuple[FieldChange, ...]

    @property
    def local_time(self) -> datetime:
        return self.at.astimezone(LOCAL_TIME)

    @property
    def action_label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)

    @property
    def entity_label(self) -> str:
        label = ENTITY_LABELS.get(self.entity_type, self.entity_type)
        if self.entity_type == "owner":
            return f"{label} n° {self.entity_id}"
        return f"{label} {self.entity_id}"


@dataclass(frozen=True)
class HistoryPage(Paging):
    entries: list[HistoryEntry]


# --- which events ----------------------------------------------------------------------------


def site_events(session: Session, site_id: str) -> Select[tuple[AuditEvent]]:
    """A park's events and those of its plots and owners, newest first."""
    get_or_raise(session, Site, site_id)
    return audit.site_history(site_id)


def terrain_events(session: Session, terr_id: str) -> Select[tuple[AuditEvent]]:
    """A plot's events and those of its owners, newest first."""
    get_or_raise(session, Terrain, terr_id)
    return audit.terrain_history(terr_id)


def network_events(epci_siren: str | None = None) -> Select[tuple[AuditEvent]]:
    """Every event of the inventory, or of one EPCI's, newest first (never a project's or an
    agreement's: they name companies)."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.entity_type.in_(audit.INVENTORY_TYPES.values()))
        .order_by(AuditEvent.id.desc())
    )
    if epci_siren:
        query = query.where(AuditEvent.epci_siren == epci_siren)
    return query


def events_since(record: Site | Terrain | Owner, version: int) -> Select[tuple[AuditEvent]]:
    """The events of ``record`` saved after ``version``, oldest first."""
    entity_type, entity_id = audit.entity_of(record)
    return (
        select(AuditEvent)
        .where(
            AuditEvent.entity_type == entity_type,
            AuditEvent.entity_id == entity_id,
            AuditEvent.version > version,
        )
        .order_by(AuditEvent.id)
    )


def changes_since(
    session: Session, actor: Actor, record: Site | Terrain | Owner, version: int
) -> list[HistoryEntry]:
    """What was saved on ``record`` after ``version``, oldest first: the other person's edit
    that made a save stale."""
    return read_entries(session, actor, events_since(record, version))


# --- reading them --------------------------------------------------------------------------


def read_entries(
    session: Session, actor: Actor, events: Select[tuple[AuditEvent]]
) -> list[HistoryEntry]:
    """The entries of ``events`` (a select of AuditEvent), masked for ``actor``."""
    return list(_entries(session, actor, events))


def history_page(
    session: Session,
    actor: Actor,
    events: Select[tuple[AuditEvent]],
    *,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> HistoryPage:
    """One page of ``events``; a page past the last one is not found."""
    total = session.scalar(select(func.count()).select_from(events.subquery())) or 0
    check_page(page, total, per_page, of="the history")
    entries = read_entries(session, actor, events.limit(per_page).offset((page - 1) * per_page))
    return HistoryPage(entries=entries, total=total, page=page, per_page=per_page)


def _entries(
    session: Session, actor: Actor, events: Select[tuple[AuditEvent]]
) -> Iterator[HistoryEntry]:
    for event, who in with_authors(session, events):
        yield entry_of(event, who, may_see_private=actor.can_see_private(event.epci_siren))


def with_authors(
    session: Session, events: Select[tuple[AuditEvent]]
) -> Iterator[tuple[AuditEvent, str]]:
    """Each event with its author's name (the account label for a script or a removed user)."""
    with_names = events.add_columns(User.nom).outerjoin(User, User.id == AuditEvent.user_id)
    for event, name in session.execute(with_names).yield_per(500):
        yield event, name or event.actor_label


def entry_of(event: AuditEvent, name: str | None, *, may_see_private: bool) -> HistoryEntry:
    return HistoryEntry(
        id=event.id,
        at=event.at,
        who=name or event.actor_label,
        account=event.actor_label,
        action=event.action,
        entity_type=event.entity_type,
        entity_id=event.entity_id,
        site_id=event.site_id,
        terr_id=event.terr_id,
        epci_siren=event.epci_siren,
        reason=event.reason,
        version=event.version,
        changes=tuple(_field_changes(event, may_see_private)),
    )


def _field_changes(event: AuditEvent, may_see_private: bool) -> Iterator[FieldChange]:
    for name, (before, after) in event.changes.items():
        if name in NOT_SHOWN:
            continue
        label = COLUMN_LABELS.get(name, name)
        if not may_see_private and _is_private(event.entity_type, name):
            yield FieldChange(name, label, MASKED, MASKED, masked=True)
        else:
            yield FieldChange(name, label, display_value(name, before), display_value(name, after))


def _is_private(entity_type: str, column: str) -> bool:
    # An owner's every column says who they are; a plot's sale columns are commercial data.
    return entity_type == "owner" or column in CONFIDENTIAL_TERRAIN_FIELDS


def display_value(column: str, value: Any) -> str:
    """A value as the audit trail keeps it (JSON), written as the pages write it."""
    if value is None or value == "":
        return EMPTY
    if column in GEOMETRY_COLUMNS:
        return _area_text(value)
    kind = COLUMN_TYPES.get(column)
    if isinstance(kind, Boolean) or isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(kind, Date) and isinstance(value, str):
        return _date_text(value)
    if isinstance(kind, Numeric) or isinstance(value, int | float):
        return _number_text(value, UNITS.get(column))
    return str(value)


def _area_text(geometry_wkt: str) -> str:
    try:
        hectares = wkt.loads(geometry_wkt).area / SQUARE_METRES_PER_HECTARE
    except ShapelyError:
        return "contour illisible"
    return f"{french_number(Decimal(repr(hectares)), 2)}\u00a0ha"


def _date_text(iso: str) -> str:
    try:
        return date.fromisoformat(iso).strftime("%d/%m/%Y")
    except ValueError:
        return iso


def _number_text(value: Any, unit: str | None) -> str:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = french_number(number, max(0, -number.normalize().as_tuple().exponent))
    return f"{text}\u00a0{unit}" if unit else text


def french_number(value: Decimal, decimals: int) -> str:
    """« 1 234,56 »: a narrow no-break space between thousands, a decimal comma, no trailing
    zeros (as foncier.web.formatting writes numbers, without the web layer)."""
    text = f"{value:,.{decimals}f}"
    if decimals:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", "\u202f").replace(".", ",")


# --- CSV export ----------------------------------------------------------------------------


def write_history_csv(
    session: Session, actor: Actor, events: Select[tuple[AuditEvent]], out: TextIO
) -> int:
    """Write ``events`` as CSV, one row per changed field, masked as on the pages; return the
    number of events written.

    Semicolons and a byte-order mark, as spreadsheets set to French expect (decimal commas
    in the values); the first row names the columns.
    """
    writer = spreadsheet_csv(out, CSV_HEADER)
    count = 0
    for entry in _entries(session, actor, events):
        writer.writerows(csv_rows(entry))
        count += 1
    return count


def csv_rows(entry: HistoryEntry) -> Iterable[list[str]]:
    common = [
        entry.local_time.strftime("%Y-%m-%d %H:%M:%S"),
        entry.who,
        entry.account,
        entry.action_label,
        ENTITY_LABELS.get(entry.entity_type, entry.entity_type),
        entry.entity_id,
        entry.site_id or "",
        entry.terr_id or "",
        entry.epci_siren or "",
        entry.reason or "",
    ]
    rows = [[*common, change.label, change.before, change.after] for change in entry.changes]
    return [[inert_cell(cell) for cell in row] for row in rows or [[*common, "", "", ""]]]
