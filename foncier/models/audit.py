"""The audit trail: who changed what in the inventory, when, with the values before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from foncier.models.base import Base


class AuditEvent(Base):
    """One change of one record. Written by foncier.core.audit at flush time, never updated."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # The account, when a person acted; the label always says who (e-mail, or "cli:root").
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), index=True
    )
    actor_label: Mapped[str] = mapped_column(Text)
    # create, update or delete.
    action: Mapped[str] = mapped_column(String(10))
    # site, terrain or owner; entity_id is the CNIG id (or the owner's number).
    entity_type: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(Text)
    # Where the record sits: a park's history includes its plots', a plot's its owners'.
    site_id: Mapped[str | None] = mapped_column(Text, index=True)
    terr_id: Mapped[str | None] = mapped_column(Text, index=True)
    epci_siren: Mapped[str | None] = mapped_column(String(9), index=True)
    # {column: [before, after]} in JSON-ready values (geometries as WKT in Lambert-93).
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Why, in the actor's words or the operation's: "Mise en vente", "Import CNIG sites.csv".
    reason: Mapped[str | None] = mapped_column(Text)
    # The record's version after the change (optimistic locking), when it has one.
    version: Mapped[int | None] = mapped_column(Integer)
