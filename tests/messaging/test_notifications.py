"""The inbox and its e-mail copy (foncier.messaging.notifications): who receives, in what order,
read marks, someone else's message, and a mail server that is down."""

from __future__ import annotations

import pytest
from case_helpers import (
    GATINE_RACAN,
    METROPOLE,
    add_referent,
    coordinator,
    referent_of,
    unreachable_smtp,
)
from sqlalchemy import select

from foncier.core.errors import NotFoundError
from foncier.messaging.delivery import deliver_pending
from foncier.messaging.notifications import (
    PER_PAGE,
    inbox_page,
    mark_read,
    notify_epci,
    unread_count,
)
from foncier.models import Notification, OutboxMessage, User


def notify_gatine(session, subject="Un projet pour vous"):
    return notify_epci(
        session,
        GATINE_RACAN,
        subject=subject,
        body="Corps du message",
        link="/redirections/7",
    )


def test_every_active_referent_of_the_epci_and_only_them_get_it(session):
    second = add_referent(session, GATINE_RACAN, "seconde@gatine-racan.test")
    gone = add_referent(session, GATINE_RACAN, "parti@gatine-racan.test", active=False)
    # Other tests commit accounts to the shared database: compare with whoever is there.
    active = session.scalars(
        select(User).where(
            User.role == "referent", User.epci_siren == GATINE_RACAN, User.active.is_(True)
        )
    ).all()
    sent = notify_gatine(session)
    demo = referent_of(session, GATINE_RACAN).user_id
    assert sorted(n.user_id for n in sent) == sorted(user.id for user in active)
    assert {demo, second.id} <= {n.user_id for n in sent}
    assert gone.id not in {n.user_id for n in sent}
    mails = session.scalars(
        select(OutboxMessage).where(OutboxMessage.subject == "Un projet pour vous")
    ).all()
    assert sorted(m.recipient for m in mails) == sorted(user.email for user in active)
    assert "parti@gatine-racan.test" not in {m.recipient for m in mails}
    assert all(
        m.body == "Corps du message\n\nhttp://127.0.0.1:5000/redirections/7\n" for m in mails
    )


def test_the_inbox_is_the_persons_own_newest_first_a_page_at_a_time(session):
    gatine, metropole = referent_of(session, GATINE_RACAN), referent_of(session, METROPOLE)
    for number in range(PER_PAGE + 1):
        notify_gatine(session, subject=f"Message {number}")
    first, second = inbox_page(session, gatine, 1), inbox_page(session, gatine, 2)
    assert (first.total, first.pages, first.unread) == (PER_PAGE + 1, 2, PER_PAGE + 1)
    assert first.notifications[0].subject == f"Message {PER_PAGE}"
    assert [n.subject for n in second.notifications] == ["Message 0"]
    assert inbox_page(session, metropole).total == 0
    with pytest.raises(NotFoundError):
        inbox_page(session, gatine, 3)


def test_marking_read_counts_down_and_is_idempotent(session):
    gatine = referent_of(session, GATINE_RACAN)
    first, _ = notify_gatine(session), notify_gatine(session)
    assert unread_count(session, gatine) == 2
    read = mark_read(session, gatine, first[0].id)
    when = read.read_at
    assert when is not None and unread_count(session, gatine) == 1
    assert mark_read(session, gatine, first[0].id).read_at == when


@pytest.mark.parametrize("who", ["other_referent", "coordinator"])
def test_someone_elses_message_is_not_found(session, who):
    mine = notify_gatine(session)[0]
    other = referent_of(session, METROPOLE) if who == "other_referent" else coordinator(session)
    with pytest.raises(NotFoundError):
        mark_read(session, other, mine.id)
    assert mine.read_at is None
    assert unread_count(session, other) == 0


def test_a_mail_server_that_is_down_leaves_the_inbox_and_the_mail_waiting(session_factory, session):
    """Notifying never talks to the mail server: the inbox is written, the e-mails wait in
    the outbox; the server being down when they are tried only records the failure."""
    notified = notify_gatine(session)
    mails = session.scalars(
        select(OutboxMessage).where(OutboxMessage.subject == "Un projet pour vous")
    ).all()
    assert len(mails) == len(notified) and {m.status for m in mails} == {"pending"}
    report = deliver_pending(session_factory, unreachable_smtp(), ids=[m.id for m in mails])
    assert report.retrying == len(mails)
    for mail in mails:
        session.refresh(mail)
        assert (mail.status, mail.attempts) == ("pending", 1) and mail.last_error
    inbox = session.scalars(
        select(Notification).where(Notification.subject == "Un projet pour vous")
    ).all()
    assert len(inbox) == len(notified)
