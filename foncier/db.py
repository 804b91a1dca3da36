"""Engine and session handling: operations flush, the caller (request or command) commits once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

# Registers the audit trail on every session: no inventory change can bypass it.
from foncier import audit  # noqa: F401
from foncier.config import normalise_database_url


def make_engine(database_url: str, **kwargs: object) -> Engine:
    return create_engine(normalise_database_url(database_url), pool_pre_ping=True, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # Objects stay readable after commit: views render them after the request committed.
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit if the block succeeds, roll everything back otherwise."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
