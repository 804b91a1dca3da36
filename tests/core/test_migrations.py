"""The schema is built by the migrations alone, from an empty database, and matches the models."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from foncier.core import migrations
from foncier.core.db import make_engine
from foncier.models import Base

SPATIAL_TABLES = ("epci", "commune", "site", "terrain", "etablissement", "constraint_zone")


@pytest.fixture(scope="module")
def empty_database_url(pg_server):
    return pg_server.create_database("foncier_migrations")


def test_upgrade_from_empty_creates_postgis_and_every_table(empty_database_url):
    migrations.upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT postgis_version()")).scalar()
        tables = set(inspect(connection).get_table_names())
        views = set(inspect(connection).get_view_names())
    engine.dispose()
    assert set(Base.metadata.tables) <= tables
    assert "site_summary" in views
    assert migrations.current_revision(empty_database_url) is not None


def test_migrated_schema_matches_the_models(empty_database_url):
    migrations.upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": migrations.include_object}
        )
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_downgrade_to_base_then_upgrade_again(empty_database_url):
    migrations.upgrade(empty_database_url)
    config = migrations.alembic_config(empty_database_url)
    command.downgrade(config, "base")
    assert migrations.current_revision(empty_database_url) is None
    migrations.upgrade(empty_database_url)
    assert migrations.current_revision(empty_database_url) is not None


@pytest.mark.parametrize("table", SPATIAL_TABLES)
def test_geometries_are_lambert93_with_gist_indexes(connection, table):
    srids = (
        connection.execute(
            text("SELECT srid FROM geometry_columns WHERE f_table_name = :table"), {"table": table}
        )
        .scalars()
        .all()
    )
    assert srids and set(srids) == {2154}
    indexes = (
        connection.execute(
            text("SELECT indexdef FROM pg_indexes WHERE tablename = :table"), {"table": table}
        )
        .scalars()
        .all()
    )
    assert any("USING gist" in definition for definition in indexes)


def test_code_lists_are_enforced_by_the_database(connection):
    with (
        pytest.raises(IntegrityError, match="ck_terrain_terr_stade_comm_code_list"),
        connection.begin_nested(),
    ):
        connection.execute(
            text(
                "UPDATE terrain SET terr_stade_comm = 'bidon' WHERE terr_id = "
                "(SELECT min(terr_id) FROM terrain)"
            )
        )
