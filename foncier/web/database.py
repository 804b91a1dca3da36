"""One database session per request: committed once if the request succeeds, else rolled back.

Requests carrying what PostgreSQL text cannot hold are refused before any view runs.
"""

from __future__ import annotations

from flask import Flask, Response, abort, current_app, g, request
from sqlalchemy.orm import Session, sessionmaker

from foncier.core.config import database_url_from_env
from foncier.core.db import make_engine, make_session_factory

EXTENSION = "foncier.sessions"
# PostgreSQL text cannot hold this character: psycopg refuses any value carrying it.
NUL = "\x00"


def init_app(app: Flask) -> None:
    factory = app.config.get("SESSION_FACTORY")
    if factory is None:
        url = app.config.get("DATABASE_URL") or database_url_from_env()
        factory = make_session_factory(make_engine(url))
    app.extensions[EXTENSION] = factory
    app.before_request(_refuse_nul_characters)
    app.after_request(_end_unit_of_work)
    app.teardown_appcontext(_close_session)


def _refuse_nul_characters() -> None:
    # Once here rather than in every view: no id nor name holds a NUL, so a path with one
    # names nothing, and a parameter with one cannot be a search or a filter.
    if NUL in request.path:
        abort(404)
    if any(NUL in name + value for name, value in request.args.items(multi=True)):
        abort(400, description="parameters cannot contain a NUL character (%00)")


def db_session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        factory: sessionmaker[Session] = current_app.extensions[EXTENSION]
        g.db_session = factory()
    return g.db_session


def _end_unit_of_work(response: Response) -> Response:
    # Error responses (including the 500 page) never commit what the request had flushed.
    session: Session | None = g.get("db_session")
    if session is not None:
        if response.status_code < 400:
            session.commit()
        else:
            session.rollback()
    return response


def _close_session(_error: BaseException | None) -> None:
    # Closing rolls back whatever was not committed, e.g. after an unhandled exception.
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()
