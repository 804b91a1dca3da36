"""Accounts: creation and roles, the list of accounts, one-time links sent to their owners,
deactivation.

Managing accounts (creating, listing, sending links, deactivating) is for the network-wide
roles: every such function takes the acting person and checks it first, whoever calls it
(a page, the CLI). Only an administrator creates or changes an administrator's account.
Passwords and one-time links are in ``passwords``, signing in in ``signin``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from foncier.accounts.passwords import (
    LINK_VALIDITY,
    check_password_strength,
    hash_password,
    issue_password_link,
    set_password_path,
)
from foncier.accounts.sessions import end_all_sessions
from foncier.core.db import get_or_raise
from foncier.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from foncier.core.formulas import formula_problems
from foncier.core.french import FRENCH_COLLATION
from foncier.core.permissions import Actor, Role
from foncier.messaging.mail import absolute_url, queue_mail
from foncier.models import Epci, User

EMAIL_PATTERN: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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
    errors = formula_problems({"email": email, "nom": nom.strip()})  # stored stripped
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
    return get_or_raise(session, User, user_id, f"Aucun compte n’a l’identifiant {user_id}.")


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
    *,
    email: str,
    nom: str,
    role: Role,
    epci_siren: str | None = None,
) -> PasswordLink:
    """Create an account without password and mail its owner a link to choose one."""
    user = create_user(session, actor, email=email, nom=nom, role=role, epci_siren=epci_siren)
    return send_password_link(session, actor, user)


def send_password_link(
    session: Session, actor: Actor, user: User, now: datetime | None = None
) -> PasswordLink:
    """Mail ``user`` a new one-time link (a new account, or a forgotten password).

    The message is queued in the caller's transaction and leaves after its commit: a mail
    server that is down delays it (the outbox retries), it never undoes the account.
    """
    require_role_management(actor, Role(user.role))
    if not user.active:
        raise ValidationError(
            {"active": "Ce compte est désactivé : réactivez-le avant de lui envoyer un lien."}
        )
    url = absolute_url(session, set_password_path(issue_password_link(session, user, now)))
    subject, body = _link_message(user, url)
    queue_mail(session, user.email, subject, body)
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
    end_all_sessions(session, user)
    session.flush()


def reactivate_user(session: Session, actor: Actor, user: User) -> None:
    require_role_management(actor, Role(user.role))
    user.active = True
    session.flush()
