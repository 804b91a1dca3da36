"""E-mail: the settings of the mail backend, and the outbox every message goes through.

``queue_mail`` is the one way the platform sends a message (password links, notifications):
it writes an ``outbox_message`` row, pending, in the caller's transaction — it never talks to
a mail server, so a step never fails nor waits because of one, and a step rolled back takes
its messages with it. foncier.messaging.delivery sends the rows after the commit, through
the backend the settings choose: ``smtp`` hands them to a mail server; ``outbox``, the
development default, lets nothing leave and marks them sent, to be read on the « Messages
envoyés » page.

Messages carry absolute links: their address starts with the platform's public address,
which the caller gives the session once (``links_start_with``; DEFAULT_BASE_URL otherwise).
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from enum import StrEnum
from typing import Final, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from foncier.core.errors import ConfigurationError
from foncier.core.paging import Paging, page_count
from foncier.core.permissions import Actor
from foncier.models import OutboxMessage

# Where scripts/run serves the platform: the links of a development machine.
DEFAULT_BASE_URL: Final = "http://127.0.0.1:5000"
DEFAULT_SENDER: Final = "foncier@localhost"
SMTP_TIMEOUT_SECONDS: Final = 20.0
LINK_BASE_KEY: Final = "foncier.mail.link_base"
QUEUED_KEY: Final = "foncier.mail.queued"
CALENDAR_FILENAME: Final = "invitation.ics"
E = TypeVar("E", bound=StrEnum)


class MailBackend(StrEnum):
    OUTBOX = "outbox"
    SMTP = "smtp"


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"  # plain connection upgraded to TLS (submission port 587)
    SSL = "ssl"  # TLS from the first byte (port 465)
    NONE = "none"  # a relay on the same machine or network only

    @property
    def default_port(self) -> int:
        return {SmtpSecurity.STARTTLS: 587, SmtpSecurity.SSL: 465, SmtpSecurity.NONE: 25}[self]


@dataclass(frozen=True)
class MailSettings:
    """How to send mail, and the address the links in messages start with.

    ``base_url`` None means "not configured": the web app then uses the address it is reached
    at, the CLI DEFAULT_BASE_URL (see ``link_base``).
    """

    backend: MailBackend = MailBackend.OUTBOX
    sender: str = DEFAULT_SENDER
    base_url: str | None = None
    smtp_host: str = "localhost"
    smtp_port: int = SmtpSecurity.STARTTLS.default_port
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_timeout: float = SMTP_TIMEOUT_SECONDS

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> MailSettings:
        """Settings from FONCIER_MAIL_BACKEND, FONCIER_SMTP_*, FONCIER_MAIL_FROM, FONCIER_BASE_URL.

        Raises ConfigurationError for a value that cannot work, so that a misconfigured
        server refuses to start instead of losing its first message.
        """
        env = os.environ if environ is None else environ
        backend = _choice(env, "FONCIER_MAIL_BACKEND", MailBackend, MailBackend.OUTBOX)
        security = _choice(env, "FONCIER_SMTP_TLS", SmtpSecurity, SmtpSecurity.STARTTLS)
        base_url = env.get("FONCIER_BASE_URL", "").strip().rstrip("/") or None
        host = env.get("FONCIER_SMTP_HOST", "").strip()
        if backend is MailBackend.SMTP and not (host and base_url):
            raise ConfigurationError(
                "FONCIER_MAIL_BACKEND=smtp needs FONCIER_SMTP_HOST (the mail server) and "
                "FONCIER_BASE_URL (the platform's public address, used in the links of messages)."
            )
        return cls(
            backend=backend,
            sender=env.get("FONCIER_MAIL_FROM", "").strip() or DEFAULT_SENDER,
            base_url=base_url,
            smtp_host=host or "localhost",
            smtp_port=_port(env.get("FONCIER_SMTP_PORT", ""), security),
            smtp_security=security,
            smtp_user=env.get("FONCIER_SMTP_USER") or None,
            smtp_password=env.get("FONCIER_SMTP_PASSWORD") or None,
        )

    @property
    def link_base(self) -> str:
        return self.base_url or DEFAULT_BASE_URL


def _choice(env: Mapping[str, str], name: str, enum: type[E], default: E) -> E:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise ConfigurationError(f"{name}={value!r} is not one of: {allowed}") from None


def _port(value: str, security: SmtpSecurity) -> int:
    if not value.strip():
        return security.default_port
    if not value.strip().isdigit() or not 0 < int(value) < 65536:
        raise ConfigurationError(f"FONCIER_SMTP_PORT={value!r} is not a TCP port number")
    return int(value)


def links_start_with(session: Session, base_url: str) -> None:
    """Start the links of the messages ``session`` queues from now on with ``base_url``."""
    session.info[LINK_BASE_KEY] = base_url.rstrip("/")


def absolute_url(session: Session, path: str) -> str:
    """``path`` (starting with /) on the platform's public address, as given to ``session``."""
    return session.info.get(LINK_BASE_KEY, DEFAULT_BASE_URL) + path


