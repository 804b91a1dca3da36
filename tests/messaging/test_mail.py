"""Mail: settings from the environment, the outbox a step writes to, and its delivery through
SMTP against a real server (retries and concurrency: test_delivery.py)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from case_helpers import smtp_on
from smtp_server import (
    SmtpServer,
    running_smtp_server,
    self_signed_certificate,
    server_tls_context,
)
from sqlalchemy import select

from foncier.accounts.passwords import SET_PASSWORD_PATH
from foncier.core.errors import ConfigurationError, PermissionDeniedError
from foncier.core.permissions import Actor, Role
from foncier.messaging.delivery import LINK_ERASED, deliver_pending
from foncier.messaging.mail import (
    DEFAULT_BASE_URL,
    MailBackend,
    MailSettings,
    SmtpSecurity,
    absolute_url,
    links_start_with,
    outbox_page,
    queue_mail,
    take_queued,
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


def test_links_start_with_the_address_given_to_the_session(session):
    assert absolute_url(session, "/x") == DEFAULT_BASE_URL + "/x"
    # The trailing slash is dropped: links do not get a double one.
    links_start_with(session, "https://foncier.example.org/")
    assert absolute_url(session, "/a") == "https://foncier.example.org/a"


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
    assert settings.link_base == "https://foncier.example.org"


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


def deliver(session_factory, settings, *messages):
    """Deliver ``messages`` (queued on the test's session) as a sender would after the commit."""
    return deliver_pending(session_factory, settings, ids=[message.id for message in messages])


def test_a_queued_message_waits_in_the_outbox_until_delivered(session):
    queued = queue_mail(session, "amelie@example.org", SUBJECT, BODY)
    stored = session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == "amelie@example.org")
    ).one()
    assert stored is queued and (stored.subject, stored.body) == (SUBJECT, BODY)
    assert (stored.status, stored.attempts, stored.sent_at) == ("pending", 0, None)
    assert take_queued(session) == [queued.id] and take_queued(session) == []


def test_the_outbox_backend_lets_nothing_leave_and_marks_the_message_sent(session_factory, session):
    message = queue_mail(session, "amelie@example.org", SUBJECT, BODY + SET_PASSWORD_PATH + "abc")
    report = deliver(session_factory, MailSettings(), message)
    session.refresh(message)
    assert (report.sent, message.status, message.attempts) == (1, "sent", 1)
    assert message.sent_at is not None
    assert message.body.endswith(SET_PASSWORD_PATH + "abc")  # read on « Messages envoyés »


def test_the_outbox_is_read_newest_first_by_account_managers_only(session):
    for number in range(3):
        queue_mail(session, f"n{number}@example.org", f"Message {number}", "x")
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
    return smtp_on(server.port, smtp_security=security, **options)


def test_smtp_delivers_a_french_message_with_authentication(session_factory, session):
    message = queue_mail(session, "amelie@example.org", SUBJECT, BODY)
    with running_smtp_server(SmtpServer(user="robot", password="s3cret")) as server:
        settings = smtp_settings(
            server, SmtpSecurity.NONE, smtp_user="robot", smtp_password="s3cret"
        )
        assert deliver(session_factory, settings, message).sent == 1
    [received] = server.messages
    assert server.authenticated_as == ["robot"]
    assert received.sender == "foncier@example.org"
    assert received.recipients == ["amelie@example.org"]
    assert received.message["Subject"] == SUBJECT
    assert received.message["To"] == "amelie@example.org"
    assert received.message["Message-ID"].endswith("@example.org>")
    assert received.message.get_content().replace("\r\n", "\n") == BODY
    session.refresh(message)
    assert (message.status, message.attempts, message.last_error) == ("sent", 1, None)


def test_smtp_keeps_no_one_time_link_once_sent(session_factory, session):
    """A password link is a credential: it stays in the table only until it leaves."""
    link = f"https://foncier.example.org{SET_PASSWORD_PATH}Secret-Token_42"
    message = queue_mail(session, "amelie@example.org", SUBJECT, f"Votre lien : {link}\n")
    with running_smtp_server(SmtpServer()) as server:
        deliver(session_factory, smtp_settings(server, SmtpSecurity.NONE), message)
    assert link in server.messages[0].message.get_content()
    session.refresh(message)
    assert "Secret-Token_42" not in message.body and LINK_ERASED in message.body


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def failed_once(session, message, *patterns: str) -> None:
    """``message`` failed its one attempt, recorded with an error matching ``patterns``, and
    waits for the next."""
    session.refresh(message)
    assert (message.status, message.attempts, message.sent_at) == ("pending", 1, None)
    assert message.next_attempt_at > message.created_at
    for pattern in patterns:
        assert pattern in (message.last_error or ""), message.last_error


@pytest.mark.parametrize("security", [SmtpSecurity.STARTTLS, SmtpSecurity.SSL])
def test_smtp_over_tls_checks_the_certificate_then_delivers(
    session_factory, session, monkeypatch, certificate, security
):
    state = SmtpServer(tls=server_tls_context(*certificate), implicit_tls=security.value == "ssl")
    with running_smtp_server(state) as server:
        settings = smtp_settings(server, security)
        # An unknown certificate authority: refused, nothing is sent in clear.
        refused = queue_mail(session, "amelie@example.org", SUBJECT, BODY)
        assert deliver(session_factory, settings, refused).retrying == 1
        failed_once(session, refused, "CERTIFICATE_VERIFY_FAILED")
        assert server.messages == []
        # Trusted (OpenSSL reads SSL_CERT_FILE for the default authorities): delivered.
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
        trusted = queue_mail(session, "amelie@example.org", SUBJECT, BODY)
        assert deliver(session_factory, settings, trusted).sent == 1
    assert [r.message["Subject"] for r in server.messages] == [SUBJECT]


def test_starttls_is_required_when_configured(session_factory, session):
    # A server that does not offer STARTTLS: the message is not sent in clear instead.
    message = queue_mail(session, "a@b.fr", "s", "b")
    with running_smtp_server(SmtpServer()) as server:
        deliver(session_factory, smtp_settings(server, SmtpSecurity.STARTTLS), message)
    assert server.messages == []
    failed_once(session, message, "STARTTLS")


def test_a_refused_recipient_fails_that_message_only(session_factory, session):
    refused = queue_mail(session, "nobody@example.org", "s", "b")
    accepted = queue_mail(session, "amelie@example.org", "s", "b")
    with running_smtp_server(SmtpServer(refused={"nobody@example.org"})) as server:
        settings = smtp_settings(server, SmtpSecurity.NONE)
        report = deliver(session_factory, settings, refused, accepted)
    assert (report.sent, report.retrying) == (1, 1)
    assert [r.recipients for r in server.messages] == [["amelie@example.org"]]
    failed_once(session, refused, "550", "127.0.0.1")


def test_wrong_credentials_are_recorded(session_factory, session):
    message = queue_mail(session, "a@example.org", "s", "b")
    with running_smtp_server(SmtpServer(user="robot", password="right")) as server:
        settings = smtp_settings(server, SmtpSecurity.NONE, smtp_user="robot", smtp_password="no")
        deliver(session_factory, settings, message)
    assert server.messages == []
    failed_once(session, message, "535")


def test_an_unreachable_server_is_recorded_on_every_message_of_the_run(session_factory, session):
    messages = [queue_mail(session, f"n{number}@example.org", "s", "b") for number in range(3)]
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, not listening: connections are refused
        report = deliver(session_factory, smtp_on(port), *messages)
    assert report.retrying == 3
    for message in messages:
        failed_once(session, message, f"127.0.0.1:{port}")
