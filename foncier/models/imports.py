"""Files uploaded through the web import, kept between their preview and their confirmation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, LargeBinary, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from foncier.models.base import Base


class PendingImportFile(Base):
    """One uploaded file of a pending import (a batch is one preview, one or two files).

    Only the person who uploaded it can confirm it; confirmed or abandoned batches are
    deleted (abandoned ones after a day, see foncier.inventory.staged_imports).
    """

    __tablename__ = "pending_import_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch: Mapped[str] = mapped_column(String(43), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    # What the file is for: "sites" or "terrains" (CNIG CSV), or "geo" (GeoJSON, GeoPackage).
    role: Mapped[str] = mapped_column(String(10))
    filename: Mapped[str] = mapped_column(Text)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
