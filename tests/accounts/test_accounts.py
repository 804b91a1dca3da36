"""Accounts in the core: hashing, sign-in throttling, one-time links, management rights."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from concurrency import race_for_a_lock
from sqlalchemy import delete, func, select
from sqlalchemy.orm import sessionmaker

from foncier.accounts import passwords, sessions, signin, users
from foncier.accounts.passwords import LINK_VALIDITY, SET_PASSWORD_PATH
from foncier.accounts.signin import (
    MAX_FAILURES_PER_ACCOUNT,
    MAX_FAILURES_PER_ADDRESS,
    MAX_FAILURES_PER_EMAIL,
    THROTTLE_WINDOW,
    LoginThrottledError,
)
from foncier.accounts.users import UserSort
from foncier.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from foncier.core.permissions import Actor, Role
from foncier.messaging import outbox as messaging_outbox
from foncier.messaging.mail import links_start_with
from foncier.models import LoginAttempt, OutboxMessage, PasswordToken, User
from seed.accounts import COORDINATOR_EMAIL, PARTNER_EMAIL

GATINE_RACAN = "200073237"
PASSWORD = "une phrase assez longue"
NOW = datetime(2031, 3, 14, 9, 30, tzinfo=UTC)
SESSION_LIFETIME = timedelta(hours=12)
BASE_URL = "https://foncier.example.org"
ADMIN = Actor.system("tests")


def unique_email(prefix: str = "personne") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}@example.org"


def new_user(session, role=Role.PARTENAIRE, epci=None, password=PASSWORD) -> User:
    return users.create_user(
        session, ADMIN, email=unique_email(), nom="Camille Essai", role=role,
        epci_siren=epci, password=password,
    )  # fmt: skip


def actor_of(session, email: str) -> Actor:
    return Actor.of(session.scalars(select(User).where(User.email == email)).one())


@pytest.fixture
def coordinator(session) -> Actor:
    return actor_of(session, COORDINATOR_EMAIL)


@pytest.fixture
def referent() -> Actor:
    return Actor("referent@example.org", Role.REFERENT, user_id=-1, epci_siren=GATINE_RACAN)


@pytest.fixture
def partner(session) -> Actor:
    return actor_of(session, PARTNER_EMAIL)


def open_session(session, user: User) -> str:
    return sessions.open_session(session, user, SESSION_LIFETIME)


def session_user(session, key: str) -> User | None:
    return sessions.user_of_session(session, key, SESSION_LIFETIME)


def sign_in(session, user: User, password: str, at: datetime, address: str = "192.0.2.1"):
    return signin.authenticate(session, user.email, password, address, now=at)


# --- passwords ----------------------------------------------------------------------------------


def test_passwords_are_stored_as_argon2id_hashes_never_in_clear(session):
    user = new_user(session)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert passwords.password_matches(user.password_hash, PASSWORD)
    assert not passwords.password_matches(user.password_hash, PASSWORD + "!")
    assert not passwords.password_matches(None, PASSWORD)
    assert not passwords.password_matches("not a hash", PASSWORD)


def test_sign_in_with_the_right_password_records_the_time(session):
    user = new_user(session)
    assert sign_in(session, user, PASSWORD, NOW) is user
    assert user.last_login_at == NOW


@pytest.mark.parametrize("password", ["wrong password!", "", PASSWORD.upper()])
def test_a_wrong_password_opens_nothing_and_is_recorded(session, password):
    user = new_user(session)
    assert sign_in(session, user, password, NOW) is None
    assert user.last_login_at is None
    attempt = session.scalars(select(LoginAttempt).where(LoginAttempt.email == user.email)).one()
    assert (attempt.succeeded, attempt.remote_addr, attempt.at) == (False, "192.0.2.1", NOW)


def test_the_e_mail_is_matched_whatever_its_case_and_spaces(session):
    user = new_user(session)
    found = signin.authenticate(session, f"  {user.email.upper()} ", PASSWORD, None, now=NOW)
    assert found is user


def test_unknown_inactive_and_password_less_accounts_cannot_sign_in(session):
    assert signin.authenticate(session, unique_email(), PASSWORD, None, now=NOW) is None
    inactive = new_user(session)
    inactive.active = False
    assert sign_in(session, inactive, PASSWORD, NOW) is None
    waiting = new_user(session, password=None)
    assert sign_in(session, waiting, "", NOW) is None


def test_after_five_failures_even_the_right_password_is_refused(session):
    user = new_user(session)
    for minute in range(MAX_FAILURES_PER_EMAIL):
        assert sign_in(session, user, "wrong", NOW + timedelta(minutes=minute)) is None
    later = NOW + timedelta(minutes=MAX_FAILURES_PER_EMAIL)
    with pytest.raises(LoginThrottledError, match="réessayez dans 15 minutes"):
        sign_in(session, user, PASSWORD, later)
    assert user.last_login_at is None


def test_simultaneous_failures_are_counted_one_after_another(engine):
    """The probe sent 30 wrong passwords at once and 6 were checked: each read « 4 failures
    so far » before any was committed. An attempt now waits for the one before it, and the
    attempt after the fifth failure is refused without its password being checked."""
    email, address = unique_email(), "203.0.113.77"
    factory = sessionmaker(engine)
    try:
        with factory.begin() as earlier:
            for _ in range(MAX_FAILURES_PER_EMAIL - 1):
                assert signin.authenticate(earlier, email, "wrong", address) is None
        with factory() as fifth, factory() as sixth:
            assert signin.authenticate(fifth, email, "wrong", address) is None

            def attempt_sixth() -> None:
                signin.authenticate(sixth, email, "wrong", address)
                sixth.commit()

            outcome = race_for_a_lock(engine, backend_pid(sixth), attempt_sixth, fifth.commit)
        assert outcome.waited
        assert isinstance(outcome.error, LoginThrottledError)
    finally:
        with factory.begin() as cleanup:
            cleanup.execute(delete(LoginAttempt).where(LoginAttempt.email == email))


def backend_pid(session) -> int:
    return session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()


def test_failures_from_a_stranger_do_not_lock_the_owner_out(session):
    user = new_user(session)
    for _ in range(MAX_FAILURES_PER_EMAIL):
        sign_in(session, user, "wrong", NOW, address="198.51.100.66")
    with pytest.raises(LoginThrottledError):
        sign_in(session, user, PASSWORD, NOW, address="198.51.100.66")
    assert sign_in(session, user, PASSWORD, NOW, address="192.0.2.10") is user


def test_guessing_one_account_from_many_addresses_is_throttled(session):
    user = new_user(session)
    # Recorded directly: fifty real attempts would only make the test verify fifty hashes.
    session.add_all(
        LoginAttempt(email=user.email, remote_addr=f"10.0.0.{n}", succeeded=False, at=NOW)
        for n in range(MAX_FAILURES_PER_ACCOUNT - 1)
    )
    assert sign_in(session, user, "wrong", NOW, address="10.0.1.1") is None
    with pytest.raises(LoginThrottledError):
        sign_in(session, user, PASSWORD, NOW, address="192.0.2.10")


def test_four_failures_do_not_throttle(session):
    user = new_user(session)
    for minute in range(MAX_FAILURES_PER_EMAIL - 1):
        sign_in(session, user, "wrong", NOW + timedelta(minutes=minute))
    assert sign_in(session, user, PASSWORD, NOW + timedelta(minutes=5)) is user


def test_the_throttle_ends_with_its_window(session):
    user = new_user(session)
    for _ in range(MAX_FAILURES_PER_EMAIL):
        sign_in(session, user, "wrong", NOW)
    with pytest.raises(LoginThrottledError):
        sign_in(session, user, PASSWORD, NOW + THROTTLE_WINDOW - timedelta(seconds=1))
    assert sign_in(session, user, PASSWORD, NOW + THROTTLE_WINDOW + timedelta(seconds=1)) is user


def test_one_address_failing_on_many_accounts_is_throttled(session):
    address = "203.0.113.9"
    for _ in range(MAX_FAILURES_PER_ADDRESS):
        signin.authenticate(session, unique_email("devine"), "wrong", address, now=NOW)
    user = new_user(session)
    with pytest.raises(LoginThrottledError):
        sign_in(session, user, PASSWORD, NOW, address=address)
    assert sign_in(session, user, PASSWORD, NOW, address="192.0.2.200") is user


def test_changing_the_password_checks_the_current_one_and_ends_the_sessions(session):
    user = new_user(session)
    key = open_session(session, user)
    with pytest.raises(ValidationError) as wrong:
        passwords.change_password(session, user, "not it", "un tout nouveau mot de passe")
    assert set(wrong.value.errors) == {"current_password"}
    with pytest.raises(ValidationError) as short:
        passwords.change_password(session, user, PASSWORD, "court")
    assert "12 caractères" in short.value.errors["password"]
    assert session_user(session, key) is user
    passwords.change_password(session, user, PASSWORD, "un tout nouveau mot de passe")
    assert session_user(session, key) is None
    assert passwords.password_matches(user.password_hash, "un tout nouveau mot de passe")
    assert not passwords.password_matches(user.password_hash, PASSWORD)


# --- one-time links -----------------------------------------------------------------------------


def test_a_link_sets_the_password_once(session):
    user = new_user(session, password=None)
    token = passwords.issue_password_link(session, user, now=NOW)
    assert passwords.user_for_token(session, token, now=NOW) is user
    key = open_session(session, user)
    passwords.set_password_with_token(session, token, PASSWORD, now=NOW + timedelta(hours=1))
    assert passwords.password_matches(user.password_hash, PASSWORD)
    assert session_user(session, key) is None
    assert user.last_login_at == NOW + timedelta(hours=1)
    with pytest.raises(NotFoundError, match="expiré ou a déjà servi"):
        passwords.set_password_with_token(session, token, "une autre phrase longue", now=NOW)
    assert passwords.password_matches(user.password_hash, PASSWORD)


def test_only_a_hash_of_the_token_is_stored(session):
    user = new_user(session, password=None)
    token = passwords.issue_password_link(session, user, now=NOW)
    stored = [row.token_hash for row in session.scalars(select(PasswordToken))]
    assert token not in stored and len(token) >= 40


def test_a_link_expires(session):
    user = new_user(session, password=None)
    token = passwords.issue_password_link(session, user, now=NOW)
    assert passwords.user_for_token(session, token, now=NOW + LINK_VALIDITY - timedelta(seconds=1))
    with pytest.raises(NotFoundError):
        passwords.set_password_with_token(session, token, PASSWORD, now=NOW + LINK_VALIDITY)
    assert user.password_hash is None


def test_a_short_password_leaves_the_link_usable(session):
    user = new_user(session, password=None)
    token = passwords.issue_password_link(session, user, now=NOW)
    with pytest.raises(ValidationError):
        passwords.set_password_with_token(session, token, "court", now=NOW)
    assert passwords.user_for_token(session, token, now=NOW) is user


def test_a_new_link_revokes_the_older_ones(session):
    user = new_user(session, password=None)
    first = passwords.issue_password_link(session, user, now=NOW)
    second = passwords.issue_password_link(session, user, now=NOW + timedelta(minutes=1))
    with pytest.raises(NotFoundError):
        passwords.user_for_token(session, first, now=NOW + timedelta(minutes=2))
    assert passwords.user_for_token(session, second, now=NOW + timedelta(minutes=2)) is user


def test_unknown_tokens_and_deactivated_accounts_open_nothing(session, coordinator):
    with pytest.raises(NotFoundError):
        passwords.user_for_token(session, "made-up-token")
    user = new_user(session, password=None)
    token = passwords.issue_password_link(session, user)
    users.deactivate_user(session, coordinator, user)
    with pytest.raises(NotFoundError):
        passwords.user_for_token(session, token)


def test_inviting_creates_a_password_less_account_and_mails_its_link(session, coordinator):
    email = unique_email("nouvelle")
    links_start_with(session, BASE_URL + "/")
    link = users.invite_user(
        session, coordinator, email=email.upper(), nom=" Amélie Poulain ",
        role=Role.REFERENT, epci_siren=GATINE_RACAN,
    )  # fmt: skip
    user = link.user
    assert (user.email, user.nom, user.role, user.epci_siren) == (
        email, "Amélie Poulain", "referent", GATINE_RACAN,
    )  # fmt: skip
    assert user.password_hash is None and user.active
    parts = urlsplit(link.url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE_URL
    assert parts.path.startswith(SET_PASSWORD_PATH)
    token = parts.path.removeprefix(SET_PASSWORD_PATH)
    assert passwords.user_for_token(session, token) is user
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == email)).one()
    assert "choisissez votre mot de passe" in message.subject
    assert link.url in message.body and "Gâtine-Racan" in message.body
    assert "Amélie Poulain" in message.body and "7 jours" in message.body
    assert message.status == "pending"  # it leaves after the commit


def test_a_new_link_for_an_account_with_a_password_says_so(session, coordinator):
    user = new_user(session)
    link = users.send_password_link(session, coordinator, user)
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == user.email))
    assert "nouveau lien" in message.one().subject
    assert passwords.password_matches(user.password_hash, PASSWORD)  # still valid meanwhile
    assert link.user is user


def test_no_link_for_a_deactivated_account(session, coordinator):
    user = new_user(session)
    users.deactivate_user(session, coordinator, user)
    with pytest.raises(ValidationError, match="désactivé"):
        users.send_password_link(session, coordinator, user)


# --- managing accounts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"email": "pas-une-adresse"}, "email"),
        ({"email": COORDINATOR_EMAIL.upper()}, "email"),
        ({"nom": "   "}, "nom"),
        ({"nom": '=HYPERLINK("http://evil.example")'}, "nom"),
        ({"email": "=1+1@example.org"}, "email"),
        ({"role": Role.REFERENT, "epci_siren": None}, "epci_siren"),
        ({"role": Role.REFERENT, "epci_siren": "999999999"}, "epci_siren"),
    ],
)
def test_account_data_is_checked_field_by_field(session, coordinator, fields, field):
    data = {"email": unique_email(), "nom": "Camille", "role": Role.PARTENAIRE, **fields}
    with pytest.raises(ValidationError) as refused:
        users.create_user(session, coordinator, **data)
    assert set(refused.value.errors) == {field}


def test_an_epci_is_only_kept_for_a_referent(session, coordinator):
    user = users.create_user(
        session, coordinator, email=unique_email(), nom="Camille", role=Role.PARTENAIRE,
        epci_siren=GATINE_RACAN,
    )  # fmt: skip
    assert user.epci_siren is None


def test_referents_and_partners_manage_no_account(session, referent, partner):
    before = session.scalar(select(func.count()).select_from(User))
    target = session.scalars(select(User).where(User.email == COORDINATOR_EMAIL)).one()
    for actor in (referent, partner):
        attempts = [
            lambda a=actor: users.create_user(
                session, a, email=unique_email(), nom="X", role=Role.PARTENAIRE
            ),
            lambda a=actor: users.invite_user(
                session, a, email=unique_email(), nom="X", role=Role.PARTENAIRE
            ),
            lambda a=actor: users.list_users(session, a),
            lambda a=actor: users.get_user(session, a, target.id),
            lambda a=actor: users.find_user(session, a, COORDINATOR_EMAIL),
            lambda a=actor: users.send_password_link(session, a, target),
            lambda a=actor: users.deactivate_user(session, a, target),
            lambda a=actor: users.reactivate_user(session, a, target),
        ]
        for attempt in attempts:
            with pytest.raises(PermissionDeniedError, match="gèrent les comptes"):
                attempt()
        assert users.assignable_roles(actor) == []
    assert session.scalar(select(func.count()).select_from(User)) == before
    assert target.active


def test_only_an_administrator_creates_or_changes_an_administrator(session, coordinator):
    assert Role.ADMIN not in users.assignable_roles(coordinator)
    with pytest.raises(PermissionDeniedError, match="administrateur"):
        users.create_user(session, coordinator, email=unique_email(), nom="X", role=Role.ADMIN)
    admin = users.create_user(session, ADMIN, email=unique_email(), nom="X", role=Role.ADMIN)
    with pytest.raises(PermissionDeniedError):
        users.deactivate_user(session, coordinator, admin)
    assert admin.active
    assert users.assignable_roles(ADMIN) == list(Role)


def test_deactivating_ends_sessions_and_can_be_undone(session, coordinator):
    user = new_user(session)
    key = open_session(session, user)
    users.deactivate_user(session, coordinator, user)
    assert not user.active and session_user(session, key) is None
    assert sign_in(session, user, PASSWORD, NOW) is None
    users.reactivate_user(session, coordinator, user)
    assert user.active and sign_in(session, user, PASSWORD, NOW) is user
    # Sessions opened before the deactivation stay closed.
    assert session_user(session, key) is None


def test_nobody_deactivates_their_own_account(session, coordinator):
    me = session.get(User, coordinator.user_id)
    with pytest.raises(ValidationError, match="propre compte"):
        users.deactivate_user(session, coordinator, me)
    assert me.active


def test_finding_accounts(session, coordinator):
    user = new_user(session)
    assert users.get_user(session, coordinator, user.id) is user
    assert users.find_user(session, coordinator, f" {user.email.upper()}") is user
    with pytest.raises(NotFoundError):
        users.get_user(session, coordinator, -5)
    with pytest.raises(NotFoundError, match=r"inconnu@example\.org"):
        users.find_user(session, coordinator, "inconnu@example.org")


@pytest.mark.parametrize("sort", list(UserSort))
def test_the_account_list_has_every_account_in_each_order(session, coordinator, sort):
    listed = users.list_users(session, coordinator, sort)
    assert len(listed) == session.scalar(select(func.count()).select_from(User))
    assert len({user.id for user in listed}) == len(listed)


def test_account_list_orders(session, coordinator):
    recent, earlier = new_user(session), new_user(session)
    sign_in(session, recent, PASSWORD, NOW + timedelta(days=3650))
    sign_in(session, earlier, PASSWORD, NOW + timedelta(days=3649))
    by_login = users.list_users(session, coordinator, UserSort.LAST_LOGIN)
    assert by_login[:2] == [recent, earlier]
    assert by_login[-1].last_login_at is None
    emails = [u.email for u in users.list_users(session, coordinator, UserSort.EMAIL)]
    assert emails == sorted(emails)
    by_epci = users.list_users(session, coordinator, UserSort.EPCI)
    assert by_epci[0].epci is not None and by_epci[-1].epci is None
    inactive = new_user(session)
    users.deactivate_user(session, coordinator, inactive)
    assert users.list_users(session, coordinator, UserSort.ACTIVE)[-1].active is False


def test_the_outbox_hides_the_links_its_reader_could_not_issue(session):
    admin_actor = Actor("admin", Role.ADMIN, None)
    admin = new_user(session, role=Role.ADMIN, password=None)
    colleague = new_user(session, role=Role.COORDINATEUR, password=None)
    links = {
        user.email: users.send_password_link(session, admin_actor, user).url
        for user in (admin, colleague)
    }
    coordinator = Actor.of(
        session.scalars(select(User).where(User.email == COORDINATOR_EMAIL)).one()
    )

    def bodies(actor: Actor) -> dict[str, str]:
        outbox = messaging_outbox.readable_outbox(session, actor, per_page=100)
        return {message.recipient: message.body for message in outbox.messages}

    as_coordinator, as_admin = bodies(coordinator), bodies(admin_actor)
    assert links[admin.email] not in as_coordinator[admin.email]
    assert messaging_outbox.MASKED_LINK in as_coordinator[admin.email]
    assert links[colleague.email] in as_coordinator[colleague.email]
    assert links[admin.email] in as_admin[admin.email]
