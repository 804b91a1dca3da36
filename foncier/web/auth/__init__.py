"""Sign-in, sign-out and the signed-in person (``current_actor``) of every request."""

from foncier.web.auth.views import auth, current_actor, current_user, init_app

__all__ = ["auth", "current_actor", "current_user", "init_app"]
