"""Alembic environment: online migrations only, against DATABASE_URL or the URL given by foncier."""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine

from foncier.core.config import database_url_from_env
from foncier.core.migrations import include_object
from foncier.models import Base

config = context.config


def run_migrations_online() -> None:
    url = config.attributes.get("database_url") or database_url_from_env()
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_object=include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
