"""Cadastral parcels loaded from files (Etalab's cadastre), to draw plots from their references."""

from __future__ import annotations

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from foncier.models.base import SRID, Base, Timestamped


class CadastralParcel(Timestamped, Base):
    """A parcel, identified as in CNIG's terr_refcad: INSEE code, prefix, section, number."""

    __tablename__ = "cadastral_parcel"
    __table_args__ = (
        CheckConstraint("id ~ '^[0-9]{2}[0-9AB][0-9]{5}[0-9A-Z]{2}[0-9]{4}$'", name="id_format"),
    )

    # 14 characters, e.g. 80024000ZO0030 (commune 80024, prefix 000, section ZO, number 0030).
    id: Mapped[str] = mapped_column(String(14), primary_key=True)
    commune_insee: Mapped[str] = mapped_column(String(5), index=True)
    # Surface from the land register (m²), which may differ from the drawn outline's.
    contenance_m2: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True)
    )
