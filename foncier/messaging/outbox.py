"""The messages the platform sent or is sending, as the « Messages envoyés » page shows them:
each with its delivery status, one-time links masked for whoever may not read them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from foncier.accounts.passwords import SET_PASSWORD_PATH
from foncier.accounts.users import assignable_roles
from foncier.core.paging import Paging
from foncier.core.permissions import Actor, Role
from foncier.messaging.mail import outbox_page
from foncier.models import OutboxMessage, User
from foncier.models.mail import FAILED, PENDING, SENT

MASKED_LINK: Final = "[lien personnel masqué : seul un administrateur peut le lire]"
STATUS_LABELS: Final = {PENDING: "en attente", SENT: "envoyé", FAILED: "échec"}
_LINK_IN_BODY: Final = re.compile(re.escape(SET_PASSWORD_PATH) + r"[A-Za-z0-9_\-]+")


def without_personal_links(body: str, replacement: str) -> str:
    """``body`` with each one-time password link replaced by ``replacement``."""
    return _LINK_IN_BODY.sub(replacement, body)


@dataclass(frozen=True)
class ShownMessage:
    """An outbox message as ``actor`` may read it, with where its delivery stands."""

    subject: str
    recipient: str
    created_at: datetime
    body: str
    status: str  # PENDING, SENT or FAILED
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    sent_at: datetime | None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


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
        _shown(
            message,
            message.recipient not in roles or Role(roles[message.recipient]) in allowed,
        )
        for message in shown.messages
    ]
    return ReadableOutbox(
        total=shown.total, page=shown.page, per_page=shown.per_page, messages=messages
    )


def _shown(message: OutboxMessage, link_readable: bool) -> ShownMessage:
    return ShownMessage(
        subject=message.subject,
        recipient=message.recipient,
        created_at=message.created_at,
        body=message.body if link_readable else without_personal_links(message.body, MASKED_LINK),
        status=message.status,
        attempts=message.attempts,
        last_error=message.last_error,
        next_attempt_at=message.next_attempt_at,
        sent_at=message.sent_at,
    )
