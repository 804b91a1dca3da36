"""Delivering the outbox after the commit (foncier.messaging.delivery): the back-off between
attempts and the last one, two senders at once, a sender that finds a message being sent,
and `foncier mail send-pending` while the mail server is down, then back."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from case_helpers import smtp_on, unreachable_smtp
from click.testing import CliRunner
from concurrency import race_for_a_lock
from smtp_server import SmtpServer, running_smtp_server
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from foncier.accounts.passwords import SET_PASSWORD_PATH
from foncier.cli import main
from foncier.core import migrations
from foncier.core.db import make_engine, make_session_factory
from foncier.messaging.delivery import (
    LINK_ERASED,
    MAX_ATTEMPTS,
    DeliveryReport,
    deliver_now,
    deliver_pending,
    retry_delay,
)
from foncier.messaging.mail import queue_mail
from foncier.models import OutboxMessage

LINK = f"https://foncier.example.org{SET_PASSWORD_PATH}Jeton-Secret_7"


# --- back-off --------------------------------------------------------------------------------


def test_the_wait_doubles_from_a_minute_up_to_four_hours():
    waits = [retry_delay(attempts) for attempts in range(1, MAX_ATTEMPTS)]
    assert waits[:4] == [timedelta(minutes=minutes) for minutes in (1, 2, 4, 8)]
    assert max(waits) == timedelta(hours=4) == waits[-1]
    # From the first attempt to the last: a night's outage of the mail server.
    assert timedelta(hours=15) < sum(waits, timedelta()) < timedelta(hours=17)


def test_sending_now_sends_the_step_s_messages_only(session_factory, session):
    """What a request or a command queued leaves at once; another due message waits for the
    sender (foncier mail send-pending)."""
    mine = [queue_mail(session, f"r{n}@example.org", "Sujet", "Corps") for n in range(2)]
    other = queue_mail(session, "autre@example.org", "Sujet", "Corps")
    with running_smtp_server(SmtpServer()) as server:
        report = deliver_now(session_factory, smtp_on(server.port), [m.id for m in mine])
    assert report.sent == 2
    assert sorted(r.recipients[0] for r in server.messages) == ["r0@example.org", "r1@example.org"]
    session.refresh(other)
    assert other.status == "pending"


def test_a_failed_message_is_not_tried_again_before_its_time(session_factory, session):
    message = queue_mail(session, "amelie@example.org", "Sujet", "Corps")
    start = datetime.now(UTC)
    deliver_pending(session_factory, unreachable_smtp(), ids=[message.id], now=start)
    session.refresh(message)
    assert (message.status, message.next_attempt_at) == ("pending", start + timedelta(minutes=1))
    with running_smtp_server(SmtpServer()) as server:
        settings = smtp_on(server.port)
        early = start + timedelta(seconds=59)
        assert (
            deliver_pending(session_factory, settings, ids=[message.id], now=early).attempted == 0
        )
        assert server.messages == []
        due = start + timedelta(minutes=1)
        assert deliver_pending(session_factory, settings, ids=[message.id], now=due).sent == 1
    assert [r.recipients for r in server.messages] == [["amelie@example.org"]]
    session.refresh(message)
    assert (message.status, message.attempts, message.sent_at) == ("sent", 2, due)


def test_after_the_last_attempt_a_message_has_failed_for_good(session_factory, session):
    message = queue_mail(session, "amelie@example.org", "Sujet", f"Votre lien : {LINK}\n")
    settings, moment = unreachable_smtp(), datetime.now(UTC)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        report = deliver_pending(session_factory, settings, ids=[message.id], now=moment)
        last = attempt == MAX_ATTEMPTS
        assert report == (DeliveryReport(failed=1) if last else DeliveryReport(retrying=1))
        moment += retry_delay(attempt)
    session.refresh(message)
    assert (message.status, message.attempts, message.sent_at) == ("failed", MAX_ATTEMPTS, None)
    assert "Connection refused" in (message.last_error or "")
    assert LINK not in message.body and LINK_ERASED in message.body  # no credential kept
    with running_smtp_server(SmtpServer()) as server:  # back, but too late for it
        later = moment + timedelta(days=30)
        report = deliver_pending(session_factory, smtp_on(server.port), ids=[message.id], now=later)
    assert report.attempted == 0 and server.messages == []


# --- senders at once, on a database of their own (they commit) -------------------------------


@pytest.fixture(scope="module")
def outbox_engine(pg_server) -> Iterator[Engine]:
    """A migrated, empty database: its outbox holds only what a test puts there."""
    url = pg_server.create_database("foncier_outbox")
    migrations.upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def senders(outbox_engine: Engine) -> Iterator[sessionmaker[Session]]:
    yield make_session_factory(outbox_engine)
    with Session(outbox_engine) as cleanup:
        cleanup.execute(delete(OutboxMessage))
        cleanup.commit()


def committed_messages(senders: sessionmaker[Session], count: int) -> list[int]:
    with senders() as session:
        ids = [
            queue_mail(session, f"n{n}@example.org", f"Message {n}", "…").id for n in range(count)
        ]
        session.commit()
    return ids


def statuses(senders: sessionmaker[Session]) -> Counter[tuple[str, int]]:
    with senders() as session:
        rows = session.execute(select(OutboxMessage.status, OutboxMessage.attempts)).all()
    return Counter((status, attempts) for status, attempts in rows)


def test_two_senders_at_once_deliver_each_message_once(senders):
    committed_messages(senders, 20)
    reports: list[DeliveryReport] = []
    with running_smtp_server(SmtpServer(accept_delay_s=0.02)) as server:
        settings = smtp_on(server.port)
        start = threading.Barrier(2)

        def sender() -> None:
            start.wait()
            reports.append(deliver_pending(senders, settings))

        threads = [threading.Thread(target=sender) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    received = Counter(r.recipients[0] for r in server.messages)
    assert received == Counter(f"n{n}@example.org" for n in range(20))  # each once
    assert sorted(report.sent for report in reports) != [0, 20], "one sender did everything"
    assert sum(report.sent for report in reports) == 20
    assert statuses(senders) == Counter({("sent", 1): 20})


def test_a_sender_skips_a_message_being_sent_without_waiting_for_it(senders, outbox_engine):
    first = committed_messages(senders, 3)[0]
    reports: list[DeliveryReport] = []
    with outbox_engine.connect() as connection, senders() as other_sender:
        # Another sender holds the first message, mid-delivery (its transaction open).
        other_sender.scalars(
            select(OutboxMessage).where(OutboxMessage.id == first).with_for_update()
        ).one()
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        connection.rollback()
        with running_smtp_server(SmtpServer()) as server:
            settings = smtp_on(server.port)
            outcome = race_for_a_lock(
                outbox_engine,
                pid,
                lambda: reports.append(deliver_pending(sessionmaker(bind=connection), settings)),
                other_sender.rollback,
            )
    assert not outcome.waited and outcome.error is None
    assert reports == [DeliveryReport(sent=2)]
    assert sorted(r.recipients[0] for r in server.messages) == ["n1@example.org", "n2@example.org"]
    with senders() as session:
        pending = session.scalars(select(OutboxMessage.id).where(OutboxMessage.status == "pending"))
        assert pending.all() == [first]


def test_send_pending_retries_what_the_mail_server_refused_and_sends_it_once(
    senders, outbox_engine
):
    committed_messages(senders, 3)
    runner = CliRunner()

    def send_pending(port: int, *options: str):
        env = {
            "DATABASE_URL": outbox_engine.url.render_as_string(hide_password=False),
            "FONCIER_MAIL_BACKEND": "smtp",
            "FONCIER_SMTP_HOST": "127.0.0.1",
            "FONCIER_SMTP_PORT": str(port),
            "FONCIER_SMTP_TLS": "none",
            "FONCIER_BASE_URL": "https://foncier.example.org",
        }
        result = runner.invoke(main, ["mail", "send-pending", *options], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    down = unreachable_smtp().smtp_port
    assert (
        send_pending(down)
        == "0 sent, 3 to try again later, 0 failed for good (smtp mail backend).\n"
    )
    assert statuses(senders) == Counter({("pending", 1): 3})
    assert send_pending(down) == ""  # not due yet: nothing tried
    with Session(outbox_engine) as later:  # a minute later: due again
        later.execute(update(OutboxMessage).values(next_attempt_at=datetime.now(UTC)))
        later.commit()
    with running_smtp_server(SmtpServer()) as server:
        assert send_pending(server.port, "--limit", "2").startswith("2 sent, 0 to try again")
        assert send_pending(server.port).startswith("1 sent, 0 to try again")
        assert send_pending(server.port) == ""
    received = Counter(r.recipients[0] for r in server.messages)
    assert received == Counter(f"n{n}@example.org" for n in range(3))
    assert statuses(senders) == Counter({("sent", 2): 3})
