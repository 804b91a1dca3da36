"""Sign-in, sign-out, passwords, one-time links and the account pages, through HTTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pytest
from case_helpers import delivered_once_when_back, unreachable_smtp, waiting
from flask.testing import FlaskClient
from sqlalchemy import func, inspect, select
from web_helpers import (
    TEST_CONFIG,
    csrf_token_of,
    page_of,
    post_form,
    sign_in,
    unique_email,
)

from foncier.accounts import passwords, sessions, users
from foncier.accounts.passwords import SET_PASSWORD_PATH
from foncier.accounts.signin import MAX_FAILURES_PER_EMAIL
from foncier.core.permissions import Actor, Role
from foncier.messaging.delivery import MAX_ATTEMPTS, deliver_pending
from foncier.messaging.mail import MailSettings, queue_mail
from foncier.models import OutboxMessage, User, WebSession
from foncier.web import create_app
from seed.accounts import COORDINATOR_EMAIL, PARTNER_EMAIL

GATINE_RACAN = "200073237"
REFERENT_EMAIL = "referent.gatine-racan@demo.foncier.test"
PASSWORD = "une phrase assez longue"
NEW_PASSWORD = "une autre phrase, plus longue"
ADMIN = Actor.system("tests")


def new_user(session, role=Role.PARTENAIRE, password: str | None = PASSWORD) -> User:
    return users.create_user(
        session, ADMIN, email=unique_email(), nom="Camille Essai", role=role, password=password
    )


def sign_in_through_the_form(client: FlaskClient, email: str, password: str, next_url: str = ""):
    login = "/connexion" + (f"?next={next_url}" if next_url else "")
    return post_form(
        client, "/connexion", {"email": email, "password": password, "next": next_url}, login
    )


def is_signed_in(client: FlaskClient) -> bool:
    return client.get("/sites").status_code == 200


@pytest.fixture
def coordinator_client(client_for) -> FlaskClient:
    return client_for(COORDINATOR_EMAIL)


# --- sign-in and sign-out -----------------------------------------------------------------------


def test_signing_in_opens_the_platform(anonymous_client, session):
    user = new_user(session)
    assert anonymous_client.get("/sites").status_code == 302
    response = sign_in_through_the_form(anonymous_client, user.email.upper(), PASSWORD)
    assert response.status_code == 302 and response.location == "/"
    page = page_of(anonymous_client.get("/sites"))
    assert page.status == 200 and "Camille Essai" in page.text
    assert "Se déconnecter" in page.text


def test_a_wrong_password_says_so_in_french(anonymous_client, session):
    user = new_user(session)
    page = page_of(sign_in_through_the_form(anonymous_client, user.email, "pas le bon"))
    assert page.status == 400
    assert "Adresse électronique ou mot de passe incorrect." in page.text
    assert f'value="{user.email}"' in page.html  # typed e-mail kept, password not
    assert not is_signed_in(anonymous_client)


def test_too_many_failures_refuse_even_the_right_password(anonymous_client, session):
    user = new_user(session)
    for _ in range(MAX_FAILURES_PER_EMAIL):
        sign_in_through_the_form(anonymous_client, user.email, "pas le bon")
    page = page_of(sign_in_through_the_form(anonymous_client, user.email, PASSWORD))
    assert page.status == 400
    assert "Trop de tentatives de connexion infructueuses : réessayez dans 15 minutes." in page.text
    assert not is_signed_in(anonymous_client)


def test_signing_in_starts_a_new_session(anonymous_client, session):
    user = new_user(session)
    with anonymous_client.session_transaction() as cookie:
        cookie["planted"] = "by someone else"  # e.g. a fixed session
    sign_in_through_the_form(anonymous_client, user.email, PASSWORD)
    with anonymous_client.session_transaction() as cookie:
        assert "planted" not in cookie and "csrf_token" not in cookie
        key = cookie["session_key"]
    assert (
        sessions.user_of_session(
            session, key, anonymous_client.application.permanent_session_lifetime
        )
        is user
    )


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "http:evil.example",
        "sites",
    ],
)
def test_next_never_leaves_the_site(anonymous_client, session, target):
    user = new_user(session)
    response = sign_in_through_the_form(anonymous_client, user.email, PASSWORD, target)
    assert response.status_code == 302
    assert response.location == "/"


def test_next_leads_back_to_the_page_asked_for(anonymous_client, session):
    user = new_user(session)
    first = anonymous_client.get("/sites?page=2")
    assert first.status_code == 302
    next_url = urlsplit(first.location).query.removeprefix("next=")
    assert next_url == "/sites?page%3D2"
    response = sign_in_through_the_form(anonymous_client, user.email, PASSWORD, "/sites?page=2")
    assert response.location == "/sites?page=2"


def test_signing_out_needs_a_post_with_its_token(client):
    assert client.get("/deconnexion").status_code == 405
    assert client.post("/deconnexion").status_code == 400  # no CSRF token
    assert is_signed_in(client)
    response = post_form(client, "/deconnexion", form_page="/sites")
    assert response.status_code == 302 and response.location == "/connexion"
    assert not is_signed_in(client)
    assert "Vous êtes déconnecté." in page_of(client.get("/connexion")).text


def test_a_cookie_copied_before_signing_out_opens_nothing_after(client):
    """The probe replayed a copied cookie after « Se déconnecter »: it read /projets and the
    API for twelve hours. Signing out now ends the session on the server."""
    copy = client.get_cookie("session")
    assert copy is not None and client.get("/projets").status_code == 200
    post_form(client, "/deconnexion", form_page="/sites")
    client.set_cookie("session", copy.value)
    assert client.get("/projets").status_code == 302
    assert client.get("/api/sites").status_code == 401


def test_the_person_comes_with_their_epci_s_name_but_not_its_outline(app, session):
    referent = session.scalars(select(User).where(User.email == REFERENT_EMAIL)).one()
    key = sessions.open_session(session, referent, app.permanent_session_lifetime)
    session.expunge_all()  # as in a new request
    user = sessions.user_of_session(session, key, app.permanent_session_lifetime)
    assert user is not None and user.email == REFERENT_EMAIL
    state = inspect(user.epci)
    assert "nom" not in state.unloaded and "geom" in state.unloaded


def test_a_session_older_than_the_lifetime_is_refused_by_the_server(app, session):
    user = new_user(session)
    lifetime = app.permanent_session_lifetime
    key = sessions.open_session(session, user, lifetime, now=datetime.now(UTC) - lifetime)
    assert sessions.user_of_session(session, key, lifetime) is None
    fresh = sessions.open_session(session, user, lifetime)
    assert sessions.user_of_session(session, fresh, lifetime) is user
    # Opening a session purged the expired one.
    assert session.scalar(select(func.count()).where(WebSession.user_id == user.id)) == 1


# --- cookies ------------------------------------------------------------------------------------


def cookie_app(session_factory, monkeypatch, env: dict[str, str], **config):
    for name in ("FONCIER_COOKIE_SECURE", "FONCIER_SESSION_HOURS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return create_app({**TEST_CONFIG, "SESSION_FACTORY": session_factory, **config})


def test_cookies_are_secure_in_production_and_last_twelve_hours(
    session_factory, session, monkeypatch
):
    app = cookie_app(session_factory, monkeypatch, {})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.permanent_session_lifetime == timedelta(hours=12)
    user = new_user(session)
    response = sign_in_through_the_form(app.test_client(), user.email, PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))
    assert abs(expires - datetime.now(UTC) - timedelta(hours=12)) < timedelta(minutes=5)


@pytest.mark.parametrize(
    "env, config, secure",
    [
        ({}, {"TESTING": True}, False),
        ({}, {"DEBUG": True}, False),
        ({"FONCIER_COOKIE_SECURE": "0"}, {}, False),
        ({"FONCIER_COOKIE_SECURE": "1"}, {"DEBUG": True}, True),
    ],
)
def test_plain_http_cookies_for_tests_debugging_or_when_asked(
    session_factory, monkeypatch, env, config, secure
):
    app = cookie_app(session_factory, monkeypatch, env, **config)
    assert app.config["SESSION_COOKIE_SECURE"] is secure


def test_the_session_lifetime_is_configurable(session_factory, monkeypatch):
    app = cookie_app(session_factory, monkeypatch, {"FONCIER_SESSION_HOURS": "2"})
    assert app.permanent_session_lifetime == timedelta(hours=2)
    with pytest.raises(Exception, match="FONCIER_SESSION_HOURS"):
        cookie_app(session_factory, monkeypatch, {"FONCIER_SESSION_HOURS": "forever"})


# --- changing one's password --------------------------------------------------------------------


def test_changing_the_password_signs_out_the_other_sessions_only(app, session):
    user = new_user(session)
    here, elsewhere = (sign_in(app.test_client(), session, user.email) for _ in range(2))
    response = post_form(
        here,
        "/mot-de-passe",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirmation": NEW_PASSWORD},
    )
    assert response.status_code == 302 and response.location == "/mot-de-passe"
    assert "Votre mot de passe est changé." in page_of(here.get("/mot-de-passe")).text
    assert is_signed_in(here)
    assert not is_signed_in(elsewhere)
    session.refresh(user)  # the requests wrote through their own sessions
    assert passwords.password_matches(user.password_hash, NEW_PASSWORD)


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"current_password": "pas le bon", "password": NEW_PASSWORD,
             "confirmation": NEW_PASSWORD},
            "Mot de passe actuel incorrect.",
        ),
        (
            {"current_password": PASSWORD, "password": NEW_PASSWORD,
             "confirmation": NEW_PASSWORD + "x"},
            "Les deux saisies du mot de passe diffèrent.",
        ),
        (
            {"current_password": PASSWORD, "password": "court", "confirmation": "court"},
            "Entre 12 et 1 024 caractères.",
        ),
    ],
)  # fmt: skip
def test_a_refused_password_change_changes_nothing(app, session, data, message):
    user = new_user(session)
    client = sign_in(app.test_client(), session, user.email)
    page = page_of(post_form(client, "/mot-de-passe", data))
    assert page.status == 400 and message in page.text
    session.refresh(user)
    assert passwords.password_matches(user.password_hash, PASSWORD)
    assert is_signed_in(client)


# --- one-time links -----------------------------------------------------------------------------


def link_path(session, user: User, now: datetime | None = None) -> str:
    return passwords.set_password_path(passwords.issue_password_link(session, user, now))


def test_a_link_lets_its_owner_choose_a_password_and_signs_them_in(anonymous_client, session):
    user = new_user(session, password=None)
    path = link_path(session, user)
    form = anonymous_client.get(path)
    assert form.status_code == 200 and "Camille Essai" in page_of(form).text
    assert form.headers["Cache-Control"] == "no-store"
    assert form.headers["Referrer-Policy"] == "no-referrer"
    mismatch = {"password": NEW_PASSWORD, "confirmation": "autre chose encore"}
    assert post_form(anonymous_client, path, mismatch).status_code == 400
    response = post_form(
        anonymous_client, path, {"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD}
    )
    assert response.status_code == 302 and response.location == "/"
    assert is_signed_in(anonymous_client)
    session.refresh(user)
    assert passwords.password_matches(user.password_hash, NEW_PASSWORD)
    used = page_of(anonymous_client.get(path))
    assert used.status == 404 and "Ce lien n’est plus valide" in used.text


def test_an_expired_link_shows_a_clear_page(anonymous_client, session):
    user = new_user(session, password=None)
    path = link_path(session, user, now=datetime.now(UTC) - timedelta(days=8))
    page = page_of(anonymous_client.get(path))
    assert page.status == 404
    assert "a expiré, a déjà servi" in page.text and "Demandez un nouveau lien" in page.text
    response = post_form(anonymous_client, path, {"password": PASSWORD, "confirmation": PASSWORD},
                         form_page="/connexion")  # fmt: skip
    assert response.status_code == 404
    session.refresh(user)
    assert user.password_hash is None


def test_the_link_route_is_the_path_the_core_prints(app):
    rules = {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()}
    assert rules["auth.set_password"] == SET_PASSWORD_PATH + "<token>"


# --- the account pages --------------------------------------------------------------------------


def test_the_coordinator_lists_the_accounts_sortably(coordinator_client, get_page):
    page = get_page("/comptes", through=coordinator_client)
    assert page.status == 200
    emails = page.values("data-user-email")
    assert COORDINATOR_EMAIL in emails and REFERENT_EMAIL in emails
    assert "Dernière connexion" in page.text and "Gâtine-Racan" in page.text
    by_email = get_page("/comptes?tri=email", through=coordinator_client).values("data-user-email")
    assert by_email == sorted(by_email) and set(by_email) == set(emails)
    assert (
        'aria-sort="ascending"' in get_page("/comptes?tri=email", through=coordinator_client).html
    )
    assert get_page("/comptes?tri=n-importe", through=coordinator_client).status == 200


def test_the_menu_shows_the_account_pages_to_account_managers_only(
    coordinator_client, client, get_page
):
    assert "Messages envoyés" in get_page("/sites", through=coordinator_client).text
    assert "Comptes" in get_page("/sites", through=coordinator_client).text
    partner_menu = get_page("/sites", through=client).text
    assert "Messages envoyés" not in partner_menu and "Mon mot de passe" in partner_menu


def create_account(client: FlaskClient, **fields: str):
    data = {"email": unique_email("cree"), "nom": "Léa Martin", "role": "referent",
            "epci_siren": GATINE_RACAN, **fields}  # fmt: skip
    return data, post_form(client, "/comptes/nouveau", data)


def test_the_coordinator_creates_a_referent_and_sees_the_link(
    coordinator_client, anonymous_client, session
):
    data, response = create_account(coordinator_client)
    page = page_of(response)
    assert page.status == 201 and "Compte créé" in page.text
    assert "Environnement de développement" in page.text
    assert response.headers["Cache-Control"] == "no-store"
    user = session.scalars(select(User).where(User.email == data["email"])).one()
    assert (user.role, user.epci_siren, user.password_hash) == ("referent", GATINE_RACAN, None)
    link = page.element_text("lien-mot-de-passe")
    assert link.startswith("http://localhost" + SET_PASSWORD_PATH)
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == user.email))
    assert link in message.one().body
    assert anonymous_client.get(urlsplit(link).path).status_code == 200


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"epci_siren": ""}, "Un référent est rattaché à un EPCI : choisissez-le."),
        ({"role": "partenaire"}, "Seul un référent est rattaché à un EPCI"),
        ({"email": COORDINATOR_EMAIL}, "Un compte existe déjà avec cette adresse."),
        ({"email": "pas-une-adresse"}, "Adresse électronique invalide."),
        ({"role": "admin"}, "Choisissez un des rôles proposés."),
        ({"epci_siren": "123456789"}, "Choisissez un des EPCI proposés."),
        ({"nom": "  "}, "Indiquez le nom de la personne."),
    ],
)
def test_refused_account_data_is_explained_beside_the_field(
    coordinator_client, session, fields, message
):
    before = session.scalar(select(func.count()).select_from(User))
    data, response = create_account(coordinator_client, **fields)
    page = page_of(response)
    assert page.status == 400 and message in page.text
    assert 'aria-invalid="true"' in page.html
    # What was typed is shown back, to be corrected rather than typed again.
    assert f'value="{data["email"]}"' in page.html
    assert 'value="Léa Martin"' in page.html or not data["nom"].strip()
    assert session.scalar(select(func.count()).select_from(User)) == before


def test_the_coordinator_is_not_offered_the_administrator_role(coordinator_client, get_page):
    roles = re.findall(
        r'<option[^>]*value="(\w+)"', get_page("/comptes/nouveau", through=coordinator_client).html
    )
    assert {"referent", "coordinateur", "partenaire"} <= set(roles) and "admin" not in roles


def test_deactivating_and_reactivating_an_account(coordinator_client, app, session, get_page):
    user = new_user(session)
    theirs = sign_in(app.test_client(), session, user.email)
    url = f"/comptes/{user.id}/desactiver"
    confirm = get_page(url, through=coordinator_client)
    assert confirm.status == 200 and user.email in confirm.text
    response = post_form(coordinator_client, url)
    assert response.status_code == 302 and response.location == "/comptes"
    session.refresh(user)
    assert not user.active and not is_signed_in(theirs)
    assert "est désactivé" in get_page("/comptes", through=coordinator_client).text
    response = post_form(coordinator_client, f"/comptes/{user.id}/reactiver")
    session.refresh(user)
    assert response.status_code == 302 and user.active


def test_the_coordinator_cannot_deactivate_their_own_account(coordinator_client, session):
    me = session.scalars(select(User).where(User.email == COORDINATOR_EMAIL)).one()
    page = page_of(post_form(coordinator_client, f"/comptes/{me.id}/desactiver"))
    assert page.status == 400 and "propre compte" in page.text
    session.refresh(me)
    assert me.active


def test_a_new_link_replaces_the_old_one(coordinator_client, anonymous_client, session):
    user = new_user(session, password=None)
    old_path = link_path(session, user)
    page = page_of(post_form(coordinator_client, f"/comptes/{user.id}/nouveau-lien"))
    assert page.status == 200 and "Nouveau lien envoyé" in page.text
    new_path = urlsplit(page.element_text("lien-mot-de-passe")).path
    assert anonymous_client.get(old_path).status_code == 404
    assert anonymous_client.get(new_path).status_code == 200


def test_unknown_accounts_are_404(coordinator_client):
    assert coordinator_client.get("/comptes/999999/desactiver").status_code == 404


def test_the_outbox_shows_the_newest_messages_first_by_pages(coordinator_client, session):
    for number in range(25):
        queue_mail(session, f"n{number}@example.org", f"Sujet {number:02}", "…")
    first = page_of(coordinator_client.get("/messages"))
    assert first.status == 200 and "Environnement de développement" in first.text
    assert first.values("data-recipient")[:2] == ["n24@example.org", "n23@example.org"]
    # ui.pagination: « 1 » (the current page), « 2 », « Suivante › »
    pages = ["/messages?page=1", "/messages?page=2", "/messages?page=2"]
    assert [href for href in first.values("href") if "page=" in href] == pages
    second = page_of(coordinator_client.get("/messages?page=2"))
    assert "Sujet 04" in second.text and "Sujet 24" not in second.text
    assert page_of(coordinator_client.get("/messages?page=abc")).status == 200


def test_the_outbox_shows_where_each_message_stands(
    app, coordinator_client, session_factory, session
):
    """Sent, waiting for another attempt after an error, or given up: as the coordinator
    reads them, in French, with the last error and the attempts."""
    sent, waiting_one, given_up = (
        queue_mail(session, f"{name}@example.org", f"Sujet {name}", "…")
        for name in ("parti", "attente", "abandon")
    )
    deliver_pending(session_factory, MailSettings(), ids=[sent.id])
    given_up.attempts = MAX_ATTEMPTS - 1
    session.flush()
    deliver_pending(session_factory, unreachable_smtp(), ids=[waiting_one.id, given_up.id])
    app.config["MAIL_SETTINGS"] = unreachable_smtp()  # the production page
    page = page_of(coordinator_client.get("/messages"))
    assert page.status == 200 and "partent par courrier électronique" in page.text
    statuses = dict(zip(page.values("data-recipient"), page.values("data-status"), strict=True))
    assert [statuses[f"{name}@example.org"] for name in ("parti", "attente", "abandon")] == [
        "sent",
        "pending",
        "failed",
    ]
    text = " ".join(page.text.split())
    assert "envoyé le" in text
    assert "en attente après 1 tentative ; prochaine tentative le" in text
    assert f"échec après {MAX_ATTEMPTS} tentatives" in text
    assert text.count("Dernière erreur : serveur 127.0.0.1:") == 2
    assert "Connection refused" in text


# --- what referents and partners may not do -----------------------------------------------------


def forbidden_requests(user_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", "/comptes"),
        ("GET", "/comptes/nouveau"),
        ("POST", "/comptes/nouveau"),
        ("GET", "/messages"),
        *(
            (method, f"/comptes/{user_id}/{action}")
            for action in ("desactiver", "reactiver", "nouveau-lien")
            for method in ("GET", "POST")
        ),
    ]


@pytest.mark.parametrize("email", [REFERENT_EMAIL, PARTNER_EMAIL])
def test_referents_and_partners_get_403_on_every_account_route(client_for, session, email):
    client = client_for(email)
    target = new_user(session)
    users.deactivate_user(session, ADMIN, target)  # so that reactivating would change it
    token = csrf_token_of(client, "/sites")
    accounts = select(User.id, User.active, User.password_hash).order_by(User.id)
    open_sessions = select(WebSession.key_hash).order_by(WebSession.key_hash)
    rows_before = session.execute(accounts).all()
    sessions_before = session.scalars(open_sessions).all()
    outbox_before = session.scalar(select(func.count()).select_from(OutboxMessage))
    new_account = {"email": unique_email(), "nom": "Intrus", "role": "coordinateur"}
    for method, url in forbidden_requests(target.id):
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={**new_account, "csrf_token": token})
        assert response.status_code == 403, (method, url)
        assert "Accès refusé" in page_of(response).text
    session.expire_all()
    assert session.execute(accounts).all() == rows_before
    assert session.scalars(open_sessions).all() == sessions_before
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == outbox_before


# --- mail failure -------------------------------------------------------------------------------


def test_a_mail_server_that_is_down_does_not_stop_an_account(session_factory, session):
    """The account is created and its link written to the outbox; the mail server refuses
    connections when the link is tried after the commit: the page is the same (the link
    itself is not shown outside development), the message waits, then leaves once."""
    app = create_app(
        {**TEST_CONFIG, "TESTING": True, "SESSION_FACTORY": session_factory,
         "MAIL_SETTINGS": unreachable_smtp()}
    )  # fmt: skip
    client = sign_in(app.test_client(), session, COORDINATOR_EMAIL)
    data, response = create_account(client)
    page = page_of(response)
    assert page.status == 201 and "Compte créé" in page.text
    assert "Environnement de développement" not in page.text
    user = session.scalars(select(User).where(User.email == data["email"])).one()
    mail = session.scalars(select(OutboxMessage.id).where(OutboxMessage.recipient == user.email))
    [message] = waiting(session, mail.all())
    assert "https://foncier.example.org" + SET_PASSWORD_PATH in message.body
    delivered_once_when_back(session_factory, [message])
