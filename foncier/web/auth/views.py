"""Sign-in, sign-out and passwords; every other page needs a signed-in person.

The session cookie holds the key of a session kept on the server (foncier.accounts.sessions):
signing out ends it, so a copied cookie opens nothing afterwards; a password change ends every
other session of the account. The person is loaded once per request, and the request's
database session records them as the author of every change (foncier.core.audit).
The pages that manage accounts are in ``admin``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import Unauthorized

from foncier.accounts import passwords, sessions, signin
from foncier.core import audit
from foncier.core.errors import NotFoundError, ValidationError
from foncier.core.permissions import Actor
from foncier.models import User
from foncier.web.auth.forms import (
    PASSWORD_HELP,
    LoginForm,
    PasswordChangeForm,
    SetPasswordForm,
    show_errors,
)
from foncier.web.database import db_session

auth = Blueprint("auth", __name__)

# What a person who is not signed in may reach.
# The API's description too: it tells how to call the API, nothing of the data (GIS tools).
PUBLIC_ENDPOINTS: Final = frozenset(
    {"auth.login", "auth.set_password", "static", "api.openapi_document"}
)
SESSION_KEY: Final = "session_key"


def init_app(app: Flask, *, api_prefix: str) -> None:
    app.before_request(_load_person)
    app.before_request(lambda: _require_sign_in(api_prefix))

    @app.context_processor
    def person() -> dict[str, object]:
        return {"current_user": g.get("user"), "current_actor": g.get("actor")}


def current_user() -> User:
    """The signed-in account (every view but the public ones has one)."""
    user: User | None = g.get("user")
    if user is None:
        abort(401)
    return user


def current_actor() -> Actor:
    current_user()
    return g.actor


def _load_person() -> None:
    key = session.get(SESSION_KEY)
    if not isinstance(key, str):
        return
    user = sessions.user_of_session(db_session(), key, _lifetime())
    if user is None:
        session.clear()
        return
    g.user = user
    g.actor = Actor.of(user)
    audit.acting_as(db_session(), g.actor)


def _require_sign_in(api_prefix: str) -> Response | None:
    if g.get("user") is not None or request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if request.path == api_prefix or request.path.startswith(api_prefix + "/"):
        raise Unauthorized("sign in first: the API answers signed-in members of the network")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _safe_next(target: str | None) -> str:
    """Only a path of this site: never an absolute or scheme-relative URL (open redirect).

    Browsers read a backslash as a slash and drop tabs and newlines, so "/\\evil.example" or
    "/<tab>/evil.example" would leave the site: any of them, or any space, refuses the target.
    """
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
        and not any(character.isspace() for character in target)
    ):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("inventory.map_page")


def _lifetime() -> timedelta:
    return current_app.permanent_session_lifetime


def _open_session(user: User) -> None:
    """Sign ``user`` in, in a new session: nothing carried over from before (fixation)."""
    session.clear()
    session[SESSION_KEY] = sessions.open_session(db_session(), user, _lifetime())
    session.permanent = True


def private_page(response: Response) -> Response:
    """A page with a password link: never cached, its address never sent as a referrer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@auth.route("/connexion", methods=["GET", "POST"])
def login() -> str | Response:
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = signin.authenticate(
                db_session(), form.email.data or "", form.password.data or "", request.remote_addr
            )
        except signin.LoginThrottledError as error:
            form.password.errors.append(str(error))
        else:
            if user is not None:
                _open_session(user)
                return redirect(_safe_next(form.next.data))
            # The failure must be kept although the answer is an error (which rolls the
            # request back): the throttle counts the failures.
            db_session().commit()
            form.password.errors.append("Adresse électronique ou mot de passe incorrect.")
    status = 200 if not form.errors else 400
    return render_template("auth/login.html", form=form), status


@auth.post("/deconnexion")
def logout() -> Response:
    key = session.get(SESSION_KEY)
    if isinstance(key, str):
        sessions.end_session(db_session(), key)
    session.clear()
    flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("auth.login"))


@auth.route("/mot-de-passe", methods=["GET", "POST"])
def password() -> tuple[str, int] | Response:
    """Change one's password; the other sessions of the account end, this one goes on."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        user = current_user()
        try:
            passwords.change_password(
                db_session(), user, form.current_password.data or "", form.password.data or ""
            )
        except ValidationError as error:
            show_errors(form, error)
        else:
            _open_session(user)  # the password change ended every session, this one too
            flash(
                "Votre mot de passe est changé. Vos sessions ouvertes sur d’autres appareils "
                "ou navigateurs sont fermées.",
                "succes",
            )
            return redirect(url_for("auth.password"))
    status = 400 if form.errors else 200
    return render_template("auth/password.html", form=form, help=PASSWORD_HELP), status


@auth.route(passwords.SET_PASSWORD_PATH + "<token>", methods=["GET", "POST"])
def set_password(token: str) -> Response:
    """The page of a one-time link: choose a password, and be signed in."""
    try:
        user = passwords.user_for_token(db_session(), token)
    except NotFoundError:
        return private_page(make_response(render_template("auth/link_invalid.html"), 404))
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            passwords.set_password_with_token(db_session(), token, form.password.data or "")
        except ValidationError as error:
            show_errors(form, error)
        else:
            _open_session(user)
            flash("Votre mot de passe est enregistré. Bienvenue !", "succes")
            return redirect(url_for("inventory.map_page"))
    page = render_template("auth/set_password.html", form=form, user=user, help=PASSWORD_HELP)
    return private_page(make_response(page, 400 if form.errors else 200))
