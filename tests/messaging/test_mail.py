"""Mail backends: settings from the environment, the outbox, and SMTP against a real server."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from smtp_server import (
    SmtpServer,
    running_smtp_server,
    self_signed_certificate,
    server_tls_context,
)
from sqlalchemy import select

from foncier.core.errors import ConfigurationError, PermissionDeniedError
from foncier.core.permissions import Actor, Role
from foncier.messaging.mail import (
    DEFAULT_BASE_URL,
    MailBackend,
    MailDeliveryError,
    MailSettings,
    SmtpSecurity,
    outbox_page,
    send_mail,
)
from foncier.models import OutboxMessage

SUBJECT = "Foncier économique : essai d’envoi"
# The lone "." line must survive SMTP's dot-stuffing.
BODY = "Bonjour Amélie,\n\nUn message accentué : « déjà vu », 3 000 m².\n.\nFin.\n"
SMTP_ENV = {
    "FONCIER_MAIL_BACKEND": "smtp",
    "FONCIER_SMTP_HOST": "smtp.example.org",
    "FONCIER_BASE_URL": "https://foncier.example.org/",
}


# --- settings -----------------------------------------------------------------------------------


def test_development_defaults_keep_mail_in_the_outbox():
    settings = MailSettings.from_environment({})
    assert settings.backend is MailBackend.OUTBOX
    assert settings.base_url is None and settings.link_base == DEFAULT_BASE_URL
    assert settings.absolute_url("/x") == DEFAULT_BASE_URL + "/x"


def test_smtp_settings_come_from_the_environment():
    settings = MailSettings.from_environment(
        {
            **SMTP_ENV,
            "FONCIER_SMTP_PORT": "2525",
            "FONCIER_SMTP_TLS": "SSL",
            "FONCIER_SMTP_USER": "robot",
            "FONCIER_SMTP_PASSWORD": "secret",
            "FONCIER_MAIL_FROM": "Foncier <foncier@example.org>",
        }
    )
    assert settings.backend is MailBackend.SMTP and settings.smtp_host == "smtp.example.org"
    assert (settings.smtp_port, settings.smtp_security) == (2525, SmtpSecurity.SSL)
    assert (settings.smtp_user, settings.smtp_password) == ("robot", "secret")
    assert settings.sender == "Foncier <foncier@example.org>"
    # The trailing slash is dropped: links do not get a double one.
    assert settings.absolute_url("/a") == "https://foncier.example.org/a"


@pytest.mark.parametrize("tls, port", [("starttls", 587), ("ssl", 465), ("none", 25)])
def test_the_default_port_follows_the_tls_mode(tls, port):
    settings = MailSettings.from_environment({**SMTP_ENV, "FONCIER_SMTP_TLS": tls})
    assert settings.smtp_port == port


@pytest.mark.parametrize(
    "env, message",
    [
        ({"FONCIER_MAIL_BACKEND": "pigeon"}, "FONCIER_MAIL_BACKEND='pigeon' is not one of"),
        ({"FONCIER_MAIL_BACKEND": "smtp"}, "needs FONCIER_SMTP_HOST"),
        ({**SMTP_ENV, "FONCIER_BASE_URL": ""}, "FONCIER_BASE_URL"),
        ({**SMTP_ENV, "FONCIER_SMTP_PORT": "submission"}, "not a TCP port"),
        ({**SMTP_ENV, "FONCIER_SMTP_PORT": "70000"}, "not a TCP port"),
        ({**SMTP_ENV, "FONCIER_SMTP_TLS": "maybe"}, "FONCIER_SMTP_TLS='maybe'"),
    ],
)
def test_settings_that_cannot_work_are_refused_at_start(env, message):
    with pytest.raises(ConfigurationError, match=message):
        MailSettings.from_environment(env)


# --- outbox -------------------------------------------------------------------------------------


def test_the_outbox_backend_stores_the_message(session):
    send_mail(session, MailSettings(), "amelie@example.org", SUBJECT, BODY)
    stored = session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == "amelie@example.org")
    ).one()
    assert (stored.subject, stored.body) == (SUBJECT, BODY)


def test_the_outbox_is_read_newest_first_by_account_managers_only(session):
    for number in range(3):
        send_mail(session, MailSettings(), f"n{number}@example.org", f"Message {number}", "x")
    coordinator = Actor("coordination", Role.COORDINATEUR, user_id=1)
    page = outbox_page(session, coordinator, page=1, per_page=2)
    assert [m.subject for m in page.messages] == ["Message 2", "Message 1"]
    assert page.total >= 3 and page.pages >= 2
    assert outbox_page(session, coordinator, page=999, per_page=2).page == page.pages
    for role, siren in ((Role.REFERENT, "200073237"), (Role.PARTENAIRE, None)):
        with pytest.raises(PermissionDeniedError):
            outbox_page(session, Actor("someone", role, 2, siren))


# --- SMTP against a real server -----------------------------------------------------------------


def smtp_settings(server: SmtpServer, security: SmtpSecurity, **options: object) -> MailSettings:
    return MailSettings(
        backend=MailBackend.SMTP,
        sender="Foncier économique <foncier@example.org>",
        base_url="https://foncier.example.org",
        smtp_host="127.0.0.1",
        smtp_port=server.port,
        smtp_security=security,
        smtp_timeout=5,
        **options,
    )


def test_smtp_delivers_a_french_message_with_authentication(session):
    with running_smtp_server(SmtpServer(user="robot", password="s3cret")) as server:
        settings = smtp_settings(
            server, SmtpSecurity.NONE, smtp_user="robot", smtp_password="s3cret"
        )
        send_mail(session, settings, "amelie@example.org", SUBJECT, BODY)
    [received] = server.messages
    assert server.authenticated_as == ["robot"]
    assert received.sender == "foncier@example.org"
    assert received.recipients == ["amelie@example.org"]
    assert received.message["Subject"] == SUBJECT
    assert received.message["To"] == "amelie@example.org"
    assert received.message["Message-ID"].endswith("@example.org>")
    assert received.message.get_content().replace("\r\n", "\n") == BODY
    # SMTP keeps no copy: a password link is a credential.
    assert session.scalar(select(OutboxMessage).where(OutboxMessage.subject == SUBJECT)) is None


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.mark.parametrize("security", [SmtpSecurity.STARTTLS, SmtpSecurity.SSL])
def test_smtp_over_tls_checks_the_certificate_then_delivers(
    session, monkeypatch, certificate, security
):
    state = SmtpServer(tls=server_tls_context(*certificate), implicit_tls=security.value == "ssl")
    with running_smtp_server(state) as server:
        settings = smtp_settings(server, security)
        # An unknown certificate authority: refused, nothing is sent in clear.
        with pytest.raises(MailDeliveryError, match="n’a pas pu être envoyé"):
            send_mail(session, settings, "amelie@example.org", SUBJECT, BODY)
        assert server.messages == []
        # Trusted (OpenSSL reads SSL_CERT_FILE for the default authorities): delivered.
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
        send_mail(session, settings, "amelie@example.org", SUBJECT, BODY)
    assert [r.message["Subject"] for r in server.messages] == [SUBJECT]


def test_starttls_is_required_when_configured(session):
    # A server that does not offer STARTTLS: the message is not sent in clear instead.
    with running_smtp_server(SmtpServer()) as server, pytest.raises(MailDeliveryError):
        send_mail(session, smtp_settings(server, SmtpSecurity.STARTTLS), "a@b.fr", "s", "b")
    assert server.messages == []


def test_a_refused_recipient_raises_a_typed_error(session):
    refusing = SmtpServer(refused={"nobody@example.org"})
    with running_smtp_server(refusing) as server, pytest.raises(MailDeliveryError, match="550"):
        send_mail(session, smtp_settings(server, SmtpSecurity.NONE), "nobody@example.org", "s", "b")
    assert server.messages == []


def test_wrong_credentials_raise_a_typed_error(session):
    with running_smtp_server(SmtpServer(user="robot", password="right")) as server:
        settings = smtp_settings(server, SmtpSecurity.NONE, smtp_user="robot", smtp_password="no")
        with pytest.raises(MailDeliveryError):
            send_mail(session, settings, "a@example.org", "s", "b")
    assert server.messages == []


def test_an_unreachable_server_raises_a_typed_error(session):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, not listening: connections are refused
        settings = smtp_settings(SmtpServer(port=port), SmtpSecurity.NONE)
        with pytest.raises(MailDeliveryError):
            send_mail(session, settings, "a@example.org", "s", "b")
