"""The search log: each search run from a company project and its top 10 results.

What the network's balances need for each EPCI's exposure share, and what the learning of
weights (issue 14) will read: the needs (never the company) and, per rank, the plot, its EPCI
at the time, its score and each criterion's value (foncier.models.search_log).
Written by hand (autogenerate finds no difference with foncier.models afterwards).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 06:00:00.000000
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prospect_id", sa.Integer(), nullable=False),
        sa.Column(
            "ran_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("needs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["prospect_id"],
            ["prospect.id"],
            name=op.f("fk_search_run_prospect_id_prospect"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_run")),
    )
    op.create_index(op.f("ix_search_run_prospect_id"), "search_run", ["prospect_id"])
    op.create_index(op.f("ix_search_run_ran_at"), "search_run", ["ran_at"])
    op.create_table(
        "search_result",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.SmallInteger(), nullable=False),
        sa.Column("terr_id", sa.String(length=23), nullable=False),
        sa.Column("epci_siren", sa.String(length=9), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("criteria", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint("rank >= 1", name=op.f("ck_search_result_rank_from_one")),
        sa.ForeignKeyConstraint(
            ["epci_siren"], ["epci.siren"], name=op.f("fk_search_result_epci_siren_epci")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["search_run.id"],
            name=op.f("fk_search_result_run_id_search_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "rank", name=op.f("pk_search_result")),
    )
    op.create_index(op.f("ix_search_result_epci_siren"), "search_result", ["epci_siren"])


def downgrade() -> None:
    op.drop_table("search_result")
    op.drop_table("search_run")
