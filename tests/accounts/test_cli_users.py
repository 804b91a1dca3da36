"""`foncier user ...` against the session database (committed: every test uses new e-mails)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result
from smtp_server import SmtpServer, running_smtp_server
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from foncier.accounts import passwords, users
from foncier.accounts.passwords import SET_PASSWORD_PATH
from foncier.cli import main
from foncier.models import OutboxMessage, User
from seed.accounts import COORDINATOR_EMAIL

BASE_URL = "https://foncier.example.org"
# The CLI commits: its accounts go to an EPCI no notification test counts the référents of.
CASTELRENAUDAIS = "243700499"
LINK = re.compile(re.escape(BASE_URL + SET_PASSWORD_PATH) + r"([\w-]+)")


@pytest.fixture
def run(database_url: str) -> Iterator:
    runner = CliRunner()
    env = {
        "DATABASE_URL": database_url,
        "FONCIER_BASE_URL": BASE_URL,
        "FONCIER_MAIL_BACKEND": "outbox",
        "FONCIER_SMTP_HOST": "",
    }

    def invoke(*args: str, **extra_env: str) -> Result:
        return runner.invoke(main, ["user", *args], env={**env, **extra_env})

    yield invoke


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A plain session on the committed database, to check what the commands wrote."""
    with Session(engine) as session:
        yield session


def unique_email() -> str:
    return f"cli.{uuid.uuid4().hex[:10]}@example.org"


def token_in(output: str) -> str:
    match = LINK.search(output)
    assert match, output
    return match.group(1)


def add_referent(run, email: str) -> Result:
    return run("add", "--email", email, "--nom", "Léon Ligne", "--role", "referent",
               "--epci", CASTELRENAUDAIS)  # fmt: skip


def test_add_creates_the_account_prints_and_mails_its_link(run, db):
    email = unique_email()
    result = add_referent(run, email.upper())
    assert result.exit_code == 0, result.output
    assert f"Created {email} (referent)." in result.output
    assert "(outbox mail backend)" in result.output and "valid for 7 days" in result.output
    user = db.scalars(select(User).where(User.email == email)).one()
    assert (user.nom, user.role, user.epci_siren, user.password_hash) == (
        "Léon Ligne", "referent", CASTELRENAUDAIS, None,
    )  # fmt: skip
    token = token_in(result.output)
    assert passwords.user_for_token(db, token).id == user.id
    message = db.scalars(select(OutboxMessage).where(OutboxMessage.recipient == email)).one()
    assert f"{BASE_URL}{SET_PASSWORD_PATH}{token}" in message.body
    assert message.status == "sent"  # delivered to the outbox right after the commit


@pytest.mark.parametrize(
    "args, message",
    [
        (["--role", "referent"], "Un référent est rattaché à un EPCI"),
        (["--role", "referent", "--epci", "999999999"], "EPCI inconnu : 999999999"),
        (["--role", "partenaire", "--nom", " "], "Indiquez le nom de la personne"),
    ],
)
def test_add_refuses_bad_data_cleanly_and_writes_nothing(run, db, args, message):
    email = unique_email()
    options = {"--email": email, "--nom": "Léon Ligne"}
    options.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = run("add", *(item for pair in options.items() for item in pair))
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert db.scalar(select(User).where(User.email == email)) is None


def test_add_refuses_an_existing_email(run):
    result = run("add", "--email", COORDINATOR_EMAIL, "--nom", "X", "--role", "partenaire")
    assert result.exit_code == 1 and "Un compte existe déjà" in result.output


def test_add_refuses_an_unknown_role(run):
    result = run("add", "--email", unique_email(), "--nom", "X", "--role", "chef")
    assert result.exit_code == 2 and "'chef' is not one of" in result.output


def test_list_shows_every_account_in_a_table(run):
    email = unique_email()
    add_referent(run, email)
    result = run("list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["EMAIL", "ROLE", "EPCI", "ACTIVE", "LAST", "SIGN-IN"]
    [row] = [line for line in lines if line.startswith(email + " ")]
    assert row.split() == [email, "referent", CASTELRENAUDAIS, "yes", "never"]
    [coordinator] = [line for line in lines if line.startswith(COORDINATOR_EMAIL + " ")]
    assert coordinator.split()[1:3] == ["coordinateur", "-"]


def test_link_replaces_the_earlier_link(run, db):
    email = unique_email()
    first = token_in(add_referent(run, email).output)
    result = run("link", email)
    assert result.exit_code == 0, result.output
    second = token_in(result.output)
    assert second != first
    assert passwords.user_for_token(db, second).email == email
    with pytest.raises(users.NotFoundError):
        passwords.user_for_token(db, first)


def test_deactivate_closes_the_account(run, db):
    email = unique_email()
    add_referent(run, email)
    result = run("deactivate", f" {email.upper()} ")
    assert result.exit_code == 0 and f"Deactivated {email}." in result.output
    assert db.scalars(select(User.active).where(User.email == email)).one() is False
    assert run("link", email).exit_code == 1  # no link for a closed account


@pytest.mark.parametrize("command", ["link", "deactivate"])
def test_unknown_emails_are_a_clean_error(run, command):
    result = run(command, "personne@nulle-part.example")
    assert result.exit_code == 1
    assert "Aucun compte n’a l’adresse personne@nulle-part.example" in result.output


def test_add_sends_through_smtp_when_configured(run, db):
    email = unique_email()
    with running_smtp_server(SmtpServer()) as server:
        result = run(
            "add", "--email", email, "--nom", "Léon Ligne", "--role", "partenaire",
            FONCIER_MAIL_BACKEND="smtp", FONCIER_SMTP_HOST="127.0.0.1",
            FONCIER_SMTP_PORT=str(server.port), FONCIER_SMTP_TLS="none",
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    [received] = server.messages
    assert received.recipients == [email]
    token = token_in(result.output)
    assert token in received.message.get_content()
    message = db.scalars(select(OutboxMessage).where(OutboxMessage.recipient == email)).one()
    assert message.status == "sent" and token not in message.body  # no credential kept


def test_an_smtp_failure_still_creates_the_account_its_message_waits(run, db):
    email = unique_email()
    result = run(
        "add", "--email", email, "--nom", "X", "--role", "partenaire",
        FONCIER_MAIL_BACKEND="smtp", FONCIER_SMTP_HOST="127.0.0.1", FONCIER_SMTP_PORT="9",
        FONCIER_SMTP_TLS="none",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 of 1 messages could not be sent now" in result.output
    assert "foncier mail send-pending" in result.output
    assert db.scalars(select(User.email).where(User.email == email)).one() == email
    message = db.scalars(select(OutboxMessage).where(OutboxMessage.recipient == email)).one()
    assert (message.status, message.attempts) == ("pending", 1)
    assert "127.0.0.1:9" in (message.last_error or "")
    assert token_in(result.output) in message.body  # kept until it leaves
    # The database is shared: no pending message is left for other tests' senders.
    db.execute(delete(OutboxMessage).where(OutboxMessage.id == message.id))
    db.commit()
