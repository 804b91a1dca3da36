"""Shared-benefit agreements between EPCIs after a successful redirection.

An agreement has two or more parties (EPCIs), covers one or more redirections, states its
terms (a share of a tax revenue over N years, a one-off compensation, jobs follow-up, a
reciprocity credit, free text), records each party's signature date and keeps the signed PDF.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from foncier.models.base import Base, Timestamped
from foncier.models.prospects import one_of
from foncier.models.territory import Epci

AGREEMENT_STATUSES = ("brouillon", "signee", "en_vigueur", "terminee")
# The tax revenue whose share is agreed (CFE: cotisation foncière des entreprises).
TAX_KINDS = ("cfe", "taxe_fonciere", "ifer", "autre")


class Agreement(Timestamped, Base):
    """A shared-benefit agreement (convention de partage) between EPCIs."""

    __tablename__ = "agreement"
    __table_args__ = (
        one_of("status", AGREEMENT_STATUSES),
        one_of("tax_kind", TAX_KINDS),
        CheckConstraint("tax_years BETWEEN 1 AND 50", name="tax_years_range"),
        CheckConstraint(
            "estimated_annual_amount >= 0 AND compensation_eur >= 0", name="amounts_not_negative"
        ),
        CheckConstraint(
            "ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on", name="dates"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, default="brouillon", server_default="brouillon")
    tax_kind: Mapped[str | None] = mapped_column(Text)
    tax_years: Mapped[int | None] = mapped_column(Integer)
    first_year: Mapped[int | None] = mapped_column(Integer)
    # What the company is expected to pay each year, for the calculator's projection.
    estimated_annual_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    compensation_eur: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    compensation_payer_siren: Mapped[str | None] = mapped_column(ForeignKey("epci.siren"))
    compensation_payee_siren: Mapped[str | None] = mapped_column(ForeignKey("epci.siren"))
    jobs_followup: Mapped[str | None] = mapped_column(Text)
    reciprocity_credit: Mapped[str | None] = mapped_column(Text)
    free_text: Mapped[str | None] = mapped_column(Text)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    parties: Mapped[list[AgreementParty]] = relationship(
        back_populates="agreement", order_by="AgreementParty.id", cascade="all, delete-orphan"
    )
    redirections: Mapped[list[AgreementRedirection]] = relationship(
        order_by="AgreementRedirection.redirection_id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}


class AgreementParty(Base):
    """One EPCI party to an agreement: its share of the tax revenue and its signature."""

    __tablename__ = "agreement_party"
    __table_args__ = (
        UniqueConstraint("agreement_id", "epci_siren"),
        CheckConstraint("share_percent >= 0 AND share_percent <= 100", name="share_percent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"))
    epci_siren: Mapped[str] = mapped_column(ForeignKey("epci.siren"), index=True)
    share_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    signed_on: Mapped[date | None] = mapped_column(Date)
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))

    agreement: Mapped[Agreement] = relationship(back_populates="parties")
    epci: Mapped[Epci] = relationship()


class AgreementRedirection(Base):
    """A redirection an agreement covers."""

    __tablename__ = "agreement_redirection"

    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreement.id", ondelete="CASCADE"), primary_key=True
    )
    redirection_id: Mapped[int] = mapped_column(ForeignKey("redirection.id"), primary_key=True)


class AgreementDocument(Base):
    """The signed agreement as a PDF, kept in the database: saved in the same transaction as
    the agreement, backed up with it, and never reachable as a file path."""

    __tablename__ = "agreement_document"

    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreement.id", ondelete="CASCADE"), primary_key=True
    )
    filename: Mapped[str] = mapped_column(Text)
    # Loaded only to be downloaded: pages show the name and size.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
