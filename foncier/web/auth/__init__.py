"""Sign-in, sign-out, passwords, account management and the signed-in person of every request."""

# admin registers the account pages on the ``auth`` blueprint.
from foncier.web.auth import admin  # noqa: F401
from foncier.web.auth.views import auth, current_actor, current_user, init_app

__all__ = ["auth", "current_actor", "current_user", "init_app"]
