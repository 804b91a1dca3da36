"""Sessions are kept on the server: signing out ends the session, not only the cookie.

Each signed-in session is a row of web_session (the hash of the key its cookie holds); the
account's session_epoch, which could only end every session at once, goes. Sessions opened
before this migration end: their cookies hold no key.
Written by hand (autogenerate finds no difference with foncier.models afterwards).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "opened_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_web_session_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_web_session")),
    )
    op.create_index(op.f("ix_web_session_user_id"), "web_session", ["user_id"])
    op.create_index(op.f("ix_web_session_opened_at"), "web_session", ["opened_at"])
    op.drop_column("app_user", "session_epoch")


def downgrade() -> None:
    op.add_column(
        "app_user",
        sa.Column("session_epoch", sa.Integer(), server_default="1", nullable=False),
    )
    op.drop_table("web_session")
