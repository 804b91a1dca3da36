"""Fixtures: one throwaway PostGIS cluster per test session, one rolled-back transaction a test.

A template database is migrated, loaded with the real Indre-et-Loire territory and the demo
inventory once per test session, then closed; the session database and every database a module
needs for itself (``database_builder``) are copies of it (``CREATE DATABASE … TEMPLATE``, a
fraction of a second instead of seconds). Each test then runs inside a transaction that is
rolled back (SQLAlchemy's "join a session into an external transaction" recipe), so tests see
real data and leave nothing behind. Set FONCIER_TEST_SERVER_URL (e.g.
postgresql://me@localhost:5432/postgres) to use an existing server instead of a throwaway
cluster.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher
from flask import Flask
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from psycopg import sql
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from foncier.accounts import passwords
from foncier.core import audit, migrations
from foncier.core.config import normalise_database_url
from foncier.core.db import make_engine
from foncier.core.permissions import Actor
from foncier.core.pgcluster import Cluster, free_port
from foncier.territory import datafrance
from seed import demo

# The reference material next to the checkout (CI provides it); FONCIER_SHARED_DIR overrides.
SHARED = Path(
    os.environ.get("FONCIER_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared"
)


TEST_ACTOR = Actor.system("tests")


@pytest.fixture(scope="session", autouse=True)
def production_password_hasher() -> Iterator[PasswordHasher]:
    """Tests hash and check passwords with argon2id at its lowest cost: at the production cost
    (RFC 9106's low-memory profile, a tenth of a second a hash or a check, on purpose) the
    demo's accounts, sign-ins and throttling tests spent 20 s doing it. Gives the production
    hasher, whose cost tests/accounts/test_password_cost.py checks."""
    production = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    passwords.unusable_hash.cache_clear()
    yield production
    passwords._hasher = production
    passwords.unusable_hash.cache_clear()


class CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, kept for the whole test session (code objects, immutable;
    a template whose source changed is compiled again)."""

    def __init__(self) -> None:
        self.compiled: dict[str, tuple[str, object]] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        checksum, code = self.compiled.get(bucket.key, (None, None))
        if checksum == bucket.checksum:
            bucket.code = code

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.compiled[bucket.key] = (bucket.checksum, bucket.code)


@pytest.fixture(scope="session", autouse=True)
def compiled_templates() -> Iterator[CompiledTemplates]:
    """Every test builds an application of its own, whose new Jinja environment would compile
    again each template it renders (some 35 ms a test): the applications of the tests share
    the compiled templates instead, and nothing else."""
    saved = Flask.jinja_options
    Flask.jinja_options = {**saved, "bytecode_cache": CompiledTemplates()}
    yield Flask.jinja_options["bytecode_cache"]
    Flask.jinja_options = saved


class PostgresServer:
    """Creates PostGIS databases on a server, throwaway or given."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = normalise_database_url(admin_url)
        self.created: list[str] = []

    def _execute(self, statement: sql.Composable) -> None:
        plain = self.admin_url.replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(statement)

    def create_database(self, prefix: str, template: str | None = None) -> str:
        """A new database (an empty one, or a copy of the database ``template``): its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        self._execute(statement)
        self.created.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def close_for_copies(self, url: str) -> str:
        """Refuse new connections to the database at ``url``, so that it can be copied (its
        own connections must all be closed already): its name."""
        name = make_url(url).database
        assert name is not None
        self._execute(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(name))
        )
        return name

    def drop_created_databases(self) -> None:
        for name in self.created:
            self._execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    given = os.environ.get("FONCIER_TEST_SERVER_URL")
    if given:
        server = PostgresServer(given)
        yield server
        server.drop_created_databases()  # a shared server keeps no test leftovers
        return
    with tempfile.TemporaryDirectory(prefix="foncier-test-pg-") as root:
        os.chmod(root, 0o755)  # the postgres system user must reach it when we run as root
        cluster = Cluster(Path(root), free_port())
        cluster.init()
        cluster.start(durable=False)
        try:
            yield PostgresServer(cluster.url())
        finally:
            cluster.stop()


