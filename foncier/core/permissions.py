"""Who may do what: roles, the acting person, and the checks every core operation makes.

The rules live here and nowhere else, so that a page, the API, the CLI and an import all
obey the same ones (templates only hide buttons the core would refuse anyway):

- a **référent** writes the inventory of their own EPCI only;
- the **coordinateur** (the network's neutral animator) and the **admin** write everywhere
  and manage accounts;
- a **partenaire** (State, Département, Région) reads, never writes;
- everyone in the network reads the whole inventory, except private fields (owners' identity,
  buyer and sale figures), readable by the plot's EPCI and the network-wide roles;
- a company project is confidential: its company's identity and contacts are read only by the
  référents of the EPCIs "in the know" (the one that recorded it and those it was redirected
  to) and by the coordinateur; everybody else — other référents, partners, the technical
  admin — sees an anonymised card.
"""

from __future__ import annotations

import getpass
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from foncier.core.errors import PermissionDeniedError

if TYPE_CHECKING:
    from foncier.models import User


class Role(StrEnum):
    REFERENT = "referent"
    COORDINATEUR = "coordinateur"
    PARTENAIRE = "partenaire"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.REFERENT: "Référent dév’éco",
    Role.COORDINATEUR: "Coordinateur du réseau",
    Role.PARTENAIRE: "Partenaire (lecture seule)",
    Role.ADMIN: "Administrateur",
}
NETWORK_WIDE_WRITERS = frozenset({Role.COORDINATEUR, Role.ADMIN})


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in person, or the system (a CLI command, the demo seed)."""

    label: str
    role: Role
    user_id: int | None = None
    epci_siren: str | None = None

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.email, Role(user.role), user.id, user.epci_siren)

    @classmethod
    def system(cls, origin: str) -> Actor:
        """An operator's command (``cli``) or an automatic task: acts as an administrator."""
        return cls(f"{origin}:{getpass.getuser()}", Role.ADMIN)

    @property
    def network_wide(self) -> bool:
        return self.role in NETWORK_WIDE_WRITERS

    def can_edit(self, epci_siren: str | None) -> bool:
        """May write the inventory (parks, plots, owners) of the EPCI ``epci_siren``."""
        if self.network_wide:
            return True
        return (
            self.role is Role.REFERENT
            and epci_siren is not None
            and (epci_siren == self.epci_siren)
        )

    def can_see_private(self, epci_siren: str | None) -> bool:
        """May read owners' identity and the sale fields of a plot of ``epci_siren``."""
        return self.can_edit(epci_siren)

    def can_see_company(self, epcis_in_the_know: Collection[str]) -> bool:
        """May read a project's company identity and contacts, the project being known to the
        EPCIs ``epcis_in_the_know`` (recorder and redirection targets)."""
        if self.role is Role.COORDINATEUR:
            return True
        return self.role is Role.REFERENT and self.epci_siren in epcis_in_the_know

    @property
    def can_write(self) -> bool:
        """May write some part of the inventory (hides edit links from read-only roles)."""
        return self.network_wide or self.role is Role.REFERENT

    @property
    def can_manage_accounts(self) -> bool:
        return self.network_wide

    def require_edit(self, epci_siren: str | None, what: str = "cet inventaire") -> None:
        """Raise PermissionDeniedError unless this actor may write ``epci_siren``'s inventory."""
        if not self.can_edit(epci_siren):
            raise PermissionDeniedError(
                f"Vous ne pouvez pas modifier {what} : il relève d’un autre EPCI que le vôtre."
                if self.role is Role.REFERENT
                else f"Votre rôle ({self.role.label}) ne permet pas de modifier {what}."
            )

    def require_account_management(self) -> None:
        if not self.can_manage_accounts:
            raise PermissionDeniedError(
                "Seuls le coordinateur du réseau et les administrateurs gèrent les comptes."
            )
