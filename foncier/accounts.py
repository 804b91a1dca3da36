"""Accounts: creation by the network's managers, one-time password links, sign-in.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended
profile). A new account has no password: its owner sets one through a one-time link, valid
for LINK_VALIDITY, of which only a SHA-256 hash is stored. Sign-in is slowed down per e-mail
and per address: after MAX_FAILURES_PER_EMAIL failures in THROTTLE_WINDOW, that e-mail is
refused until the window has passed, even with the right password.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from foncier.errors import FoncierError, NotFoundError, ValidationError
from foncier.models import Epci, LoginAttempt, PasswordToken, User
from foncier.permissions import Actor, Role

LINK_VALIDITY: Final = timedelta(days=7)
THROTTLE_WINDOW: Final = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL: Final = 5
MAX_FAILURES_PER_ADDRESS: Final = 20
MIN_PASSWORD_LENGTH: Final = 12
EMAIL_PATTERN: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_hasher = PasswordHasher()


class LoginThrottledError(FoncierError):
    """Too many failed sign-ins for this e-mail or from this address: wait and retry."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


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


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    session: Session,
    actor: Actor,
    *,
    email: str,
    nom: str,
    role: Role,
    epci_siren: str | None = None,
    password: str | None = None,
    is_demo: bool = False,
) -> User:
    """A new account (flushed). Without a password, its owner sets one with a one-time link."""
    actor.require_account_management()
    email = normalise_email(email)
    errors = _account_errors(session, email, nom, role, epci_siren)
    if password is not None:
        try:
            check_password_strength(password)
        except ValidationError as error:
            errors.update(error.errors)
    if errors:
        raise ValidationError(errors)
    user = User(
        email=email,
        nom=nom.strip(),
        role=role.value,
        epci_siren=epci_siren if role is Role.REFERENT else None,
        password_hash=hash_password(password) if password is not None else None,
        is_demo=is_demo,
    )
    session.add(user)
    session.flush()
    return user


def _account_errors(
    session: Session, email: str, nom: str, role: Role, epci_siren: str | None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not EMAIL_PATTERN.match(email):
        errors["email"] = "Adresse électronique invalide."
    elif session.scalar(select(User.id).where(User.email == email)) is not None:
        errors["email"] = "Un compte existe déjà avec cette adresse."
    if not nom.strip():
        errors["nom"] = "Indiquez le nom de la personne."
    if role is Role.REFERENT:
        if not epci_siren:
            errors["epci_siren"] = "Un référent est rattaché à un EPCI : choisissez-le."
        elif session.get(Epci, epci_siren) is None:
            errors["epci_siren"] = f"EPCI inconnu : {epci_siren}."
    return errors


def issue_password_link(session: Session, user: User, now: datetime | None = None) -> str:
    """A new one-time token for ``user`` to set their password; return it (store its hash)."""
    token = secrets.token_urlsafe(32)
    issued = now or datetime.now(UTC)
    session.add(
        PasswordToken(token_hash=_token_hash(token), user=user, expires_at=issued + LINK_VALIDITY)
    )
    session.flush()
    return token


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_for_token(session: Session, token: str, now: datetime | None = None) -> User:
    """The account a valid, unused token opens; NotFoundError for any other token."""
    row = session.get(PasswordToken, _token_hash(token))
    if row is None or row.used_at is not None or row.expires_at <= (now or datetime.now(UTC)):
        raise NotFoundError("Ce lien n’est pas valide : il a expiré ou a déjà servi.")
    return row.user


def set_password_with_token(
    session: Session, token: str, password: str, now: datetime | None = None
) -> User:
    """Set the password of the token's account and spend the token (and its older ones)."""
    moment = now or datetime.now(UTC)
    user = user_for_token(session, token, moment)
    check_password_strength(password)
    _replace_password(user, password)
    for row in session.scalars(select(PasswordToken).where(PasswordToken.user_id == user.id)):
        row.used_at = row.used_at or moment
    session.flush()
    return user


def change_password(session: Session, user: User, current: str, new: str) -> None:
    if not password_matches(user.password_hash, current):
        raise ValidationError({"current_password": "Mot de passe actuel incorrect."})
    check_password_strength(new)
    _replace_password(user, new)
    session.flush()


def _replace_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.session_epoch += 1  # signs out the sessions opened with the old password


def authenticate(
    session: Session,
    email: str,
    password: str,
    remote_addr: str | None,
    now: datetime | None = None,
) -> User | None:
    """The active account these credentials open, or None; every attempt is recorded.

    Raises LoginThrottledError when this e-mail or address failed too often recently.
    """
    moment = now or datetime.now(UTC)
    email = normalise_email(email)
    _check_throttle(session, email, remote_addr, moment)
    user = session.scalar(select(User).where(User.email == email, User.active))
    succeeded = user is not None and password_matches(user.password_hash, password)
    session.add(LoginAttempt(email=email, remote_addr=remote_addr, succeeded=succeeded, at=moment))
    if succeeded:
        user.last_login_at = moment
    session.flush()
    return user if succeeded else None


def _recent_failures(session: Session, since: datetime, *criteria: object) -> int:
    return session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(~LoginAttempt.succeeded, LoginAttempt.at > since, *criteria)
    )


def _check_throttle(session: Session, email: str, remote_addr: str | None, now: datetime) -> None:
    since = now - THROTTLE_WINDOW
    if _recent_failures(session, since, LoginAttempt.email == email) >= MAX_FAILURES_PER_EMAIL or (
        remote_addr is not None
        and _recent_failures(session, since, LoginAttempt.remote_addr == remote_addr)
        >= MAX_FAILURES_PER_ADDRESS
    ):
        minutes = int(THROTTLE_WINDOW.total_seconds() // 60)
        raise LoginThrottledError(
            f"Trop de tentatives de connexion infructueuses : réessayez dans {minutes} minutes."
        )


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.role, User.epci_siren, User.email)))
