"""The search log: each matching run from a company project and the top of its ranking.

Written by foncier.prospects.search_log; read by the network's balances (the exposure share of
each EPCI) and, later, by the learning of weights (issue 14). It holds no company data: the
needs without their free label, and plots, EPCIs, scores and criterion values. A project's
runs go with the project (ON DELETE CASCADE). ``terr_id`` is not a foreign key: a plot later
removed from the inventory stays in the log as it was shown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    SmallInteger,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from foncier.models.base import Base


class SearchRun(Base):
    """One search run from a project's plots page, with the needs it ran with."""

    __tablename__ = "search_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    prospect_id: Mapped[int] = mapped_column(
        ForeignKey("prospect.id", ondelete="CASCADE"), index=True
    )
    ran_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    # The engine's normalised needs (Needs.to_json) without the keys a project does not keep.
    needs: Mapped[dict[str, Any]] = mapped_column(JSONB)

    results: Mapped[list[SearchResult]] = relationship(
        back_populates="run", order_by="SearchResult.rank", cascade="all, delete-orphan"
    )


class SearchResult(Base):
    """A plot the run ranked in its top, as it was then: its EPCI, score and criteria."""

    __tablename__ = "search_result"
    __table_args__ = (CheckConstraint("rank >= 1", name="rank_from_one"),)

    run_id: Mapped[int] = mapped_column(
        ForeignKey("search_run.id", ondelete="CASCADE"), primary_key=True
    )
    rank: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    terr_id: Mapped[str] = mapped_column(String(23))
    epci_siren: Mapped[str] = mapped_column(ForeignKey("epci.siren"), index=True)
    # The engine's score in [0, 1] and each criterion's value in [0, 1], by criterion name.
    score: Mapped[float] = mapped_column(Double)
    criteria: Mapped[dict[str, float]] = mapped_column(JSONB)

    run: Mapped[SearchRun] = relationship(back_populates="results")
