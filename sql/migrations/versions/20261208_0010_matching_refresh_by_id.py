"""matching_refresh_plots reads matching_plot_source by an index condition on the plots' ids.

The trigger function of every statement on terrain computed the view for the whole inventory
on offer before keeping the plots it was given (sql/triggers/matching_refresh_plots_v2.sql
says why); the new definition replaces it, nothing else changes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 04:30:00.000000
"""

import re
from pathlib import Path

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TRIGGERS = Path(__file__).resolve().parents[2] / "triggers"


def upgrade() -> None:
    op.execute((TRIGGERS / "matching_refresh_plots_v2.sql").read_text(encoding="utf-8"))


def downgrade() -> None:
    # v1's definition, as matching_plot_v1.sql (which creates every function) wrote it.
    v1 = (TRIGGERS / "matching_plot_v1.sql").read_text(encoding="utf-8")
    found = re.search(r"^CREATE FUNCTION matching_refresh_plots\(.*?^\$\$;$", v1, re.M | re.S)
    assert found is not None, "matching_refresh_plots is no longer in matching_plot_v1.sql"
    op.execute("CREATE OR REPLACE" + found.group(0).removeprefix("CREATE"))
