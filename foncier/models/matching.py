"""What the matching engine reads: one narrow row per plot on offer, kept by triggers.

``matching_plot`` holds, for every plot whose marketing stage counts as available, the facts
the hard constraints and the scorer need, already converted (floats, code numbers, bit masks
of the park's networks and of the constraint-zone types the plot lies in, the centroid) and
packed, so that a search reads one narrow table in one pass, with no join, no spatial test,
and no per-value conversion. Triggers on ``terrain``, ``site``
and ``constraint_zone`` (sql/triggers/matching_plot_v1.sql) rewrite the rows of the plots a
statement touches, in the same transaction: a search sees every edit or import at once, and a
rolled-back change leaves nothing behind. ``matching_plot_count`` counts all plots, for the
excluded counts of a search. Nothing here knows which EPCI a plot belongs to.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Double,
    Identity,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from foncier.models.base import Base


class MatchingPlot(Base):
    __tablename__ = "matching_plot"

    terr_id: Mapped[str] = mapped_column(String(23), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(20))
    # What the hard constraints test, as plain numbers.
    surface_ha: Mapped[float] = mapped_column(Double)
    # The whole plot, or its minimum lot (0 when none is given) if it is divisible.
    smallest_lot_ha: Mapped[float] = mapped_column(Double)
    price_eur_m2: Mapped[float | None] = mapped_column(Double)
    # Index of terr_icpe_max in foncier.models.codelists.ICPE_REGIMES, -1 when unknown.
    icpe_rank: Mapped[int] = mapped_column(SmallInteger)
    # Bit i set: the park has network foncier.matching.scoring.NETWORKS[i].
    networks: Mapped[int] = mapped_column(SmallInteger)
    power_kva: Mapped[float | None] = mapped_column(Double)
    # terr_dispo_date as a proleptic ordinal (Python's date.toordinal), 0 when none.
    available_day: Mapped[int] = mapped_column(Integer)
    turnkey: Mapped[bool | None] = mapped_column(Boolean)
    height_max_m: Mapped[float | None] = mapped_column(Double)
    motorway_km: Mapped[float | None] = mapped_column(Double)
    # Bit i set: the plot lies in a zone of type foncier.models.codelists.ZONE_TYPES[i].
    zones: Mapped[int] = mapped_column(SmallInteger)
    # Centroid in Lambert-93.
    x: Mapped[float] = mapped_column(Double)
    y: Mapped[float] = mapped_column(Double)
    # What the scorer reads, packed for transfer: big-endian float8s in the order of
    # foncier.matching.engine.PACKED_FACTS (unknown numbers as NaN).
    facts: Mapped[bytes] = mapped_column(LargeBinary)


class MatchingPlotCount(Base):
    """How many plots the inventory holds, on offer or not: the sum of ``delta``.

    Each plot insert or delete statement appends its delta (and now and then folds the rows
    no other transaction holds into one), so concurrent transactions never wait on a counter.
    """

    __tablename__ = "matching_plot_count"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    delta: Mapped[int] = mapped_column(BigInteger)
