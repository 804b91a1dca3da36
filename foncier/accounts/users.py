"""Accounts: creation by the network's managers, one-time password links, sign-in.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended
profile). A new account has no password: its owner sets one through a one-time link, valid
for LINK_VALIDITY, of which only a SHA-256 hash is stored; issuing a new link revokes the
older ones. Sign-in is slowed down: after MAX_FAILURES_PER_EMAIL failures for one e-mail from
one address in THROTTLE_WINDOW, that e-mail is refused from that address until the window has
passed, even with the right password; an address is stopped after MAX_FAILURES_PER_ADDRESS
failures whatever the e-mails, and an e-mail after MAX_FAILURES_PER_ACCOUNT failures whatever
the addresses (guessing spread over many machines). Counting per address first means that a
stranger typing wrong passwords for the coordinator's e-mail does not lock the coordinator out.

Managing accounts (creating, listing, sending links, deactivating) is for the network-wide
roles: every such function takes the acting person and checks it first, whoever calls it
(a page, the CLI). Only an administrator creates or changes an administrator's account.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from foncier.core.errors import FoncierError, NotFoundError, PermissionDeniedError, ValidationError
from foncier.core.paging import Paging
from foncier.core.permissions import Actor, Role
from foncier.inventory.queries import FRENCH_COLLATION
from foncier.messaging.mail import MailSettings, outbox_page, send_mail
from foncier.models import Epci, LoginAttempt, PasswordToken, User

LINK_VALIDITY: Final = timedelta(days=7)
THROTTLE_WINDOW: Final = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL: Final = 5
MAX_FAILURES_PER_ADDRESS: Final = 20
MAX_FAILURES_PER_ACCOUNT: Final = 50
MIN_PASSWORD_LENGTH: Final = 12
EMAIL_PATTERN: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# The web path of a one-time link, followed by the token: the web route is declared with
# it and the CLI prints links with it, so that both always agree.
SET_PASSWORD_PATH: Final = "/mot-de-passe/choisir/"

_hasher = PasswordHasher()


class LoginThrottledError(FoncierError):
    """Too many failed sign-ins for this e-mail or from this address: wait and retry."""


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
    require_role_management(actor, role)
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


def assignable_roles(actor: Actor) -> list[Role]:
    """The roles ``actor`` may give (an empty list for those who do not manage accounts)."""
    if not actor.can_manage_accounts:
        return []
    return [role for role in Role if role is not Role.ADMIN or actor.role is Role.ADMIN]


def require_role_management(actor: Actor, role: Role) -> None:
    """Refuse unless ``actor`` manages accounts, and administrators' ones for ``role`` admin."""
    actor.require_account_management()
    if role not in assignable_roles(actor):
        raise PermissionDeniedError(
            "Seul un administrateur crée ou modifie le compte d’un administrateur."
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
    _replace_password(user, password)
    _spend_tokens(session, user, moment)
    user.last_login_at = moment
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
    stored_hash = user.password_hash if user is not None else None
    # Without an account (or a password) to check, a throwaway hash is verified all the same:
    # a sign-in takes as long either way, so timing tells nobody which addresses have one.
    matches = password_matches(stored_hash or unusable_hash(), password)
    succeeded = user is not None and stored_hash is not None and matches
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
    same_email = LoginAttempt.email == email
    same_address = LoginAttempt.remote_addr.is_not_distinct_from(remote_addr)
    limits = (
        (MAX_FAILURES_PER_EMAIL, (same_email, same_address)),
        (MAX_FAILURES_PER_ADDRESS, (same_address,)),
        (MAX_FAILURES_PER_ACCOUNT, (same_email,)),
    )
    if any(_recent_failures(session, since, *where) >= limit for limit, where in limits):
        minutes = int(THROTTLE_WINDOW.total_seconds() // 60)
        raise LoginThrottledError(
            f"Trop de tentatives de connexion infructueuses : réessayez dans {minutes} minutes."
        )


class UserSort(StrEnum):
    """Orders of the account list (values are the ``tri`` parameter of the accounts page)."""

    NOM = "nom"
    EMAIL = "email"
    ROLE = "role"
    EPCI = "epci"
    LAST_LOGIN = "connexion"
    ACTIVE = "actif"


def _user_ordering(sort: UserSort) -> tuple[Any, ...]:
    by_email = User.email
    epci_name = Epci.nom.collate(FRENCH_COLLATION)
    return {
        UserSort.NOM: (User.nom.collate(FRENCH_COLLATION), by_email),
        UserSort.EMAIL: (by_email,),
        UserSort.ROLE: (User.role, epci_name, by_email),
        UserSort.EPCI: (epci_name.nulls_last(), User.role, by_email),
        # Most recent first: who is using the platform, then who never came.
        UserSort.LAST_LOGIN: (User.last_login_at.desc().nulls_last(), by_email),
        UserSort.ACTIVE: (User.active.desc(), User.role, by_email),
    }[sort]


def list_users(session: Session, actor: Actor, sort: UserSort = UserSort.ROLE) -> list[User]:
    """Every account, for those who manage them."""
    actor.require_account_management()
    query = select(User).outerjoin(User.epci).order_by(*_user_ordering(sort))
    return list(session.scalars(query))


def get_user(session: Session, actor: Actor, user_id: int) -> User:
    actor.require_account_management()
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"Aucun compte n’a l’identifiant {user_id}.")
    return user


def find_user(session: Session, actor: Actor, email: str) -> User:
    actor.require_account_management()
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFoundError(f"Aucun compte n’a l’adresse {normalise_email(email)}.")
    return user


@dataclass(frozen=True)
class PasswordLink:
    """A one-time link that was just sent to ``user`` (``url`` is absolute)."""

    user: User
    url: str


def invite_user(
    session: Session,
    actor: Actor,
    mail: MailSettings,
    *,
    email: str,
    nom: str,
    role: Role,
    epci_siren: str | None = None,
) -> PasswordLink:
    """Create an account without password and mail its owner a link to choose one."""
    user = create_user(session, actor, email=email, nom=nom, role=role, epci_siren=epci_siren)
    return send_password_link(session, actor, mail, user)


def send_password_link(
    session: Session, actor: Actor, mail: MailSettings, user: User, now: datetime | None = None
) -> PasswordLink:
    """Mail ``user`` a new one-time link (a new account, or a forgotten password).

    The mail goes last: if the server refuses it, the caller rolls back the new token (and
    the new account) with it.
    """
    require_role_management(actor, Role(user.role))
    if not user.active:
        raise ValidationError(
            {"active": "Ce compte est désactivé : réactivez-le avant de lui envoyer un lien."}
        )
    url = mail.absolute_url(set_password_path(issue_password_link(session, user, now)))
    subject, body = _link_message(user, url)
    send_mail(session, mail, user.email, subject, body)
    return PasswordLink(user, url)


def _link_message(user: User, url: str) -> tuple[str, str]:
    days = LINK_VALIDITY.days
    place = Role(user.role).label + (f", {user.epci.nom}" if user.epci is not None else "")
    if user.password_hash is None:
        subject = "Foncier économique : choisissez votre mot de passe"
        opening = (
            "Un compte vous a été ouvert sur Foncier économique, l’inventaire partagé des "
            f"parcs d’activités du réseau ({place})."
        )
    else:
        subject = "Foncier économique : nouveau lien pour votre mot de passe"
        opening = "Un nouveau lien vous permet de choisir le mot de passe de votre compte."
    body = (
        f"Bonjour {user.nom},\n\n{opening}\n\n"
        f"Pour choisir votre mot de passe, ouvrez ce lien, valable {days} jours et "
        f"utilisable une seule fois :\n{url}\n\n"
        f"Votre identifiant est votre adresse électronique : {user.email}\n\n"
        "Si vous n’attendiez pas ce message, ignorez-le.\n"
    )
    return subject, body


def deactivate_user(session: Session, actor: Actor, user: User) -> None:
    """Close an account: its sessions end at their next request, it can no longer sign in."""
    require_role_management(actor, Role(user.role))
    if user.id == actor.user_id:
        raise ValidationError({"active": "Vous ne pouvez pas désactiver votre propre compte."})
    user.active = False
    # Sessions opened before stay closed even if the account is reactivated later.
    user.session_epoch += 1
    session.flush()


def reactivate_user(session: Session, actor: Actor, user: User) -> None:
    require_role_management(actor, Role(user.role))
    user.active = True
    session.flush()


MASKED_LINK: Final = "[lien personnel masqué : seul un administrateur peut le lire]"
_LINK_IN_BODY: Final = re.compile(re.escape(SET_PASSWORD_PATH) + r"[A-Za-z0-9_\-]+")


@dataclass(frozen=True)
class ShownMessage:
    """An outbox message as ``actor`` may read it."""

    subject: str
    recipient: str
    created_at: datetime
    body: str


@dataclass(frozen=True)
class ReadableOutbox(Paging):
    messages: list[ShownMessage]


def readable_outbox(
    session: Session, actor: Actor, page: int = 1, per_page: int = 20
) -> ReadableOutbox:
    """The outbox page, with the one-time links of accounts ``actor`` may not manage masked.

    Reading a link is signing in as its recipient: a coordinator, who may not issue a link to
    an administrator, must not read one in the outbox either.
    """
    shown = outbox_page(session, actor, page, per_page)
    roles = dict(
        session.execute(
            select(User.email, User.role).where(
                User.email.in_({message.recipient for message in shown.messages})
            )
        ).all()
    )
    allowed = set(assignable_roles(actor))
    messages = [
        ShownMessage(
            message.subject,
            message.recipient,
            message.created_at,
            message.body
            if message.recipient not in roles or Role(roles[message.recipient]) in allowed
            else _LINK_IN_BODY.sub(MASKED_LINK, message.body),
        )
        for message in shown.messages
    ]
    return ReadableOutbox(
        total=shown.total, page=shown.page, per_page=shown.per_page, messages=messages
    )
