"""The moves of an agreement's status made by hand (signed -> in force -> ended), with the
confirmation step's wording and warnings.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from sqlalchemy.orm import Session

from foncier.agreements.rules import (
    STALE_MESSAGE,
    STATUS_LABELS,
    all_or_nothing,
    check_version,
    covered_redirections,
    locked_agreement,
    record_on_cases,
    require_details,
    require_negotiator,
    sirens_of_parties,
    status_details,
)
from foncier.core.db import saving
from foncier.core.errors import ValidationError
from foncier.core.permissions import Actor
from foncier.matching.wording import french_date
from foncier.models import Agreement

# The moves people make by hand; brouillon -> signee happens with the last signature.
STATUS_MOVES: Final[dict[str, tuple[str, ...]]] = {
    "brouillon": (),
    "signee": ("en_vigueur", "terminee"),
    "en_vigueur": ("terminee",),
    "terminee": (),
}
STATUS_MOVE_LABELS: Final = {"en_vigueur": "Déclarer en vigueur", "terminee": "Déclarer terminée"}
# What the confirmation step of a status move says it does.
STATUS_MOVE_CONSEQUENCES: Final = {
    "en_vigueur": "La convention s’applique désormais : ses parties se versent ce qu’elle "
    "prévoit. Elle reste au registre du réseau et dans les totaux de chaque EPCI.",
    "terminee": "La convention cesse de s’appliquer, définitivement : elle ne repasse pas en "
    "vigueur. Elle reste au registre du réseau et dans les totaux de chaque EPCI, et les "
    "redirections qu’elle couvre pourront l’être par une nouvelle convention.",
}


def set_status(
    session: Session, actor: Actor, agreement: Agreement, status: str, expected_version: int
) -> Agreement:
    """Move a signed agreement into force, or end it (STATUS_MOVES)."""
    agreement = locked_agreement(session, agreement.id)
    require_status_move(session, actor, agreement, status)
    check_version(agreement, expected_version)
    reason = f"Convention {STATUS_LABELS[status].lower()}"
    with all_or_nothing(session):  # the status and its step in the projects' paths, or nothing
        with saving(session, agreement, reason, STALE_MESSAGE):
            agreement.status = status
        record_on_cases(
            session,
            actor,
            agreement,
            "agreement_status",
            covered_redirections(agreement),
            status_details(agreement),
        )
    return agreement


def require_status_move(session: Session, actor: Actor, agreement: Agreement, status: str) -> None:
    """Refuse unless ``actor`` may move ``agreement`` to ``status`` now: PermissionDeniedError
    for who may not, ValidationError for a move the table (STATUS_MOVES) does not allow."""
    require_negotiator(actor, sirens_of_parties(agreement))
    require_details(session, actor, agreement)
    if status not in STATUS_MOVES[agreement.status]:
        raise ValidationError(
            {
                "status": f"Une convention « {STATUS_LABELS[agreement.status].lower()} » ne "
                f"peut pas passer au statut « {STATUS_LABELS.get(status, status).lower()} »."
            }
        )


def status_move_warning(agreement: Agreement, status: str, today: date | None = None) -> str | None:
    """What the confirmation step of moving ``agreement`` to ``status`` warns about: dates
    of its period the move goes against (the move stays allowed: the parties decide)."""
    today = today or date.today()
    if status == "en_vigueur" and agreement.starts_on and agreement.starts_on > today:
        return (
            f"La convention ne prend effet que le {french_date(agreement.starts_on)} : la "
            "déclarer en vigueur aujourd’hui, c’est annoncer qu’elle s’applique avant cette date."
        )
    if status == "terminee" and agreement.ends_on and agreement.ends_on > today:
        return (
            f"La convention court jusqu’au {french_date(agreement.ends_on)} : la déclarer "
            "terminée aujourd’hui met fin au partage avant son terme."
        )
    return None
