"""Delivering the outbox after the commit (Indico's ``flush_email_queue``, made durable).

A step only writes its messages as pending rows (foncier.messaging.mail.queue_mail). Once it
has committed, ``deliver_pending`` sends the rows that are due, one transaction per message:
it locks one pending row (``FOR UPDATE SKIP LOCKED``: two senders at once never take the same
message, and neither waits for the other), sends it, records the attempt and commits before
taking the next — a sender that dies mid-batch never sends again what it had sent. (A crash
between the server's acceptance and that commit is the one case where a message may leave
twice: a message is never lost, and at most duplicated then.)

A failed attempt keeps the row pending with its error and a later ``next_attempt_at``: the
delay starts at FIRST_RETRY and doubles at each failure up to LONGEST_WAIT; after
MAX_ATTEMPTS attempts the row is « failed » and no sender tries it again. With the ``smtp``
backend a one-time password link is erased from the row once the attempts are over (sent or
failed): the table then keeps no credential. With the ``outbox`` backend (development)
nothing leaves: delivering a row marks it sent and keeps it whole, to be read on the
« Messages envoyés » page.

The web process tries the messages of each request right after its commit, the CLI those of
each command; ``foncier mail send-pending``, run every few minutes, delivers the rest.
"""

from __future__ import annotations

import logging
import smtplib
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Final

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from foncier.messaging.mail import MailBackend, MailSettings, email_message, smtp_connection
from foncier.messaging.outbox import without_personal_links
from foncier.models import OutboxMessage
from foncier.models.mail import FAILED, PENDING, SENT

MAX_ATTEMPTS: Final = 12
FIRST_RETRY: Final = timedelta(minutes=1)
LONGEST_WAIT: Final = timedelta(hours=4)
DEFAULT_LIMIT: Final = 100
LINK_ERASED: Final = "[lien personnel effacé après l’envoi]"

log = logging.getLogger(__name__)


def retry_delay(attempts: int) -> timedelta:
    """How long a message waits after its ``attempts``-th failed attempt: 1 min, 2, 4, …,
    at most 4 h — twelve attempts span about 16 h, a night's outage of the mail server."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_WAIT)


@dataclass(frozen=True)
class DeliveryReport:
    """What a run did: messages sent, failed but to be tried again, failed for good."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.failed


class DeliveryError(Exception):
    """A message did not leave (the text says why, for the row's ``last_error``)."""


def deliver_pending(
    factory: sessionmaker[Session],
    settings: MailSettings,
    *,
    limit: int = DEFAULT_LIMIT,
    ids: Collection[int] | None = None,
    now: datetime | None = None,
) -> DeliveryReport:
    """Deliver up to ``limit`` due pending messages (only those of ``ids`` if given), oldest
    first, each in a transaction of its own; ``now`` (the clock by default) says what is due.
    Delivery failures are recorded on their rows, never raised."""
    outcomes: Counter[str] = Counter()
    with factory() as session, _Postman(settings) as postman:
        for _ in range(limit):
            moment = now or datetime.now(UTC)
            message = _next_due(session, ids, moment)
            if message is None:
                break
            outcomes[_deliver(postman, message, moment)] += 1
            session.commit()  # the attempt is recorded before the next message is taken
    return DeliveryReport(**outcomes)


def deliver_now(
    factory: sessionmaker[Session], settings: MailSettings, ids: Collection[int]
) -> DeliveryReport:
    """Try the messages ``ids`` a step has just committed, all of them (those not due yet
    stay pending): the web request or the command that queued them sends them at once."""
    return deliver_pending(factory, settings, ids=ids, limit=len(ids))


def keep_in_outbox(session: Session, ids: Collection[int]) -> None:
    """Mark the messages ``ids`` sent without sending them, as the outbox backend does: for
    messages that must never leave, whatever the backend (the demo's)."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == PENDING)
        .values(status=SENT, sent_at=func.now())
    )


def _next_due(session: Session, ids: Collection[int] | None, now: datetime) -> OutboxMessage | None:
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(ids))
    return session.scalars(query).first()


def _deliver(postman: _Postman, message: OutboxMessage, now: datetime) -> str:
    message.attempts += 1
    try:
        postman.send(message)
    except DeliveryError as failure:
        message.last_error = str(failure)
        log.warning("outbox message %s, attempt %s: %s", message.id, message.attempts, failure)
        if message.attempts < MAX_ATTEMPTS:
            message.next_attempt_at = now + retry_delay(message.attempts)
            return "retrying"
        message.status = FAILED
    else:
        message.status, message.sent_at = SENT, now
    if postman.leaves:
        message.body = without_personal_links(message.body, LINK_ERASED)
    return "sent" if message.status == SENT else "failed"


class _Postman:
    """Hands messages to the configured backend: with SMTP, over one connection opened at
    the first message and kept for the run. A server that cannot be reached is not asked
    again in the same run: the following messages record the same failure at once, so a run
    (and the web request that makes one) never waits for more than one connection."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings
        self.leaves = settings.backend is MailBackend.SMTP
        self._server: smtplib.SMTP | None = None
        self._unreachable: str | None = None

    def __enter__(self) -> _Postman:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._hang_up()

    def send(self, message: OutboxMessage) -> None:
        if not self.leaves:
            return  # the outbox backend: the row is the delivery
        server = self._connected()
        try:
            server.send_message(email_message(self.settings, message))
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as refused:
            # This message only was refused; smtplib reset the transaction, the link is fine.
            raise DeliveryError(self._explain(refused)) from refused
        except (smtplib.SMTPException, OSError) as broken:
            self._hang_up()  # the next message opens a new connection
            raise DeliveryError(self._explain(broken)) from broken

    def _connected(self) -> smtplib.SMTP:
        if self._unreachable is not None:
            raise DeliveryError(self._unreachable)
        if self._server is None:
            try:
                self._server = smtp_connection(self.settings)
            except (smtplib.SMTPException, OSError) as error:
                self._unreachable = self._explain(error)
                raise DeliveryError(self._unreachable) from error
        return self._server

    def _explain(self, error: Exception) -> str:
        return f"serveur {self.settings.smtp_host}:{self.settings.smtp_port} : {error}"

    def _hang_up(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        try:
            server.quit()
        except (smtplib.SMTPException, OSError):
            server.close()
