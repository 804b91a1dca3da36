"""Sending e-mail: a development outbox or an SMTP server, chosen by configuration.

``send_mail`` is the one way the platform sends a message (password links today,
notifications tomorrow). The ``outbox`` backend, the development default, stores the message
in the ``outbox_message`` table, where the coordinator reads it on the « Messages envoyés »
page; the ``smtp`` backend hands it to a mail server and keeps no copy (a password link is a
credential). An SMTP failure raises MailDeliveryError, so that the caller's unit of work rolls
back whatever the message was about (an account whose owner never got their link).
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

from foncier.core.errors import ConfigurationError, FoncierError
from foncier.core.paging import Paging, page_count
from foncier.core.permissions import Actor
from foncier.models import OutboxMessage

# Where scripts/run serves the platform: the links of a development machine.
DEFAULT_BASE_URL: Final = "http://127.0.0.1:5000"
DEFAULT_SENDER: Final = "foncier@localhost"
SMTP_TIMEOUT_SECONDS: Final = 20.0
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


class MailDeliveryError(FoncierError):
    """The mail server refused the message or could not be reached: nothing was sent."""


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

    def absolute_url(self, path: str) -> str:
        """``path`` (starting with /) on the platform's public address."""
        return self.link_base.rstrip("/") + path


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


def send_mail(session: Session, settings: MailSettings, to: str, subject: str, body: str) -> None:
    """Send a plain-text message to ``to`` through the configured backend.

    Raises MailDeliveryError when the SMTP server fails: call it last in a unit of work.
    """
    if settings.backend is MailBackend.OUTBOX:
        session.add(OutboxMessage(recipient=to, subject=subject, body=body))
        session.flush()
        return
    _send_smtp(settings, _message(settings, to, subject, body))


def _message(settings: MailSettings, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    sender_domain = parseaddr(settings.sender)[1].rpartition("@")[2]
    message["Message-ID"] = make_msgid(domain=sender_domain or None)
    message.set_content(body)
    return message


def _send_smtp(settings: MailSettings, message: EmailMessage) -> None:
    context = ssl.create_default_context()
    try:
        if settings.smtp_security is SmtpSecurity.SSL:
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host,
                settings.smtp_port,
                timeout=settings.smtp_timeout,
                context=context,
            )
        else:
            server = smtplib.SMTP(
                settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout
            )
        with server:
            if settings.smtp_security is SmtpSecurity.STARTTLS:
                server.starttls(context=context)
            if settings.smtp_user:
                server.login(settings.smtp_user, settings.smtp_password or "")
            server.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        raise MailDeliveryError(
            f"Le message n’a pas pu être envoyé (serveur {settings.smtp_host}:"
            f"{settings.smtp_port} : {error}). Rien n’a été enregistré ; réessayez plus tard ou "
            "prévenez l’administrateur de la plateforme."
        ) from error


@dataclass(frozen=True)
class OutboxPage(Paging):
    messages: list[OutboxMessage]


def outbox_page(session: Session, actor: Actor, page: int = 1, per_page: int = 20) -> OutboxPage:
    """The outbox, newest first; it holds password links, so account managers only read it."""
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
