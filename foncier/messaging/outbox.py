"""The messages the platform sent, as the « Messages envoyés » page shows them: one-time
links masked for whoever may not read them.
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
from foncier.models import User

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