def committed(step: Callable[[Session], object]) -> Callable[[str], None]:
    """``step`` run on the database at a URL in a session of the tests' actor, committed; every
    connection closed afterwards (PostgreSQL copies no database that has connections)."""

    def run(url: str) -> None:
        engine = make_engine(url)
        try:
            with Session(engine) as session:
                audit.acting_as(session, TEST_ACTOR)
                step(session)
                session.commit()
        finally:
            engine.dispose()

    return run


# What a test database holds, each level a copy of the one it starts from with one more step
# (level -> (level it starts from, what is added to it)).
CONTENTS: dict[str, tuple[str | None, Callable[[str], None]]] = {
    "schema": (None, migrations.upgrade),  # migrated, empty
    # ... with the communes and EPCIs of Indre-et-Loire
    "territory": ("schema", committed(lambda session: datafrance.load_departement(session, "37"))),
    # ... with the demo inventory and accounts; the demo's projects stay out: tests record
    # their own (tests/demo/test_demo_cases.py builds the demo's on top of this database).
    "demo": ("territory", committed(lambda session: demo.seed_demo(session, with_cases=False))),
}


class DatabaseBuilder:
    """Test databases copied from templates built once per test session, on first use."""

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self.templates: dict[str, str] = {}

    def template(self, contents: str) -> str:
        """The name of the template database holding ``contents``, built the first time."""
        if contents not in self.templates:
            start, step = CONTENTS[contents]
            url = self.server.create_database(
                f"foncier_template_{contents}", start and self.template(start)
            )
            step(url)
            self.templates[contents] = self.server.close_for_copies(url)
        return self.templates[contents]

    def __call__(self, prefix: str, contents: str = "demo") -> str:
        """A new database (name prefix -> URL) holding ``contents`` (see CONTENTS), committed:
        by default like the session database."""
        return self.server.create_database(prefix, self.template(contents))


@pytest.fixture(scope="session")
def database_builder(pg_server: PostgresServer) -> DatabaseBuilder:
    """Build another database like the session one, or with less in it (see CONTENTS)."""
    return DatabaseBuilder(pg_server)


@pytest.fixture(scope="session")
def database_url(database_builder: DatabaseBuilder) -> str:
    """The session database, which tests use inside rolled-back transactions."""
    return database_builder("foncier_test")


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@contextmanager
def rolled_back_connection(engine: Engine) -> Iterator[Connection]:
    """A connection whose outer transaction is rolled back when the block ends."""
    with engine.connect() as connection:
        outer = connection.begin()
        try:
            yield connection
        finally:
            outer.rollback()


def savepoint_sessions(connection: Connection) -> sessionmaker[Session]:
    """Sessions that commit into savepoints of the connection's transaction."""
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture(scope="session")
def rolled_back_session() -> Callable[[Engine], AbstractContextManager[Session]]:
    """Open a session on any test database; everything it did is rolled back afterwards."""

    @contextmanager
    def open_session(engine: Engine) -> Iterator[Session]:
        with rolled_back_connection(engine) as connection, savepoint_sessions(connection)() as s:
            audit.acting_as(s, TEST_ACTOR)
            yield s

    return open_session


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with rolled_back_connection(engine) as connection:
        yield connection


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    return savepoint_sessions(connection)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose changes are audited as made by the system actor ``tests``."""
    with session_factory() as session:
        audit.acting_as(session, TEST_ACTOR)
        yield session


@pytest.fixture(scope="session")
def plots_by_flood_risk(engine: Engine) -> dict[bool, str]:
    """The first plot (by id) in the demo's flood zone (True) and the first outside any zone."""
    in_a_zone = (
        "EXISTS (SELECT 1 FROM constraint_zone z WHERE z.zone_type = 'inondation' "
        "AND ST_Intersects(t.terr_geomsurf, z.geom))"
    )
    with engine.connect() as connection:
        return {
            flooded: connection.execute(
                text(f"SELECT t.terr_id FROM terrain t WHERE {test} ORDER BY t.terr_id LIMIT 1")
            ).scalar_one()
            for flooded, test in ((True, in_a_zone), (False, f"NOT {in_a_zone}"))
        }


@pytest.fixture
def shared_dir() -> Path:
    """../shared: reference material CI provides (standards, field data) for tests only."""
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is missing: tests need the shared reference material")
    return SHARED