@dataclass(frozen=True)
class CalendarPart:
    """An iCalendar attachment: its text and its METHOD (REQUEST or CANCEL)."""

    text: str
    method: str


def queue_mail(
    session: Session, to: str, subject: str, body: str, calendar: CalendarPart | None = None
) -> OutboxMessage:
    """Write a plain-text message to ``to`` in the outbox, pending, with ``calendar``
    attached if given: it leaves after the commit (foncier.messaging.delivery), and never if
    the transaction rolls back."""
    message = OutboxMessage(recipient=to, subject=subject, body=body)
    if calendar is not None:
        message.calendar, message.calendar_method = calendar.text, calendar.method
    session.add(message)
    session.flush()
    session.info.setdefault(QUEUED_KEY, []).append(message.id)
    return message


def take_queued(session: Session) -> list[int]:
    """The ids of the messages ``session`` queued since the last call: what its caller
    tries to deliver right after committing (or forgets, after a rollback)."""
    return session.info.pop(QUEUED_KEY, [])


def email_message(settings: MailSettings, message: OutboxMessage) -> EmailMessage:
    """The outbox row as an Internet message from the configured sender."""
    email = EmailMessage()
    email["From"] = settings.sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    sender_domain = parseaddr(settings.sender)[1].rpartition("@")[2]
    email["Message-ID"] = make_msgid(domain=sender_domain or None)
    email.set_content(message.body)
    if message.calendar is not None:
        # The method parameter is what makes mail clients offer « accept / decline » (RFC 6047).
        email.add_attachment(
            message.calendar,
            subtype="calendar",
            charset="utf-8",
            filename=CALENDAR_FILENAME,
            params={"method": message.calendar_method},
        )
    return email


def smtp_connection(settings: MailSettings) -> smtplib.SMTP:
    """A connection to the SMTP server, secured and signed in as configured (smtplib's
    errors, or OSError, when that fails)."""
    context = ssl.create_default_context()
    if settings.smtp_security is SmtpSecurity.SSL:
        server: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout, context=context
        )
    else:
        server = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
    try:
        if settings.smtp_security is SmtpSecurity.STARTTLS:
            server.starttls(context=context)
        if settings.smtp_user:
            server.login(settings.smtp_user, settings.smtp_password or "")
    except BaseException:
        server.close()
        raise
    return server


@dataclass(frozen=True)
class OutboxPage(Paging):
    messages: list[OutboxMessage]


def outbox_page(session: Session, actor: Actor, page: int = 1, per_page: int = 20) -> OutboxPage:
    """The outbox, newest first, whatever each message's status; it holds password links, so
    account managers only read it."""
    actor.require_account_management()
    total = session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
    page = min(max(1, page), page_count(total, per_page))
    messages = session.scalars(
        select(OutboxMessage)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return OutboxPage(messages=list(messages), total=total, page=page, per_page=per_page)
