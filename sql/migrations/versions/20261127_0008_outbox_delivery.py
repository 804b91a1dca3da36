"""The mail outbox becomes transactional: each message is a row written with the step that
sends it, delivered after the commit, with its status, attempts, last error and the moment of
its next attempt.

Messages already there were kept by the development outbox backend: they count as sent.
Written by hand (autogenerate finds no difference with foncier.models afterwards).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "outbox_message",
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
    )
    op.add_column(
        "outbox_message",
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "outbox_message",
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.add_column("outbox_message", sa.Column("last_error", sa.Text(), nullable=True))
    op.add_column("outbox_message", sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE outbox_message SET status = 'sent', sent_at = created_at")
    op.create_check_constraint(
        op.f("ck_outbox_message_status_known"),
        "outbox_message",
        "status IN ('pending', 'sent', 'failed')",
    )
    op.create_check_constraint(
        op.f("ck_outbox_message_attempts_not_negative"), "outbox_message", "attempts >= 0"
    )
    op.create_check_constraint(
        op.f("ck_outbox_message_sent_when_dated"),
        "outbox_message",
        "(status = 'sent') = (sent_at IS NOT NULL)",
    )
    op.create_index(
        "ix_outbox_message_due",
        "outbox_message",
        ["next_attempt_at", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_outbox_message_due",
        table_name="outbox_message",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_constraint(op.f("ck_outbox_message_sent_when_dated"), "outbox_message")
    op.drop_constraint(op.f("ck_outbox_message_attempts_not_negative"), "outbox_message")
    op.drop_constraint(op.f("ck_outbox_message_status_known"), "outbox_message")
    for column in ("sent_at", "last_error", "next_attempt_at", "attempts", "status"):
        op.drop_column("outbox_message", column)
