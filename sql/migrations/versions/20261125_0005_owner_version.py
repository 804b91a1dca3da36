"""A version on owners: their edits are refused when someone saved in between, as for plots.

Written by hand (autogenerate finds no difference with foncier.models afterwards).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 23:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("owner", sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    op.drop_column("owner", "version")
