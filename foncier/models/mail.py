"""E-mails the platform sends: a transactional outbox.

A step writes its messages as rows of ``outbox_message`` in its own transaction (pending); a
sender delivers them after the commit (foncier.messaging.delivery), records each attempt, and
retries with a growing delay until the message is sent or has failed for good.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from foncier.models.base import Base
from foncier.models.prospects import one_of

PENDING: Final = "pending"
SENT: Final = "sent"
FAILED: Final = "failed"
OUTBOX_STATUSES: Final = (PENDING, SENT, FAILED)


class OutboxMessage(Base):
    __tablename__ = "outbox_message"
    __table_args__ = (
        one_of("status", OUTBOX_STATUSES),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_when_dated"),
        CheckConstraint(
            "(calendar IS NULL) = (calendar_method IS NULL)", name="calendar_with_method"
        ),
        # What a sender looks for: the pending messages that are due, oldest first.
        Index(
            "ix_outbox_message_due",
            "next_attempt_at",
            "id",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    recipient: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    # A pending message is not tried before this moment (the back-off after a failure).
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # An iCalendar attachment (a meeting's invitation), and its METHOD: REQUEST or CANCEL.
    calendar: Mapped[str | None] = mapped_column(Text)
    calendar_method: Mapped[str | None] = mapped_column(Text)
