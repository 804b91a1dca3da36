"""One database session per request: committed once if the request succeeds, else rolled back.

After the commit, the e-mails the request queued (outbox rows) are tried at once; a mail server
that fails leaves them pending for ``foncier mail send-pending``, and the response is the same.
Requests carrying what PostgreSQL text cannot hold are refused before any view runs.
"""

from __future__ import annotations

from flask import Flask, Response, abort, current_app, g, request
from sqlalchemy.orm import Session, sessionmaker

from foncier.core.config import database_url_from_env
from foncier.core.db import make_engine, make_session_factory
from foncier.messaging.delivery import deliver_now
from foncier.messaging.mail import MailSettings, links_start_with, take_queued

EXTENSION = "foncier.sessions"
# PostgreSQL text cannot hold this character: psycopg refuses any value carrying it.
NUL = "\x00"
# Connections kept open per process (SQLAlchemy's default); `foncier serve` gives one a thread.
DEFAULT_POOL_SIZE = 5


def init_app(app: Flask) -> None:
    factory = app.config.get("SESSION_FACTORY")
    if factory is None:
        url = app.config.get("DATABASE_URL") or database_url_from_env()
        pool_size = app.config.get("DATABASE_POOL_SIZE", DEFAULT_POOL_SIZE)
        factory = make_session_factory(make_engine(url, pool_size=pool_size))
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
    """The request's session, opened on first use; the links of the messages it queues start
    with FONCIER_BASE_URL, or else the address the platform is reached at."""
    if "db_session" not in g:
        factory: sessionmaker[Session] = current_app.extensions[EXTENSION]
        g.db_session = factory()
        links_start_with(g.db_session, _mail_settings().base_url or request.host_url)
    return g.db_session


def _mail_settings() -> MailSettings:
    return current_app.config["MAIL_SETTINGS"]


def _end_unit_of_work(response: Response) -> Response:
    # Error responses (including the 500 page) never commit what the request had flushed.
    session: Session | None = g.get("db_session")
    if session is not None:
        if response.status_code < 400:
            session.commit()
            _deliver(take_queued(session))
        else:
            session.rollback()
            take_queued(session)  # rolled back with the rest: nothing to send
    return response


def _deliver(queued: list[int]) -> None:
    """Try the messages the request just committed. Failures are recorded on their rows by
    deliver_now; anything else going wrong is logged only: the step is committed, its
    response must not fail, and the rows stay pending for the next sender."""
    if not queued:
        return
    factory: sessionmaker[Session] = current_app.extensions[EXTENSION]
    try:
        deliver_now(factory, _mail_settings(), queued)
    except Exception:
        current_app.logger.exception("outbox messages %s: delivery after commit failed", queued)


def _close_session(_error: BaseException | None) -> None:
    # Closing rolls back whatever was not committed, e.g. after an unhandled exception.
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()
