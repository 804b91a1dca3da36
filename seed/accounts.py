"""Demonstration accounts: one référent per EPCI of the demo territory, a coordinator, a partner.

Development only: they all share DEMO_PASSWORD, which the README prints. They are flagged
``is_demo`` and deleted by ``foncier seed demo --reset`` like the rest of the demo.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from foncier.accounts.users import create_user
from foncier.core.permissions import Actor, Role
from foncier.models import Commune, Epci, User

DEMO_PASSWORD: Final = "demo-foncier-37"
DEMO_DOMAIN: Final = "demo.foncier.test"
DEMO_DEPARTEMENT: Final = "37"
COORDINATOR_EMAIL: Final = f"coordination@{DEMO_DOMAIN}"
PARTNER_EMAIL: Final = f"partenaire@{DEMO_DOMAIN}"
_EPCI_PREFIXES = re.compile(
    r"^(communauté de communes|communauté d'agglomération)\s+(de |du |des )?"
)


@dataclass(frozen=True)
class DemoAccount:
    email: str
    nom: str
    role: Role
    epci_siren: str | None = None


def epci_slug(nom: str) -> str:
    """A short e-mail-safe name: "Communauté de communes de Gâtine-Racan" -> gatine-racan."""
    short = _EPCI_PREFIXES.sub("", nom.lower().replace("’", "'"))
    ascii_name = unicodedata.normalize("NFKD", short).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")


def referent_email(epci: Epci) -> str:
    return f"referent.{epci_slug(epci.nom)}@{DEMO_DOMAIN}"


def demo_accounts(session: Session) -> list[DemoAccount]:
    epcis = session.scalars(
        select(Epci)
        .where(
            Epci.siren.in_(
                select(Commune.epci_siren).where(Commune.departement_code == DEMO_DEPARTEMENT)
            )
        )
        .order_by(Epci.nom)
    )
    return [
        DemoAccount(COORDINATOR_EMAIL, "Coordination du réseau (démo)", Role.COORDINATEUR),
        DemoAccount(PARTNER_EMAIL, "Partenaire de l’État (démo)", Role.PARTENAIRE),
        *(
            DemoAccount(
                referent_email(epci), f"Référent {epci.nom} (démo)", Role.REFERENT, epci.siren
            )
            for epci in epcis
        ),
    ]


def seed_demo_accounts(session: Session) -> int:
    """Create the demo accounts that do not exist yet; return how many were created."""
    existing = set(session.scalars(select(User.email)))
    actor = Actor.system("seed")
    created = 0
    for account in demo_accounts(session):
        if account.email in existing:
            continue
        create_user(
            session,
            actor,
            email=account.email,
            nom=account.nom,
            role=account.role,
            epci_siren=account.epci_siren,
            password=DEMO_PASSWORD,
            is_demo=True,
        )
        created += 1
    return created


def delete_demo_accounts(session: Session) -> None:
    session.execute(delete(User).where(User.is_demo))
