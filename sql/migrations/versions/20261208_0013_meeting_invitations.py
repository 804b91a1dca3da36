"""Meeting invitations: a calendar attachment on outbox messages, a sequence on meetings.

Issue 12, « Meetings »: an invitation carries an iCalendar part (its text and its METHOD,
REQUEST or CANCEL); a meeting's SEQUENCE counts the changes of its date or place, so that
calendars replace the event they hold (docs/meetings.md).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 06:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox_message", sa.Column("calendar", sa.Text(), nullable=True))
    op.add_column("outbox_message", sa.Column("calendar_method", sa.Text(), nullable=True))
    op.create_check_constraint(
        op.f("ck_outbox_message_calendar_with_method"),
        "outbox_message",
        "(calendar IS NULL) = (calendar_method IS NULL)",
    )
    op.add_column(
        "meeting", sa.Column("sequence", sa.Integer(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("meeting", "sequence")
    op.drop_constraint(
        op.f("ck_outbox_message_calendar_with_method"), "outbox_message", type_="check"
    )
    op.drop_column("outbox_message", "calendar_method")
    op.drop_column("outbox_message", "calendar")
