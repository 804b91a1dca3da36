"""Helpers of the tests of cases, redirections and notifications: demo people and a project.

Projects are built directly as rows (the tests of foncier.prospects cover recording them), on
the demo territory: the founding story's Métropole and Gâtine-Racan, and a third EPCI.
"""

from __future__ import annotations

import socket
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from foncier.accounts import create_user
from foncier.codelists import STADES_DISPONIBLES
from foncier.mail import MailBackend, MailSettings, SmtpSecurity
from foncier.models import Epci, Prospect, Site, Terrain, User
from foncier.permissions import Actor, Role
from seed.accounts import COORDINATOR_EMAIL, PARTNER_EMAIL, referent_email

METROPOLE = "243700754"
GATINE_RACAN = "200073237"
POLAXIS = "37167_SITE-ECO_00005"
COMPANY = "Ateliers Ligériens de Mécanique"


def user_of(session: Session, email: str) -> User:
    return session.scalars(select(User).where(User.email == email)).one()


def referent_of(session: Session, siren: str) -> Actor:
    """The demo référent of the EPCI ``siren``."""
    return Actor.of(user_of(session, referent_email(session.get(Epci, siren))))


def coordinator(session: Session) -> Actor:
    return Actor.of(user_of(session, COORDINATOR_EMAIL))


def partner(session: Session) -> Actor:
    return Actor.of(user_of(session, PARTNER_EMAIL))


def third_epci(session: Session) -> str:
    """An EPCI of the demo other than the Métropole and Gâtine-Racan, with plots on sale."""
    return session.scalars(
        select(Site.site_epci_siren)
        .join(Terrain)
        .where(
            Site.site_epci_siren.not_in((METROPOLE, GATINE_RACAN)),
            Terrain.terr_stade_comm.in_(STADES_DISPONIBLES),
        )
        .order_by(Site.site_epci_siren)
        .limit(1)
    ).one()


def plots_on_sale(session: Session, siren: str, count: int = 1) -> list[Terrain]:
    """The first plots on sale of an EPCI (Polaxis first for Gâtine-Racan)."""
    return list(
        session.scalars(
            select(Terrain)
            .join(Site)
            .where(Site.site_epci_siren == siren, Terrain.terr_stade_comm.in_(STADES_DISPONIBLES))
            .order_by(Site.site_id != POLAXIS, Terrain.terr_id)
            .limit(count)
        )
    )


def new_prospect(session: Session, lead: str = METROPOLE, **values: Any) -> Prospect:
    """A company project recorded by ``lead`` (flushed, audited as the tests' actor)."""
    prospect = Prospect(
        origin_epci_siren=lead,
        lead_epci_siren=lead,
        company_name=COMPANY,
        naf_code="25.62B",
        needs={"surface_ha": {"min": 1, "max": 3}},
        jobs_planned=40,
        source="direct",
        **values,
    )
    session.add(prospect)
    session.flush()
    return prospect


def add_referent(session: Session, siren: str, email: str, *, active: bool = True) -> User:
    """Another référent of the EPCI ``siren`` (an inactive one if ``active`` is False)."""
    user = create_user(
        session, Actor.system("tests"), email=email, nom=f"Référent {email}",
        role=Role.REFERENT, epci_siren=siren, password="un-mot-de-passe-solide-42",
    )  # fmt: skip
    user.active = active
    session.flush()
    return user


OUTBOX = MailSettings()


def unreachable_smtp() -> MailSettings:
    """SMTP settings pointing at a local port nobody listens on: every message fails."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    return MailSettings(
        backend=MailBackend.SMTP,
        base_url="https://foncier.example.org",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security=SmtpSecurity.NONE,
        smtp_timeout=5,
    )
