"""Signed-in sessions, kept on the server.

The browser's cookie holds a random key; the database holds its hash (a stolen backup opens
no session), the account and when it was opened. A session is valid while its row exists and
is younger than the platform's session lifetime: signing out deletes the row, so a copy of
the cookie replayed afterwards opens nothing; a password change or closing the account deletes
every row of the account.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from foncier.models import Epci, User, WebSession


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def open_session(
    session: Session, user: User, lifetime: timedelta, now: datetime | None = None
) -> str:
    """A new session of ``user``; returns the key for the cookie. Sessions of any account
    that have outlived ``lifetime`` are deleted on the way: nothing else needs to purge."""
    moment = now or datetime.now(UTC)
    session.execute(delete(WebSession).where(WebSession.opened_at <= moment - lifetime))
    key = secrets.token_urlsafe(32)
    session.add(WebSession(key_hash=_hash(key), user_id=user.id, opened_at=moment))
    session.flush()
    return key


def user_of_session(
    session: Session, key: str, lifetime: timedelta, now: datetime | None = None
) -> User | None:
    """The active account whose live session has this key, or None.

    Every page shows the account's EPCI by name: it comes in the same query, without the
    EPCI's outline (hundreds of kilobytes that no page header needs)."""
    moment = now or datetime.now(UTC)
    return session.scalar(
        select(User)
        .options(joinedload(User.epci).load_only(Epci.siren, Epci.nom))
        .join(WebSession, WebSession.user_id == User.id)
        .where(
            WebSession.key_hash == _hash(key),
            WebSession.opened_at > moment - lifetime,
            User.active,
        )
    )


def end_session(session: Session, key: str) -> None:
    """Sign out: the key opens nothing any more."""
    session.execute(delete(WebSession).where(WebSession.key_hash == _hash(key)))


def end_all_sessions(session: Session, user: User) -> None:
    """End every session of ``user``, on every device (a new password, a closed account)."""
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
