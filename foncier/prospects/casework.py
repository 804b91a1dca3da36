"""What every operation on a company project shares: who knows the company, who leads the
case, and the dated path of the case (CaseEvent rows).

- The EPCIs **in the know** are the one that recorded the project and every EPCI it was
  ever proposed to (a declined proposal was still read by its référents). Their référents
  and the coordinateur read the company's identity; everyone else an anonymised card.
- The **lead** EPCI is the one in charge now: the recorder, then the EPCI that accepted a
  redirection. Only its référents change the project and move its case forward.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from foncier.core.errors import PermissionDeniedError
from foncier.core.permissions import Actor, Role
from foncier.models import CaseEvent, Prospect, Redirection


def epcis_in_the_know(session: Session, prospect: Prospect) -> set[str]:
    """SIRENs of the EPCIs whose référents may read the company's identity."""
    targets = session.scalars(
        select(Redirection.to_epci_siren).where(Redirection.prospect_id == prospect.id)
    )
    return {prospect.origin_epci_siren, *targets}


def epcis_in_the_know_of(session: Session, origins: Mapping[int, str]) -> dict[int, set[str]]:
    """The same rule for many projects at once (``origins``: project id -> recording EPCI),
    in one query: what a list needs."""
    known = {prospect_id: {origin} for prospect_id, origin in origins.items()}
    if known:
        targets = session.execute(
            select(Redirection.prospect_id, Redirection.to_epci_siren).where(
                Redirection.prospect_id.in_(list(known))
            )
        )
        for prospect_id, siren in targets:
            known[prospect_id].add(siren)
    return known


def may_see_company(session: Session, actor: Actor, prospect: Prospect) -> bool:
    return actor.can_see_company(epcis_in_the_know(session, prospect))


def may_lead(actor: Actor, prospect: Prospect) -> bool:
    """May change the project and move its case forward: a référent of the lead EPCI."""
    return actor.role is Role.REFERENT and actor.epci_siren == prospect.lead_epci_siren


def require_lead(actor: Actor, prospect: Prospect, what: str = "ce projet") -> None:
    if not may_lead(actor, prospect):
        raise PermissionDeniedError(
            f"Seuls les référents de l’EPCI qui suit le projet peuvent modifier {what}."
        )


def record_event(
    session: Session,
    actor: Actor,
    prospect: Prospect,
    kind: str,
    *,
    details: dict[str, Any] | None = None,
    note: str | None = None,
    redirection: Redirection | None = None,
) -> CaseEvent:
    """Add one step to the case's path, attributed to ``actor`` (flushed with the change)."""
    event = CaseEvent(
        prospect_id=prospect.id,
        redirection_id=redirection.id if redirection is not None else None,
        user_id=actor.user_id,
        actor_label=actor.label,
        epci_siren=actor.epci_siren,
        kind=kind,
        details=details or {},
        note=note,
    )
    session.add(event)
    return event


def case_path(session: Session, prospect: Prospect) -> list[CaseEvent]:
    """The case's steps, oldest first."""
    return list(
        session.scalars(
            select(CaseEvent)
            .where(CaseEvent.prospect_id == prospect.id)
            .order_by(CaseEvent.at, CaseEvent.id)
        )
    )
