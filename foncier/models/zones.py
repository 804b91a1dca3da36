"""Regulatory constraint zones (flood risk, technological risk, Natura 2000...)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import Boolean, DateTime, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from foncier.models import codelists
from foncier.models.base import SRID, Base
from foncier.models.inventory import in_code_list


class ConstraintZone(Base):
    """A polygon imported from a file; plots that intersect it are flagged and matched with it."""

    __tablename__ = "constraint_zone"
    __table_args__ = (in_code_list("zone_type", codelists.ZONE_TYPES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_type: Mapped[str] = mapped_column(Text, index=True)
    nom: Mapped[str] = mapped_column(Text)
    # The file the zone came from: importing a file again replaces the zones it brought.
    source: Mapped[str] = mapped_column(Text)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True)
    )
    imported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
