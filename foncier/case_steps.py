"""The case's path in French: one sentence for every kind of step (CaseEvent), whichever
module wrote it (foncier.prospects, foncier.cases, foncier.redirections).

Both pages that show a path — the project page and a redirection's page — read it from
``case_steps``: a step is worded once, here. The path names EPCIs and plots, never the
company: whoever reads it already reads the project in clear.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from foncier.cases import STAGE_LABELS
from foncier.casework import case_path
from foncier.inventory import epci_names
from foncier.models import CaseEvent, Prospect, User
from foncier.prospects import ANSWER_LABELS
from foncier.redirections import DECLINE_REASON_LABELS

# Every kind but « stage_changed » (worded from its stages by _stage_text). {to}: the EPCI the
# project is proposed to; {epci}: the EPCI of the person who acted.
EVENT_LABELS: Final = {
    "created": "Projet enregistré",
    "shortlisted": "Terrain retenu",
    "removed_from_shortlist": "Terrain retiré de la sélection",
    "proposed_to_company": "Terrain proposé à l’entreprise",
    "answer": "Réponse de l’entreprise",
    "redirection_proposed": "Projet proposé à {to}",
    "redirection_accepted": "Proposition acceptée par {epci} : il suit désormais le projet",
    "redirection_declined": "Proposition refusée par {epci}",
    "redirection_withdrawn": "Proposition retirée par {epci}",
}
UNKNOWN_EPCI: Final = "un autre EPCI"


@dataclass(frozen=True)
class CaseStep:
    """One line of the case's path, as the pages show it."""

    kind: str
    at: datetime
    who: str
    epci: str | None
    text: str
    note: str | None


def case_steps(session: Session, prospect: Prospect) -> list[CaseStep]:
    """The case's path, oldest first, each step in French, signed with the person's name
    and their EPCI (as the inventory's history signs its changes)."""
    names = epci_names(session)
    events = case_path(session, prospect)
    people = _people_names(session, {e.user_id for e in events if e.user_id is not None})
    return [
        CaseStep(
            event.kind,
            event.at,
            people.get(event.user_id or 0) or event.actor_label,
            names.get(event.epci_siren or ""),
            describe_event(event, names),
            event.note,
        )
        for event in events
    ]


def _people_names(session: Session, user_ids: set[int]) -> dict[int, str]:
    """The names of the people who acted, in one query (a removed account or a script
    keeps its label: the caller falls back on it)."""
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.nom).where(User.id.in_(user_ids)))
    return {user_id: nom for user_id, nom in rows if nom}


def describe_event(event: CaseEvent, epci_names: Mapping[str, str]) -> str:
    """The step in one French sentence; a kind not named here reads as its words."""
    details: dict[str, Any] = event.details or {}
    if event.kind == "stage_changed":
        return _stage_text(details)
    template = EVENT_LABELS.get(event.kind)
    if template is None:
        return event.kind.replace("_", " ").capitalize()
    text = template.format(
        to=epci_names.get(details.get("to_epci_siren", ""), UNKNOWN_EPCI),
        epci=epci_names.get(event.epci_siren or "", "l’EPCI"),
    )
    return text + _particulars(event.kind, details)


def _particulars(kind: str, details: Mapping[str, Any]) -> str:
    """What the step's details add to its sentence: the plot(s), the answer, the reason."""
    text = ""
    if kind == "redirection_proposed" and details.get("terr_ids"):
        text += f" (terrains {', '.join(details['terr_ids'])})"
    elif details.get("terr_id"):
        text += f" : terrain {details['terr_id']}"
    if kind == "answer" and details.get("answer") in ANSWER_LABELS:
        text += f" ({ANSWER_LABELS[details['answer']].lower()})"
    if kind == "redirection_declined" and details.get("reason") in DECLINE_REASON_LABELS:
        text += f" — motif : {DECLINE_REASON_LABELS[details['reason']].lower()}"
    return text


def _stage_text(details: Mapping[str, Any]) -> str:
    before, after = (STAGE_LABELS.get(details.get(key, ""), "?") for key in ("from", "to"))
    text = f"Étape : {before} → {after}"
    if details.get("released_terr_id"):
        text += f" ; option levée sur le terrain {details['released_terr_id']}"
    if details.get("terr_id"):
        text += f" ; terrain {details['terr_id']}"
    if details.get("jobs_created") is not None:
        text += f" ; {details['jobs_created']} emploi(s) créé(s)"
    if details.get("reason"):
        text += f" ; motif : {details['reason']}"
    return text
