"""Signing in, slowed down against guessing.

After MAX_FAILURES_PER_EMAIL failures for one e-mail from one address in THROTTLE_WINDOW,
that e-mail is refused from that address until the window has passed, even with the right
password; an address is stopped after MAX_FAILURES_PER_ADDRESS failures whatever the
e-mails, and an e-mail after MAX_FAILURES_PER_ACCOUNT failures whatever the addresses
(guessing spread over many machines). Counting per address first means that a stranger
typing wrong passwords for the coordinator's e-mail does not lock the coordinator out.

The count is atomic: attempts for one e-mail, and attempts from one address, are checked one
at a time (a transaction-level advisory lock, held until the attempt is committed), so thirty
simultaneous guesses cannot all read « 4 failures so far » and all be checked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from foncier.accounts.passwords import password_matches, unusable_hash
from foncier.accounts.users import normalise_email
from foncier.core.errors import FoncierError
from foncier.models import LoginAttempt, User

THROTTLE_WINDOW: Final = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL: Final = 5
MAX_FAILURES_PER_ADDRESS: Final = 20
MAX_FAILURES_PER_ACCOUNT: Final = 50
# The first key of the two-key advisory locks taken per e-mail and per address.
EMAIL_LOCKS: Final = 1101
ADDRESS_LOCKS: Final = 1102


class LoginThrottledError(FoncierError):
    """Too many failed sign-ins for this e-mail or from this address: wait and retry."""


def authenticate(
    session: Session,
    email: str,
    password: str,
    remote_addr: str | None,
    now: datetime | None = None,
) -> User | None:
    """The active account these credentials open, or None; every attempt is recorded.

    Raises LoginThrottledError when this e-mail or address failed too often recently. The
    caller commits the attempt at once, whatever its outcome: until then, the other attempts
    on this e-mail or from this address wait.
    """
    moment = now or datetime.now(UTC)
    email = normalise_email(email)
    _take_turn(session, email, remote_addr)
    _check_throttle(session, email, remote_addr, moment)
    user = session.scalar(select(User).where(User.email == email, User.active))
    stored_hash = user.password_hash if user is not None else None
    # Without an account (or a password) to check, a throwaway hash is verified all the same:
    # a sign-in takes as long either way, so timing tells nobody which addresses have one.
    matches = password_matches(stored_hash or unusable_hash(), password)
    succeeded = user is not None and stored_hash is not None and matches
    session.add(LoginAttempt(email=email, remote_addr=remote_addr, succeeded=succeeded, at=moment))
    if succeeded:
        user.last_login_at = moment
    session.flush()
    return user if succeeded else None


def _take_turn(session: Session, email: str, remote_addr: str | None) -> None:
    """Wait for the other attempts on this e-mail or from this address to be committed.

    Always the e-mail's lock first, then the address's: two attempts never wait for each
    other in a cycle."""
    for namespace, value in ((EMAIL_LOCKS, email), (ADDRESS_LOCKS, remote_addr or "")):
        session.execute(select(func.pg_advisory_xact_lock(namespace, func.hashtext(value))))


def _recent_failures(session: Session, since: datetime, *criteria: object) -> int:
    return session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(~LoginAttempt.succeeded, LoginAttempt.at > since, *criteria)
    )


def _check_throttle(session: Session, email: str, remote_addr: str | None, now: datetime) -> None:
    since = now - THROTTLE_WINDOW
    same_email = LoginAttempt.email == email
    same_address = LoginAttempt.remote_addr.is_not_distinct_from(remote_addr)
    limits = (
        (MAX_FAILURES_PER_EMAIL, (same_email, same_address)),
        (MAX_FAILURES_PER_ADDRESS, (same_address,)),
        (MAX_FAILURES_PER_ACCOUNT, (same_email,)),
    )
    if any(_recent_failures(session, since, *where) >= limit for limit, where in limits):
        minutes = int(THROTTLE_WINDOW.total_seconds() // 60)
        raise LoginThrottledError(
            f"Trop de tentatives de connexion infructueuses : réessayez dans {minutes} minutes."
        )
