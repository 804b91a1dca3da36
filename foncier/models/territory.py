"""The reference territory: départements, communes and EPCIs, loaded from official data."""

from __future__ import annotations

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from foncier.models.base import SRID, Base


class Departement(Base):
    __tablename__ = "departement"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    nom: Mapped[str]


class Epci(Base):
    """An intercommunality (établissement public de coopération intercommunale)."""

    __tablename__ = "epci"

    siren: Mapped[str] = mapped_column(String(9), primary_key=True)
    nom: Mapped[str]
    # CC, CA, CU or ME (métropole), as in the official file.
    nature: Mapped[str] = mapped_column(String(2))
    population: Mapped[int] = mapped_column(Integer)
    # Union of the outlines of its communes.
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True)
    )

    communes: Mapped[list[Commune]] = relationship(back_populates="epci", order_by="Commune.nom")


class Commune(Base):
    __tablename__ = "commune"

    insee: Mapped[str] = mapped_column(String(5), primary_key=True)
    nom: Mapped[str]
    population: Mapped[int] = mapped_column(Integer)
    departement_code: Mapped[str] = mapped_column(ForeignKey("departement.code"), index=True)
    epci_siren: Mapped[str | None] = mapped_column(ForeignKey("epci.siren"), index=True)
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True)
    )

    epci: Mapped[Epci | None] = relationship(back_populates="communes")
