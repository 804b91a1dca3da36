"""Read-only views written in SQL (sql/views/), mapped for queries.

They live on their own MetaData so that Alembic's autogenerate never mistakes them for tables.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, Numeric, String, Table

view_metadata = MetaData()

site_summary = Table(
    "site_summary",
    view_metadata,
    Column("site_id", String(20), primary_key=True),
    Column("uf_nbre", Integer),
    Column("uf_vacant_nbre", Integer),
    Column("uf_vacant_a_dater", Integer),
    Column("taux_vacance", Integer),
    Column("uf_bati_nbre", Integer),
    Column("surf_utile_calculee", Numeric),
    Column("surf_disponible", Numeric),
    Column("terrains_disponibles", Integer),
)
