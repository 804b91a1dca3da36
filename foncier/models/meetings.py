"""The network's meetings: when and where, the chairing EPCI, who is invited and who came.

Written by foncier.meetings.planning. A meeting's status moves planned → held → minutes
published; a planned meeting may be cancelled instead (docs/meetings.md, « Meetings »).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from foncier.models.base import Base, Timestamped
from foncier.models.prospects import one_of

MEETING_STATUSES = ("planned", "held", "minutes_published", "cancelled")


class Meeting(Timestamped, Base):
    """A meeting of the network's référents and coordinator."""

    __tablename__ = "meeting"
    __table_args__ = (
        one_of("status", MEETING_STATUSES),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    place: Mapped[str | None] = mapped_column(Text)
    video_url: Mapped[str | None] = mapped_column(Text)
    chair_siren: Mapped[str] = mapped_column(ForeignKey("epci.siren"), index=True)
    status: Mapped[str] = mapped_column(Text, default="planned", server_default="planned")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The iCalendar SEQUENCE: how many times its date or place changed since the invitation.
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    invitees: Mapped[list[MeetingInvitee]] = relationship(
        order_by="MeetingInvitee.user_id", cascade="all, delete-orphan"
    )
    attendance: Mapped[list[MeetingAttendance]] = relationship(
        order_by="MeetingAttendance.user_id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}


class MeetingInvitee(Base):
    """A member invited to a meeting (the active référents and the coordinator when planned)."""

    __tablename__ = "meeting_invitee"

    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class MeetingAttendance(Base):
    """Whether an invited member came, as recorded at the meeting."""

    __tablename__ = "meeting_attendance"

    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    attended: Mapped[bool] = mapped_column(Boolean)
