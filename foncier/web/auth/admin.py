"""Account management pages of the coordinator and administrators, and the mail outbox.

Every view calls a core function that checks the signed-in person first
(``Actor.require_account_management`` in foncier.accounts.users and foncier.messaging.mail): a
référent or a partner gets a 403 page, and nothing is written. Actions that change an account are
POSTs behind a confirmation page, which works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from flask import (
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy.orm import Session

from foncier.accounts import passwords, users
from foncier.core.errors import ValidationError
from foncier.core.permissions import Actor, Role
from foncier.inventory.history import LOCAL_TIME
from foncier.messaging import outbox as messaging_outbox
from foncier.messaging.mail import MailBackend
from foncier.models import User
from foncier.territory.epcis import list_epcis
from foncier.web.auth.forms import AccountForm, ConfirmForm, show_errors
from foncier.web.auth.views import auth, current_actor, private_page
from foncier.web.database import db_session
from foncier.web.formatting import french_date

MESSAGES_PER_PAGE: Final = 20
# The network's clock: sign-in times read as the people who signed in saw them.
SORT_LABELS: Final = {
    users.UserSort.NOM: "Nom",
    users.UserSort.EMAIL: "Adresse électronique",
    users.UserSort.ROLE: "Rôle",
    users.UserSort.EPCI: "EPCI",
    users.UserSort.LAST_LOGIN: "Dernière connexion",
    users.UserSort.ACTIVE: "État",
}


@auth.context_processor
def account_words() -> dict[str, object]:
    return {
        "validity_days": passwords.LINK_VALIDITY.days,
        "role_labels": {role.value: role.label for role in Role},
    }


@auth.app_template_filter("date_heure")
def french_datetime(value: datetime) -> str:
    local = value.astimezone(LOCAL_TIME)
    # No-break spaces: « 01 h 24 » never wraps.
    return f"{french_date(local.date())} à {local:%H}\u00a0h\u00a0{local:%M}"


def outbox_in_use() -> bool:
    """Whether messages stay in the outbox (development) instead of leaving by SMTP."""
    return current_app.config["MAIL_SETTINGS"].backend is MailBackend.OUTBOX


@auth.get("/comptes", endpoint="accounts")
def account_list() -> str:
    try:
        sort = users.UserSort(request.args.get("tri", users.UserSort.ROLE))
    except ValueError:
        sort = users.UserSort.ROLE
    actor = current_actor()
    return render_template(
        "auth/accounts.html",
        users=users.list_users(db_session(), actor, sort),
        sort=sort,
        sort_labels=SORT_LABELS,
        assignable=[role.value for role in users.assignable_roles(actor)],
    )


@auth.route("/comptes/nouveau", methods=["GET", "POST"])
def create_account() -> Response:
    actor = current_actor()
    actor.require_account_management()  # before reading anything that was posted
    session = db_session()
    form = AccountForm()
    form.set_choices(users.assignable_roles(actor), list_epcis(session))
    if form.validate_on_submit():
        try:
            link = users.invite_user(
                session,
                actor,
                email=form.email.data or "",
                nom=form.nom.data or "",
                role=form.chosen_role,
                epci_siren=form.epci_siren.data or None,
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            return _link_sent(link, created=True)
    page = render_template("auth/account_form.html", form=form)
    return make_response(page, 400 if form.errors else 200)


def _link_sent(link: users.PasswordLink, *, created: bool) -> Response:
    """What was sent to whom; in development (outbox) the link itself, to pass it on."""
    page = render_template(
        "auth/link_sent.html",
        user=link.user,
        url=link.url if outbox_in_use() else None,
        created=created,
    )
    return private_page(make_response(page, 201 if created else 200))


@dataclass(frozen=True)
class AccountAction:
    """An action on an account, behind a confirmation page."""

    title: str
    question: str  # {nom} and {email} are replaced
    button: str
    perform: Callable[[Session, Actor, User], Response]


def _deactivate(session: Session, actor: Actor, user: User) -> Response:
    users.deactivate_user(session, actor, user)
    flash(f"Le compte de {user.nom} est désactivé.", "succes")
    return redirect(url_for("auth.accounts"))


def _reactivate(session: Session, actor: Actor, user: User) -> Response:
    users.reactivate_user(session, actor, user)
    flash(f"Le compte de {user.nom} est réactivé.", "succes")
    return redirect(url_for("auth.accounts"))


def _renew_link(session: Session, actor: Actor, user: User) -> Response:
    return _link_sent(users.send_password_link(session, actor, user), created=False)


DEACTIVATE = AccountAction(
    "Désactiver un compte",
    "Désactiver le compte de {nom} ({email}) ? Cette personne ne pourra plus se connecter et "
    "ses sessions ouvertes seront fermées. Vous pourrez réactiver le compte plus tard.",
    "Désactiver le compte",
    _deactivate,
)
REACTIVATE = AccountAction(
    "Réactiver un compte",
    "Réactiver le compte de {nom} ({email}) ? Cette personne pourra de nouveau se connecter "
    "avec son mot de passe.",
    "Réactiver le compte",
    _reactivate,
)
RENEW_LINK = AccountAction(
    "Envoyer un nouveau lien",
    "Envoyer à {nom} ({email}) un nouveau lien pour choisir son mot de passe ? Les liens "
    "envoyés auparavant ne fonctionneront plus ; son mot de passe actuel reste valable jusqu’à "
    "ce qu’il ou elle en choisisse un nouveau.",
    "Envoyer le lien",
    _renew_link,
)


def _confirm(user_id: int, action: AccountAction) -> Response:
    session = db_session()
    actor = current_actor()
    user = users.get_user(session, actor, user_id)
    form = ConfirmForm()
    status = 200
    if form.validate_on_submit():
        try:
            return action.perform(session, actor, user)
        except ValidationError as error:
            show_errors(form, error)
            status = 400
    page = render_template("auth/confirm.html", form=form, user=user, action=action)
    return make_response(page, status)


@auth.route("/comptes/<int:user_id>/desactiver", methods=["GET", "POST"])
def deactivate_account(user_id: int) -> Response:
    return _confirm(user_id, DEACTIVATE)


@auth.route("/comptes/<int:user_id>/reactiver", methods=["GET", "POST"])
def reactivate_account(user_id: int) -> Response:
    return _confirm(user_id, REACTIVATE)


@auth.route("/comptes/<int:user_id>/nouveau-lien", methods=["GET", "POST"])
def renew_link(user_id: int) -> Response:
    return _confirm(user_id, RENEW_LINK)


@auth.get("/messages", endpoint="outbox")
def outbox_page() -> str:
    requested = request.args.get("page", default=1, type=int)
    page = messaging_outbox.readable_outbox(
        db_session(), current_actor(), requested, MESSAGES_PER_PAGE
    )
    return render_template(
        "auth/outbox.html",
        page=page,
        outbox_in_use=outbox_in_use(),
    )
