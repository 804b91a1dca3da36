"""The case's path in French: one sentence for every kind of step (CaseEvent), whichever
module wrote it (foncier.prospects.projects, foncier.prospects.cases,
foncier.redirections.proposals, foncier.agreements.reading).

Both pages that show a path — the project page and a redirection's page — read it from
``case_steps``: a step is worded once, here. The path names EPCIs and plots, never the
company: whoever reads it already reads the project in clear.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from foncier.core.french import between, by_epci, of_epci, to_epci
from foncier.matching.wording import agreed, french_date
from foncier.models import CaseEvent, Prospect, User
from foncier.prospects.cases import STAGE_LABELS
from foncier.prospects.casework import case_path
from foncier.prospects.projects import ANSWER_LABELS
from foncier.redirections.proposals import DECLINE_REASON_LABELS
from foncier.territory.epcis import epci_names

# Every kind but « stage_changed » (worded from its stages by _stage_text). {to}: « à » the EPCI
# the project is proposed to; {by}: « par » the EPCI of the person who acted (foncier.core.french
# gives each name its article).
EVENT_LABELS: Final = {
    "created": "Projet enregistré",
    "shortlisted": "Terrain retenu",
    "removed_from_shortlist": "Terrain retiré de la sélection",
    "proposed_to_company": "Terrain proposé à l’entreprise",
    "answer": "Réponse de l’entreprise",
    "redirection_proposed": "Projet proposé {to}",
    "redirection_accepted": "Proposition acceptée {by}, qui suit désormais le projet",
    "redirection_declined": "Proposition refusée {by}",
    "redirection_withdrawn": "Proposition retirée {by}",
}
UNKNOWN_EPCI: Final = "un autre EPCI"
UNKNOWN_ACTOR_EPCI: Final = "l’EPCI"


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
    if event.kind in AGREEMENT_STEPS:
        return _agreement_text(event.kind, details, epci_names)
    template = EVENT_LABELS.get(event.kind)
    if template is None:
        return event.kind.replace("_", " ").capitalize()
    target = epci_names.get(details.get("to_epci_siren", ""))
    actor_epci = epci_names.get(event.epci_siren or "")
    text = template.format(
        to=to_epci(target) if target else f"à {UNKNOWN_EPCI}",
        by=by_epci(actor_epci) if actor_epci else f"par {UNKNOWN_ACTOR_EPCI}",
    )
    return text + _particulars(event.kind, details)


def _particulars(kind: str, details: Mapping[str, Any]) -> str:
    """What the step's details add to its sentence: the plot(s), the answer, the reason."""
    text = ""
    if kind == "redirection_proposed" and details.get("terr_ids"):
        terr_ids = details["terr_ids"]
        text += f" ({agreed(len(terr_ids), 'terrain', 'terrains', 0)} {', '.join(terr_ids)})"
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
        jobs = int(details["jobs_created"])
        text += f" ; {jobs} {agreed(jobs, 'emploi créé', 'emplois créés', 0)}"
    if details.get("reason"):
        text += f" ; motif : {details['reason']}"
    return text


# The steps of the agreement covering the case (foncier.agreements.reading). {n}: its number;
# {parties}: « entre X et Y », its parties, when the step names them; {erased}: whose
# signatures an edit erased.
AGREEMENT_STEPS: Final = {
    "agreement_created": "Convention de partage n° {n} établie (brouillon){parties}",
    "agreement_covered": "La convention de partage n° {n}{parties} couvre désormais ce projet "
    "(brouillon)",
    "agreement_uncovered": "Projet retiré de la convention de partage n° {n}",
    "agreement_signatures_erased": "Convention de partage n° {n} : {erased}, les termes ont changé",
    "agreement_signed": "Convention de partage n° {n} signée",
    "agreement_status": "Convention de partage n° {n}",
}
AGREEMENT_STATUS_STEPS: Final = {
    "signee": "signée par toutes ses parties",
    "en_vigueur": "déclarée en vigueur",
    "terminee": "déclarée terminée",
}


def _agreement_text(kind: str, details: Mapping[str, Any], names: Mapping[str, str]) -> str:
    parties = [names[siren] for siren in details.get("parties", ()) if siren in names]
    text = AGREEMENT_STEPS[kind].format(
        n=details.get("agreement_id", "?"),
        parties=f" {between(parties)}" if len(parties) > 1 else "",
        erased=_erased_signatures(details.get("epci_sirens", ()), names),
    )
    if kind == "agreement_signed":
        if details.get("signed_on"):
            text += f" le {french_date(date.fromisoformat(details['signed_on']))}"
        signer = names.get(details.get("epci_siren", ""))
        text += f" {by_epci(signer)}" if signer else ""
    if kind == "agreement_status":
        text += f" {AGREEMENT_STATUS_STEPS.get(details.get('status', ''), '?')}"
    return text


def _erased_signatures(sirens: Sequence[str], names: Mapping[str, str]) -> str:
    """« la signature de la Communauté de communes de X a été effacée », « les signatures de
    X et de Y ont été effacées », or « les signatures ont été effacées » (EPCIs unknown)."""
    signers = [of_epci(names[siren]) for siren in sirens if siren in names]
    if len(signers) == 1:
        return f"la signature {signers[0]} a été effacée"
    if not signers:
        return "les signatures ont été effacées"
    return f"les signatures {', '.join(signers[:-1])} et {signers[-1]} ont été effacées"
