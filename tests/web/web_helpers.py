"""Helpers of the web tests that test modules import (fixtures live in conftest.py)."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from foncier.models import User


def sign_in(client: FlaskClient, session: Session, email: str) -> FlaskClient:
    """Put ``email``'s account in the client's session cookie, as the sign-in page does."""
    user = session.scalars(select(User).where(User.email == email)).one()
    with client.session_transaction() as cookie:
        cookie["user_id"] = user.id
        cookie["epoch"] = user.session_epoch
    return client
