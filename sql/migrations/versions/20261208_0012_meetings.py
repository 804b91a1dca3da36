"""The network's meetings: the meeting, its invited members and their attendance.

Issue 12, « Meetings » (foncier.models.meetings, docs/meetings.md).
Written by hand (autogenerate finds no difference with foncier.models afterwards).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 06:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.Text(), nullable=True),
        sa.Column("video_url", sa.Text(), nullable=True),
        sa.Column("chair_siren", sa.String(length=9), nullable=False),
        sa.Column("status", sa.Text(), server_default="planned", nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('planned', 'held', 'minutes_published', 'cancelled')",
            name=op.f("ck_meeting_status_known"),
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_meeting_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["chair_siren"], ["epci.siren"], name=op.f("fk_meeting_chair_siren_epci")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["app_user.id"],
            name=op.f("fk_meeting_created_by_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting")),
    )
    op.create_index(op.f("ix_meeting_starts_at"), "meeting", ["starts_at"])
    op.create_index(op.f("ix_meeting_chair_siren"), "meeting", ["chair_siren"])
    _create_member_table("meeting_invitee")
    _create_member_table("meeting_attendance", sa.Column("attended", sa.Boolean(), nullable=False))


def _create_member_table(table: str, *extra: sa.Column) -> None:
    """A member of a meeting: the invited ones, and those whose attendance was recorded."""
    op.create_table(
        table,
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        *extra,
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f(f"fk_{table}_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f(f"fk_{table}_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meeting_id", "user_id", name=op.f(f"pk_{table}")),
    )
    op.create_index(op.f(f"ix_{table}_user_id"), table, ["user_id"])


def downgrade() -> None:
    op.drop_table("meeting_attendance")
    op.drop_table("meeting_invitee")
    op.drop_table("meeting")
