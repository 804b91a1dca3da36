"""Fixtures of the CNIG and constraint-zone tests.

The demo inventory of the session database is exported once; tests edit copies of those files
in tmp_path. A second database holds the territory and no inventory, for imports that must
start from nothing (round trips) and for CLI commands, which commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cnig_helpers import CsvTable, inventory_checksum
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from foncier.core.db import make_engine
from foncier.core.errors import ImportRejectedError
from foncier.inventory.cnig import export_cnig
from foncier.inventory.cnig.issues import Issue


@pytest.fixture(scope="session")
def demo_export(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo inventory as pure CNIG files, confidential columns included (a referent's full
    export, which imports back without change); read-only, tests edit copies."""
    outdir = tmp_path_factory.mktemp("demo-export")
    with Session(engine) as session:
        export_cnig(session, outdir, confidential=True)
    return outdir


@pytest.fixture(scope="session")
def demo_export_with_extensions(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("demo-export-with-extensions")
    with Session(engine) as session:
        export_cnig(session, outdir, confidential=True, with_extensions=True)
    return outdir


@pytest.fixture
def sites_table(demo_export: Path) -> CsvTable:
    return CsvTable.read(demo_export / "site-eco.csv")


@pytest.fixture
def terrains_table(demo_export_with_extensions: Path) -> CsvTable:
    """The demo plots with foncier's extension columns."""
    return CsvTable.read(demo_export_with_extensions / "terrain-eco.csv")


@pytest.fixture
def refused(session: Session) -> Callable[..., list[Issue]]:
    """Run an import that must be refused; check it wrote nothing and return its issues."""

    def run(importer: Callable[..., object], *args: object, **kwargs: object) -> list[Issue]:
        before = inventory_checksum(session)
        with pytest.raises(ImportRejectedError) as caught:
            importer(session, *args, **kwargs)
        session.expire_all()
        assert inventory_checksum(session) == before
        assert not caught.value.report.accepted
        return caught.value.report.issues

    return run


@pytest.fixture(scope="session")
def territory_only_engine(database_builder) -> Iterator[Engine]:
    """A database with the Indre-et-Loire territory and no inventory."""
    engine = make_engine(database_builder("foncier_cnig", "territory"))
    yield engine
    engine.dispose()


@pytest.fixture
def empty_session(territory_only_engine: Engine, rolled_back_session) -> Iterator[Session]:
    """A session on the inventory-free database, rolled back after the test."""
    with rolled_back_session(territory_only_engine) as session:
        yield session


@pytest.fixture
def cli_database(territory_only_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """DATABASE_URL for CLI commands, which commit: the inventory is emptied afterwards."""
    url = territory_only_engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    with territory_only_engine.begin() as connection:
        connection.execute(text("TRUNCATE owner, terrain, site, constraint_zone CASCADE"))
