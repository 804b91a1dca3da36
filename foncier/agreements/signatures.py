"""Signatures: a référent signs for their EPCI the version of the terms they read; the last
signature makes the agreement « signée ». Parties are asked to sign, and told when an edit
erased their signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.orm import Session

from foncier.agreements.rules import (
    CHANGED_BEFORE_SIGNING,
    STALE_MESSAGE,
    all_or_nothing,
    between_parties,
    covered_redirections,
    locked_agreement,
    record_on_cases,
    require_details,
    require_draft,
    status_details,
    touch,
)
from foncier.core.db import saving
from foncier.core.errors import PermissionDeniedError, StaleVersionError, ValidationError
from foncier.core.permissions import Actor, Role
from foncier.messaging.notifications import notify_epci
from foncier.models import Agreement, AgreementParty


def tell_signatures_erased(
    session: Session,
    actor: Actor,
    agreement: Agreement,
    sirens: Sequence[str],
) -> None:
    """Tell the EPCIs whose signature an edit erased (the actor's own EPCI knows already).
    The message names no company: it travels by e-mail."""
    parties = between_parties(session, agreement)
    for siren in sirens:
        if siren == actor.epci_siren:
            continue
        notify_epci(
            session,
            siren,
            subject=f"Convention n° {agreement.id} : signature à renouveler",
            body=(
                f"Les termes de la convention de partage n° {agreement.id} {parties} ont été "
                "modifiés après la signature de votre EPCI : cette signature, donnée aux termes "
                "précédents, a été effacée. Relisez les nouveaux termes sur la plateforme "
                "avant de signer à nouveau."
            ),
            link=f"/conventions/{agreement.id}",
        )


def ask_for_signatures(session: Session, actor: Actor, agreement: Agreement) -> None:
    """Tell the référents of the parties other than the actor's that the agreement awaits
    their signature (inbox and e-mail). The message names no company: it travels by e-mail."""
    parties = between_parties(session, agreement)
    for party in agreement.parties:
        if party.epci_siren == actor.epci_siren or party.signed_on is not None:
            continue
        notify_epci(
            session,
            party.epci_siren,
            subject=f"Convention n° {agreement.id} à signer",
            body=(
                f"La convention de partage n° {agreement.id} {parties} attend la "
                "signature de votre EPCI. Relisez-en les termes sur la plateforme, puis "
                "enregistrez la date de signature."
            ),
            link=f"/conventions/{agreement.id}",
        )


def sign_agreement(
    session: Session,
    actor: Actor,
    agreement: Agreement,
    epci_siren: str,
    signed_on: date,
    expected_version: int | None = None,
) -> Agreement:
    """Record ``epci_siren``'s signature, given to the terms of ``expected_version`` (by
    default the version of the ``agreement`` the caller holds); the last signature makes the
    agreement « signée ». StaleVersionError if the agreement changed since that version: its
    terms, or another signature (each moves the version on; the signer re-reads and signs)."""
    read_version = agreement.version if expected_version is None else expected_version
    agreement = locked_agreement(session, agreement.id)
    party = require_signatory(session, actor, agreement, epci_siren)
    require_draft(agreement)
    if agreement.version != read_version:
        raise StaleVersionError(CHANGED_BEFORE_SIGNING, agreement)
    errors = {}
    if party.signed_on is not None:
        errors["signed_on"] = "Votre EPCI a déjà signé cette convention."
    elif signed_on > date.today():
        errors["signed_on"] = "La date de signature ne peut pas être dans le futur."
    if errors:
        raise ValidationError(errors)
    with all_or_nothing(session):  # the signature and its steps in the projects' paths, or nothing
        with saving(session, agreement, "Signature de la convention", STALE_MESSAGE):
            party.signed_on, party.signed_by = signed_on, actor.user_id
            touch(agreement)
            if all(p.signed_on is not None for p in agreement.parties):
                agreement.status = "signee"
        covered = covered_redirections(agreement)
        signature = {"epci_siren": epci_siren, "signed_on": signed_on.isoformat()}
        record_on_cases(session, actor, agreement, "agreement_signed", covered, signature)
        if agreement.status == "signee":
            record_on_cases(
                session, actor, agreement, "agreement_status", covered, status_details(agreement)
            )
    return agreement


def require_signatory(
    session: Session, actor: Actor, agreement: Agreement, epci_siren: str
) -> AgreementParty:
    """The party ``actor`` signs for: their own EPCI's, whose terms they may read."""
    if actor.role is not Role.REFERENT or actor.epci_siren != epci_siren:
        raise PermissionDeniedError(
            "Seul un référent d’un EPCI partie peut enregistrer la signature de son EPCI."
        )
    party = next((p for p in agreement.parties if p.epci_siren == epci_siren), None)
    if party is None:
        raise PermissionDeniedError("Votre EPCI n’est pas partie à cette convention.")
    require_details(session, actor, agreement)
    return party
