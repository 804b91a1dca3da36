"""Schema migrations (Alembic scripts under sql/migrations), driven from the foncier CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from geoalchemy2 import alembic_helpers

from foncier.core.config import normalise_database_url

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "sql" / "migrations"


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """What autogenerate compares: our tables, not PostGIS's own (spatial_ref_sys)."""
    if type_ == "table" and name == "spatial_ref_sys":
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Passed as an attribute, not an option, so that '%' in passwords needs no escaping.
    config.attributes["database_url"] = normalise_database_url(database_url)
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ProgrammingError

    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except ProgrammingError:
        return None
    finally:
        engine.dispose()


def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS_DIR))


def head_revision() -> str:
    """The revision this code's migrations end at (what `foncier db upgrade` migrates to)."""
    head = _scripts().get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    """Every revision this code's migrations know."""
    return {script.revision for script in _scripts().walk_revisions()}
