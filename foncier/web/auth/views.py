"""Sign-in and sign-out; every other page needs a signed-in person.

The session cookie holds the account's id and its ``session_epoch``: a password change
increases the epoch, which signs out every other session of that account. The person is
loaded once per request, and the request's database session records them as the author of
every change (foncier.audit).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import Unauthorized

from foncier import accounts, audit
from foncier.models import User
from foncier.permissions import Actor
from foncier.web.auth.forms import LoginForm
from foncier.web.database import db_session

auth = Blueprint("auth", __name__)

# What a person who is not signed in may reach.
PUBLIC_ENDPOINTS: Final = frozenset({"auth.login", "static"})
USER_ID: Final = "user_id"
EPOCH: Final = "epoch"


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
    user_id = session.get(USER_ID)
    if user_id is None:
        return
    user = db_session().get(User, user_id)
    if user is None or not user.active or user.session_epoch != session.get(EPOCH):
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
    """Only a path of this site: never an absolute or scheme-relative URL (open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("inventory.map_page")


@auth.route("/connexion", methods=["GET", "POST"])
def login() -> str | Response:
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(
                db_session(), form.email.data or "", form.password.data or "", request.remote_addr
            )
        except accounts.LoginThrottledError as error:
            form.password.errors.append(str(error))
        else:
            if user is not None:
                session.clear()  # a new session id: nothing carried over from before sign-in
                session[USER_ID] = user.id
                session[EPOCH] = user.session_epoch
                session.permanent = True
                return redirect(_safe_next(form.next.data))
            form.password.errors.append("Adresse électronique ou mot de passe incorrect.")
    status = 200 if not form.errors else 400
    return render_template("auth/login.html", form=form), status


@auth.post("/deconnexion")
def logout() -> Response:
    session.clear()
    flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("auth.login"))
