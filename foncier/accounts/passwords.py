"""Passwords and one-time links.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended
profile). A new account has no password: its owner sets one through a one-time link, valid
for LINK_VALIDITY, of which only a SHA-256 hash is stored; issuing a new link revokes the
older ones.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from foncier.accounts.sessions import end_all_sessions
from foncier.core.errors import NotFoundError, ValidationError
from foncier.models import PasswordToken, User

LINK_VALIDITY: Final = timedelta(days=7)
MIN_PASSWORD_LENGTH: Final = 12
# The web path of a one-time link, followed by the token: the web route is declared with
# it and the CLI prints links with it, so that both always agree.
SET_PASSWORD_PATH: Final = "/mot-de-passe/choisir/"
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@functools.cache
def unusable_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def password_matches(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            {"password": f"Le mot de passe doit compter au moins {MIN_PASSWORD_LENGTH} caractères."}
        )


def issue_password_link(session: Session, user: User, now: datetime | None = None) -> str:
    """A new one-time token for ``user`` to set their password; return it (store its hash).

    The account's earlier unused tokens stop working: only the latest link sent is valid.
    """
    token = secrets.token_urlsafe(32)
    issued = now or datetime.now(UTC)
    _spend_tokens(session, user, issued)
    session.add(
        PasswordToken(token_hash=_token_hash(token), user=user, expires_at=issued + LINK_VALIDITY)
    )
    session.flush()
    return token


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _spend_tokens(session: Session, user: User, moment: datetime) -> None:
    unused = select(PasswordToken).where(
        PasswordToken.user_id == user.id, PasswordToken.used_at.is_(None)
    )
    for row in session.scalars(unused):
        row.used_at = moment


def set_password_path(token: str) -> str:
    return SET_PASSWORD_PATH + token


def user_for_token(session: Session, token: str, now: datetime | None = None) -> User:
    """The account a valid, unused token opens; NotFoundError for any other token."""
    row = session.get(PasswordToken, _token_hash(token))
    if (
        row is None
        or row.used_at is not None
        or row.expires_at <= (now or datetime.now(UTC))
        or not row.user.active
    ):
        raise NotFoundError("Ce lien n’est pas valide : il a expiré ou a déjà servi.")
    return row.user


def set_password_with_token(
    session: Session, token: str, password: str, now: datetime | None = None
) -> User:
    """Set the password of the token's account and spend its tokens.

    The person is signed in right away, which counts as their latest sign-in.
    """
    moment = now or datetime.now(UTC)
    user = user_for_token(session, token, moment)
    check_password_strength(password)
    _replace_password(session, user, password)
    _spend_tokens(session, user, moment)
    user.last_login_at = moment
    session.flush()
    return user


def change_password(session: Session, user: User, current: str, new: str) -> None:
    if not password_matches(user.password_hash, current):
        raise ValidationError({"current_password": "Mot de passe actuel incorrect."})
    check_password_strength(new)
    _replace_password(session, user, new)
    session.flush()


def _replace_password(session: Session, user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    end_all_sessions(session, user)  # those opened with the old password included
