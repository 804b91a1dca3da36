"""Matching: the plots on offer as the engine reads them, kept up to date by triggers.

Tables from foncier.models.matching (autogenerate finds no difference afterwards); the view
matching_plot_source and the triggers are in sql/views/ and sql/triggers/. The tables are
filled from the inventory already there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 23:40:00.000000
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SQL = Path(__file__).resolve().parents[2]
TRIGGERS = (
    ("matching_terrain_insert", "terrain"),
    ("matching_terrain_update", "terrain"),
    ("matching_terrain_delete", "terrain"),
    ("matching_terrain_truncate", "terrain"),
    ("matching_site_update", "site"),
    ("matching_zone_insert", "constraint_zone"),
    ("matching_zone_update", "constraint_zone"),
    ("matching_zone_delete", "constraint_zone"),
    ("matching_zone_truncate", "constraint_zone"),
)
FUNCTIONS = (
    "matching_lock_zones(boolean)",
    "matching_lock_parks(text[])",
    "matching_refresh_plots(text[])",
    "matching_count_plots(bigint)",
    "matching_rebuild()",
    "matching_terrain_inserted()",
    "matching_terrain_updated()",
    "matching_terrain_deleted()",
    "matching_terrain_truncated()",
    "matching_site_updated()",
    "matching_zones_changed()",
    "matching_zones_truncated()",
)


def upgrade() -> None:
    op.create_table(
        "matching_plot",
        sa.Column("terr_id", sa.String(length=23), nullable=False),
        sa.Column("site_id", sa.String(length=20), nullable=False),
        sa.Column("surface_ha", sa.Double(), nullable=False),
        sa.Column("smallest_lot_ha", sa.Double(), nullable=False),
        sa.Column("price_eur_m2", sa.Double(), nullable=True),
        sa.Column("icpe_rank", sa.SmallInteger(), nullable=False),
        sa.Column("networks", sa.SmallInteger(), nullable=False),
        sa.Column("power_kva", sa.Double(), nullable=True),
        sa.Column("available_day", sa.Integer(), nullable=False),
        sa.Column("turnkey", sa.Boolean(), nullable=True),
        sa.Column("height_max_m", sa.Double(), nullable=True),
        sa.Column("motorway_km", sa.Double(), nullable=True),
        sa.Column("zones", sa.SmallInteger(), nullable=False),
        sa.Column("x", sa.Double(), nullable=False),
        sa.Column("y", sa.Double(), nullable=False),
        sa.Column("facts", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("terr_id", name=op.f("pk_matching_plot")),
    )
    op.create_table(
        "matching_plot_count",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matching_plot_count")),
    )
    op.execute((SQL / "views" / "matching_plot_source_v1.sql").read_text(encoding="utf-8"))
    op.execute((SQL / "triggers" / "matching_plot_v1.sql").read_text(encoding="utf-8"))
    op.execute("SELECT matching_rebuild()")


def downgrade() -> None:
    for trigger, table in TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")
    op.execute("DROP VIEW matching_plot_source")
    op.drop_table("matching_plot_count")
    op.drop_table("matching_plot")
