"""People who use the platform, their sessions, one-time password links and login attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from foncier.models.base import Base, Timestamped
from foncier.models.territory import Epci

# Stored values of User.role; foncier.core.permissions.Role names them.
ROLES = ("referent", "coordinateur", "partenaire", "admin")


class User(Timestamped, Base):
    """An account. A référent is bound to one EPCI; the other roles are network-wide."""

    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint(
            "role IN (" + ", ".join(f"'{role}'" for role in ROLES) + ")", name="role_known"
        ),
        CheckConstraint("(role = 'referent') = (epci_siren IS NOT NULL)", name="referent_epci"),
        CheckConstraint("email = lower(email)", name="email_lower_case"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(Text, unique=True)
    nom: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    epci_siren: Mapped[str | None] = mapped_column(ForeignKey("epci.siren"), index=True)
    # argon2id hash; NULL until the person sets a password through their one-time link.
    password_hash: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    epci: Mapped[Epci | None] = relationship()


class WebSession(Base):
    """A signed-in session: the browser's cookie holds its key, only the key's hash is here.

    Signing out deletes the row, and so do a password change and closing the account (for
    every session of the account): a copy of the cookie then opens nothing.
    """

    __tablename__ = "web_session"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    opened_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )


class PasswordToken(Base):
    """A one-time link to set a password (new account or reset); only its hash is stored."""

    __tablename__ = "password_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """Every login attempt, kept to slow down password guessing (per e-mail and per address)."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(Text, index=True)
    remote_addr: Mapped[str | None] = mapped_column(Text, index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
