"""Telling référents that something awaits them: an in-app inbox, and the same message by
e-mail (foncier.messaging.mail).

``notify_epci`` writes one Notification and one outbox message per active référent of an
EPCI, in the caller's transaction, after the change it announces: never a transition without
its messages, nor a message about a transition that did not happen. The e-mails leave after
the commit (foncier.messaging.delivery); a mail server that is down delays them, it never
stops the step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from foncier.core.errors import NotFoundError
from foncier.core.paging import Paging, check_page
from foncier.core.permissions import Actor, Role
from foncier.messaging.mail import absolute_url, queue_mail
from foncier.models import Notification, User

PER_PAGE: Final = 30


def _active_referent_of(epci_siren: ColumnElement[str] | str) -> ColumnElement[bool]:
    return (
        (User.role == Role.REFERENT.value) & (User.epci_siren == epci_siren) & User.active.is_(True)
    )


def referents_of(session: Session, epci_siren: str) -> list[User]:
    """The active référents of an EPCI, in a stable order."""
    return list(
        session.scalars(select(User).where(_active_referent_of(epci_siren)).order_by(User.email))
    )


def has_active_referent(epci_siren: ColumnElement[str]) -> ColumnElement[bool]:
    """SQL condition: the EPCI ``epci_siren`` (a column) has someone to tell — a proposal to
    an EPCI without an active référent would wait for an answer nobody is asked for."""
    return exists(select(User.id).where(_active_referent_of(epci_siren)))


def notify_epci(
    session: Session,
    epci_siren: str,
    *,
    subject: str,
    body: str,
    link: str,
    prospect_id: int | None = None,
) -> list[Notification]:
    """Put the message in the inbox of each active référent of ``epci_siren`` and queue its
    e-mail copy.

    ``link`` is a path of the platform (``/projets/12``); the e-mail carries it as an
    absolute address (see foncier.messaging.mail.links_start_with).
    """
    recipients = referents_of(session, epci_siren)
    notifications = [
        Notification(
            user_id=user.id, subject=subject, body=body, link=link, prospect_id=prospect_id
        )
        for user in recipients
    ]
    session.add_all(notifications)
    session.flush()
    mail_body = f"{body}\n\n{absolute_url(session, link)}\n"
    for user in recipients:
        queue_mail(session, user.email, subject, mail_body)
    return notifications


@dataclass(frozen=True)
class Inbox(Paging):
    notifications: list[Notification]
    unread: int


def unread_count(session: Session, actor: Actor) -> int:
    if actor.user_id is None:
        return 0
    return (
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def inbox_page(session: Session, actor: Actor, page: int = 1) -> Inbox:
    """The actor's own messages, newest first, a page at a time."""
    mine = Notification.user_id == actor.user_id
    total = session.scalar(select(func.count()).select_from(Notification).where(mine)) or 0
    check_page(page, total, PER_PAGE, of="the inbox")
    notifications = session.scalars(
        select(Notification)
        .where(mine)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    )
    return Inbox(total, page, PER_PAGE, list(notifications), unread_count(session, actor))


def mark_read(session: Session, actor: Actor, notification_id: int) -> Notification:
    """Mark one of the actor's messages read; someone else's is "not found" (not "forbidden":
    its existence is nobody else's business)."""
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != actor.user_id:
        raise NotFoundError(f"no notification {notification_id}")
    if notification.read_at is None:
        notification.read_at = datetime.now(UTC)
        session.flush()
    return notification
