"""Company projects (prospects), their shortlisted plots, redirections between EPCIs, the
case's dated path, and the in-app inbox that tells référents about redirections.

A project is confidential: the company's identity and contacts are readable only by the EPCI
that recorded it, the EPCIs it was redirected to and the coordinator (foncier.prospects.projects
decides). Stored values of the short code lists below are named in French by the core.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from foncier.models.base import Base, Timestamped
from foncier.models.territory import Epci

# Where the project came from.
PROSPECT_SOURCES = ("direct", "agence_regionale", "reseau", "evenement", "consulaire", "autre")
# The case's stage, from first contact to its outcome (foncier.prospects.cases is the state
# machine).
PROSPECT_STAGES = ("nouveau", "recherche", "visite", "offre", "option", "installe", "perdu")
# What the company said about a plot it was shown.
COMPANY_ANSWERS = ("en_attente", "interessee", "refuse")
REDIRECTION_STATUSES = ("proposee", "acceptee", "declinee", "retiree")
DECLINE_REASONS = (
    "pas_de_terrain",
    "activite_non_souhaitee",
    "delai",
    "capacite",
    "projet_incomplet",
    "autre",
)


def one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    quoted = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=f"{column}_known")


class Prospect(Timestamped, Base):
    """A company's project: who it is (confidential), what it needs, and where its case stands."""

    __tablename__ = "prospect"
    __table_args__ = (
        one_of("source", PROSPECT_SOURCES),
        one_of("stage", PROSPECT_STAGES),
        CheckConstraint("company_siren ~ '^[0-9]{9}$'", name="company_siren_digits"),
        CheckConstraint("jobs_planned >= 0 AND jobs_created >= 0", name="jobs_not_negative"),
        CheckConstraint("investment_eur >= 0", name="investment_not_negative"),
        # Personal data is kept only with a date after which it must be erased.
        CheckConstraint(
            "contact_retention_until IS NOT NULL OR (contact_name IS NULL "
            "AND contact_email IS NULL AND contact_phone IS NULL)",
            name="contact_has_retention",
        ),
        # One project at a time holds a plot under option: a plot put back on sale by hand
        # under an option cannot be reserved, then sold, for a second project. An installed
        # project holds nothing: its plot is « vendu » until the company leaves
        # (foncier.prospects.cases).
        Index(
            "uq_prospect_one_holder_per_plot",
            "terr_id",
            unique=True,
            postgresql_where=text("stage = 'option'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The EPCI that recorded the project, and the one leading it now (changes on acceptance).
    origin_epci_siren: Mapped[str] = mapped_column(ForeignKey("epci.siren"), index=True)
    lead_epci_siren: Mapped[str] = mapped_column(ForeignKey("epci.siren"), index=True)
    company_name: Mapped[str] = mapped_column(Text)
    company_siren: Mapped[str | None] = mapped_column(String(9))
    naf_code: Mapped[str | None] = mapped_column(String(6))
    contact_name: Mapped[str | None] = mapped_column(Text)
    contact_role: Mapped[str | None] = mapped_column(Text)
    contact_email: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(Text)
    contact_retention_until: Mapped[date | None] = mapped_column(Date)
    # The matching engine's input, as validated by foncier.matching.needs.
    needs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    jobs_planned: Mapped[int | None] = mapped_column(Integer)
    investment_eur: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    source: Mapped[str] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(Text, default="nouveau", server_default="nouveau")
    # The plot of the option, then of the installation.
    terr_id: Mapped[str | None] = mapped_column(ForeignKey("terrain.terr_id"), index=True)
    installed_on: Mapped[date | None] = mapped_column(Date)
    jobs_created: Mapped[int | None] = mapped_column(Integer)
    lost_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    origin_epci: Mapped[Epci] = relationship(foreign_keys=[origin_epci_siren])
    lead_epci: Mapped[Epci] = relationship(foreign_keys=[lead_epci_siren])
    shortlist: Mapped[list[ShortlistedPlot]] = relationship(
        back_populates="prospect", order_by="ShortlistedPlot.id", cascade="all, delete-orphan"
    )
    redirections: Mapped[list[Redirection]] = relationship(
        back_populates="prospect", order_by="Redirection.id"
    )

    __mapper_args__ = {"version_id_col": version}


class ShortlistedPlot(Base):
    """A plot kept for a project, and what was proposed to the company and its answer."""

    __tablename__ = "shortlisted_plot"
    __table_args__ = (
        UniqueConstraint("prospect_id", "terr_id"),
        one_of("company_answer", COMPANY_ANSWERS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prospect_id: Mapped[int] = mapped_column(ForeignKey("prospect.id", ondelete="CASCADE"))
    terr_id: Mapped[str] = mapped_column(ForeignKey("terrain.terr_id"), index=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    added_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    # The matching score when the plot was kept (0-100), for the record.
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    proposed_on: Mapped[date | None] = mapped_column(Date)
    company_answer: Mapped[str | None] = mapped_column(Text)
    answer_note: Mapped[str | None] = mapped_column(Text)

    prospect: Mapped[Prospect] = relationship(back_populates="shortlist")


class Redirection(Base):
    """A project proposed by one EPCI to another, and that EPCI's answer."""

    __tablename__ = "redirection"
    __table_args__ = (
        one_of("status", REDIRECTION_STATUSES),
        one_of("decline_reason", DECLINE_REASONS),
        CheckConstraint("from_epci_siren <> to_epci_siren", name="to_another_epci"),
        CheckConstraint(
            "(status = 'declinee') = (decline_reason IS NOT NULL)", name="declined_with_reason"
        ),
        # At most one proposal waiting for an answer per project: two people cannot send the
        # same company to two EPCIs at once.
        Index(
            "uq_redirection_one_pending",
            "prospect_id",
            unique=True,
            postgresql_where=text("status = 'proposee'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prospect_id: Mapped[int] = mapped_column(ForeignKey("prospect.id"), index=True)
    from_epci_siren: Mapped[str] = mapped_column(ForeignKey("epci.siren"), index=True)
    to_epci_siren: Mapped[str] = mapped_column(ForeignKey("epci.siren"), index=True)
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, default="proposee", server_default="proposee")
    decline_reason: Mapped[str | None] = mapped_column(Text)
    decline_note: Mapped[str | None] = mapped_column(Text)
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    proposed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    prospect: Mapped[Prospect] = relationship(back_populates="redirections")
    from_epci: Mapped[Epci] = relationship(foreign_keys=[from_epci_siren])
    to_epci: Mapped[Epci] = relationship(foreign_keys=[to_epci_siren])
    plots: Mapped[list[RedirectedPlot]] = relationship(
        order_by="RedirectedPlot.terr_id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}


class RedirectedPlot(Base):
    """A shortlisted plot sent along with a redirection."""

    __tablename__ = "redirected_plot"

    redirection_id: Mapped[int] = mapped_column(
        ForeignKey("redirection.id", ondelete="CASCADE"), primary_key=True
    )
    terr_id: Mapped[str] = mapped_column(ForeignKey("terrain.terr_id"), primary_key=True)


class CaseEvent(Base):
    """One dated, attributed step of a project's path: recorded, redirected, declined,
    accepted, visited, offered, optioned, installed, lost. Written by the core, never updated."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    prospect_id: Mapped[int] = mapped_column(
        ForeignKey("prospect.id", ondelete="CASCADE"), index=True
    )
    redirection_id: Mapped[int | None] = mapped_column(ForeignKey("redirection.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(Text)
    # The EPCI the person acted for (None for the coordinator or a command).
    epci_siren: Mapped[str | None] = mapped_column(ForeignKey("epci.siren"))
    kind: Mapped[str] = mapped_column(Text)
    # Facts of the step (stage, plot, date, jobs, reason code...), JSON-ready.
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    note: Mapped[str | None] = mapped_column(Text)


class Notification(Base):
    """A message in a person's in-app inbox (its e-mail copy: foncier.messaging.mail)."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    # A path inside the platform (e.g. /projets/12), never an absolute URL.
    link: Mapped[str | None] = mapped_column(Text)
    prospect_id: Mapped[int | None] = mapped_column(
        ForeignKey("prospect.id", ondelete="CASCADE"), index=True
    )
