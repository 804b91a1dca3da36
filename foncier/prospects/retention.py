"""Erasing a company contact's personal data when its retention date has passed.

A project keeps a contact person (name, role, e-mail, phone) only until the date the
référent set when recording it (foncier.prospects.projects limits it to three years). Past that
date, ``erase_expired_contacts`` empties those fields — the company and its project stay — and
scrubs the same values out of the project's audit events, where they were kept as "before"
and "after": an erased e-mail address that the history still shows would not be erased. The
audit trail is otherwise never rewritten; this is the one exception, and the erasure itself
stays in it (who, when, which fields), with « (effacé) » for the values.

The same scrubbing follows a référent clearing or replacing a contact by hand (the person
asked to be erased, or left the company): ``scrub_contact_history`` leaves in the history
only the contact values the project still holds. One implementation for both.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from foncier.core import audit
from foncier.core.errors import PermissionDeniedError
from foncier.core.permissions import Actor
from foncier.models import Prospect

# The contact person's personal data (the retention date is not: it names nobody).
CONTACT_FIELDS: Final = ("contact_name", "contact_role", "contact_email", "contact_phone")
ERASED: Final = "(effacé)"
REASON: Final = "Effacement des coordonnées du contact (durée de conservation échue)"


def expired_contacts(session: Session, today: date) -> list[Prospect]:
    """Projects whose contact's retention date is before ``today`` and that still hold one."""
    holds_contact = [getattr(Prospect, name).is_not(None) for name in CONTACT_FIELDS]
    return list(
        session.scalars(
            select(Prospect)
            .where(Prospect.contact_retention_until < today)
            .where(or_(*holds_contact))
            .order_by(Prospect.id)
        )
    )


def erase_expired_contacts(
    session: Session, actor: Actor, today: date | None = None
) -> list[Prospect]:
    """Erase the expired contacts (a task of the platform's operator or coordinator); returns
    the projects whose contact was erased. Flushes; the caller commits."""
    if not actor.network_wide:
        raise PermissionDeniedError(
            "Seuls le coordinateur et les administrateurs effacent les coordonnées échues."
        )
    expired = expired_contacts(session, today or date.today())
    with audit.acting(session, actor), audit.reason(session, REASON):
        for prospect in expired:
            for name in CONTACT_FIELDS:
                setattr(prospect, name, None)
            prospect.contact_retention_until = None
    for prospect in expired:
        scrub_contact_history(session, prospect)
    session.flush()
    return expired


def scrub_contact_history(session: Session, prospect: Prospect) -> None:
    """Replace by « (effacé) », in the project's audit events, every contact value the
    project no longer holds (all of them once its contact is erased). Call it after the
    change is flushed, so that its own event is scrubbed too. Flushes."""
    session.flush()
    for event in session.scalars(audit.entity_history("prospect", prospect.id)):
        scrubbed = {
            name: [_erased(value, getattr(prospect, name)) for value in values]
            for name, values in event.changes.items()
            if name in CONTACT_FIELDS
        }
        if any(scrubbed[name] != event.changes[name] for name in scrubbed):
            event.changes = {**event.changes, **scrubbed}
    session.flush()


def _erased(value: object, held: object) -> object:
    """The value as the history may keep it: itself if the project still holds it."""
    return value if value is None or value in (held, ERASED) else ERASED
