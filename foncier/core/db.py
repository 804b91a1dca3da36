"""Engine and session handling: operations flush, the caller (request or command) commits once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Engine, create_engine, inspect, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

# Registers the audit trail on every session: no inventory change can bypass it.
from foncier.core import audit
from foncier.core.config import normalise_database_url
from foncier.core.errors import NotFoundError, StaleVersionError
from foncier.models import Base

Row = TypeVar("Row", bound=Base)


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


def locked_row(session: Session, model: type[Row], key: object) -> Row:
    """The row as committed now, locked until the transaction ends (NotFoundError if none).

    Two people acting on the same row at once wait for each other; the second then reads
    what the first committed. (The lock is taken by a plain query on the primary key:
    SQLAlchemy refuses to load FOR UPDATE over an instance of the session that holds an older
    version.)
    """
    primary_key = inspect(model).primary_key[0]
    session.execute(select(primary_key).where(primary_key == key).with_for_update())
    return get_or_raise(session, model, key, populate_existing=True)


def get_or_raise(
    session: Session,
    model: type[Row],
    key: object,
    message: str | None = None,
    *,
    populate_existing: bool = False,
) -> Row:
    """The row of ``model`` whose primary key is ``key``, or NotFoundError with ``message``
    (by default « no <table> <key> », in English: the web answers its French 404 page, the
    API and the CLI print the message).

    The one place the core says "missing"; whether the actor may read or change the row is
    the caller's check, made right after (like flaskr's ``get_post(id, check_author)``).
    """
    row = session.get(model, key, populate_existing=populate_existing)
    if row is None:
        raise NotFoundError(message or f"no {model.__tablename__} {key!r}")
    return row


@contextmanager
def saving(session: Session, record: Base, reason: str, stale_message: str) -> Iterator[None]:
    """Write the changes made in the block to the versioned ``record`` under the audit
    ``reason``, or raise StaleVersionError(``stale_message``) with the record as it is now.

    The version check compares with the version read at the start of the request; a save
    committed by someone else after that read makes the UPDATE match no row (StaleDataError).
    The savepoint keeps the session usable, to show the record as it is now.
    """
    try:
        with session.begin_nested(), audit.reason(session, reason):
            yield  # the reason block flushes: the change and its audit event are written
    except StaleDataError:
        session.refresh(record)
        raise StaleVersionError(stale_message, record) from None
