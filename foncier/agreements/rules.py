"""Who may do what with an agreement, and what every step of an agreement shares: the
agreement locked before it changes, a savepoint per step, the version check, the projects
it covers and the step written in their paths.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from foncier.core.db import locked_row
from foncier.core.errors import PermissionDeniedError, StaleVersionError
from foncier.core.french import between
from foncier.core.permissions import Actor, Role
from foncier.models import Agreement, AgreementParty, Prospect, Redirection
from foncier.prospects import casework
from foncier.prospects.casework import record_event
from foncier.territory.epcis import epci_names

STATUS_LABELS: Final = {
    "brouillon": "Brouillon",
    "signee": "Signée",
    "en_vigueur": "En vigueur",
    "terminee": "Terminée",
}
TAX_KIND_LABELS: Final = {
    "cfe": "Cotisation foncière des entreprises (CFE)",
    "taxe_fonciere": "Taxe foncière sur les propriétés bâties",
    "ifer": "Imposition forfaitaire sur les entreprises de réseaux (IFER)",
    "autre": "Autre recette fiscale",
}
# Agreements that commit their parties, and so count in the ledger's totals.
COMMITTED: Final = ("signee", "en_vigueur", "terminee")
LIVE: Final = ("brouillon", "signee", "en_vigueur")
CONFIDENTIAL_COMPANY: Final = "entreprise confidentielle"
MAX_TITLE: Final = 200
PER_PAGE: Final = 20


def may_negotiate(actor: Actor, party_sirens: Sequence[str] | set[str]) -> bool:
    """May write an agreement between ``party_sirens``: the coordinateur, or a party's
    référent."""
    if actor.role is Role.COORDINATEUR:
        return True
    return actor.role is Role.REFERENT and actor.epci_siren in party_sirens


def require_negotiator(actor: Actor, party_sirens: Sequence[str] | set[str]) -> None:
    if not may_negotiate(actor, party_sirens):
        raise PermissionDeniedError(
            "Seuls les référents des EPCI parties à la convention et le coordinateur du réseau "
            "peuvent l’établir ou la modifier."
        )


def may_see_details(session: Session, actor: Actor, agreement: Agreement) -> bool:
    """May read the title, free texts, companies and document of ``agreement``."""
    return details_visible(actor, agreement, coverage_of(session, [agreement]))


def details_visible(actor: Actor, agreement: Agreement, coverage: Coverage) -> bool:
    """May read the details of ``agreement``, knowing what it covers (``coverage_of``)."""
    if actor.role is Role.COORDINATEUR:
        return True
    if actor.role is not Role.REFERENT or actor.epci_siren not in sirens_of_parties(agreement):
        return False
    return all(
        actor.can_see_company(coverage.known[redirection.prospect_id])
        for redirection in coverage.of(agreement)
    )


def require_editable(session: Session, actor: Actor, agreement: Agreement) -> None:
    """Refuse unless ``actor`` may change the terms of ``agreement`` now (a draft whose
    terms they may read)."""
    require_negotiator(actor, sirens_of_parties(agreement))
    require_details(session, actor, agreement)
    require_draft(agreement)


def require_details(session: Session, actor: Actor, agreement: Agreement) -> None:
    if not may_see_details(session, actor, agreement):
        raise PermissionDeniedError(
            "Le document et le détail de cette convention sont réservés aux EPCI parties qui "
            "connaissent l’entreprise, et au coordinateur du réseau."
        )


def touch(agreement: Agreement) -> None:
    """Move the agreement's version on when only its parties' rows change (shares,
    signatures): an edit or a signature started from the version before is then refused."""
    agreement.updated_at = func.now()


def between_parties(session: Session, agreement: Agreement) -> str:
    """« entre Tours Métropole Val de Loire et la Communauté de communes de Gâtine-Racan », in
    the order of the parties (for a redirection: the EPCI that sent it first, as its title)."""
    names = epci_names(session)
    return between([names[party.epci_siren] for party in agreement.parties])


def covered_redirections(agreement: Agreement) -> set[int]:
    return {link.redirection_id for link in agreement.redirections}


def status_details(agreement: Agreement) -> dict[str, str]:
    return {"status": agreement.status}


def party_details(agreement: Agreement) -> dict[str, list[str]]:
    return {"parties": [party.epci_siren for party in agreement.parties]}


def record_on_cases(
    session: Session,
    actor: Actor,
    agreement: Agreement,
    kind: str,
    redirection_ids: set[int],
    details: Mapping[str, object] | None = None,
) -> None:
    """Write the agreement's step (CaseEvent ``kind``, worded by foncier.redirections.case_steps) in
    the path of the project of each of ``redirection_ids``: the case follows its agreement."""
    for redirection_id in sorted(redirection_ids):
        redirection = session.get_one(Redirection, redirection_id)
        record_event(
            session,
            actor,
            redirection.prospect,
            kind,
            details={"agreement_id": agreement.id, **(details or {})},
            redirection=redirection,
        )
    session.flush()


def require_draft(agreement: Agreement) -> None:
    if agreement.status != "brouillon":
        raise PermissionDeniedError(
            "Cette convention est signée : ses termes ne changent plus. Pour d’autres termes, "
            "établissez une nouvelle convention."
        )


def check_version(agreement: Agreement, expected_version: int) -> None:
    if agreement.version != expected_version:
        raise StaleVersionError(STALE_MESSAGE, agreement)


STALE_MESSAGE: Final = (
    "Quelqu’un a enregistré cette convention pendant que vous la modifiiez : vos modifications "
    "n’ont pas été appliquées, pour ne pas effacer les siennes."
)
# A signature moves the version on too: two parties signing from the same page both hear it.
CHANGED_BEFORE_SIGNING: Final = (
    "Cette convention a changé depuis que vous l’avez lue (ses termes, ou la signature d’une "
    "autre partie) : votre signature n’a pas été enregistrée. Relisez-la ci-dessous avant de "
    "signer."
)


@contextmanager
def all_or_nothing(session: Session) -> Iterator[None]:
    """Everything written in the block, or nothing: a savepoint, rolled back on any error (a
    refused check), so that a caller who catches the error and commits keeps no change
    without the notices it owes, nor notices of a change it does not keep."""
    with session.begin_nested():
        yield


def locked_agreement(session: Session, agreement_id: int) -> Agreement:
    """The agreement and its parties as committed now, locked until the transaction ends: a
    signature, an edit or a status move waits for the one under way, then reads what it
    committed (its signature, and the version it moved on)."""
    agreement = locked_row(session, Agreement, agreement_id)
    session.scalars(
        select(AgreementParty)
        .where(AgreementParty.agreement_id == agreement_id)
        .execution_options(populate_existing=True)
    ).all()
    return agreement


def sirens_of_parties(agreement: Agreement) -> set[str]:
    return {party.epci_siren for party in agreement.parties}


@dataclass(frozen=True)
class Coverage:
    """The redirections some agreements cover, with their projects, and the EPCIs in the know
    of each project: read in three queries whatever the number of agreements."""

    redirections: dict[int, Redirection]
    known: dict[int, set[str]]  # prospect id -> the EPCIs in the know

    def of(self, agreement: Agreement) -> list[Redirection]:
        return sorted(
            (self.redirections[link.redirection_id] for link in agreement.redirections),
            key=lambda redirection: redirection.id,
        )


def coverage_of(session: Session, agreements: Sequence[Agreement]) -> Coverage:
    """What ``agreements`` cover, and who is in the know of each project."""
    ids = {link.redirection_id for agreement in agreements for link in agreement.redirections}
    if not ids:
        return Coverage({}, {})
    redirections = session.scalars(
        select(Redirection)
        .where(Redirection.id.in_(ids))
        .options(selectinload(Redirection.prospect))
    ).all()
    known = known_to(session, [redirection.prospect for redirection in redirections])
    return Coverage({redirection.id: redirection for redirection in redirections}, known)


def known_to(session: Session, prospects: Sequence[Prospect]) -> dict[int, set[str]]:
    return casework.epcis_in_the_know_of(
        session, {prospect.id: prospect.origin_epci_siren for prospect in prospects}
    )
