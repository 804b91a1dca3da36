"""Redirections: the lead EPCI proposes a company project to another EPCI, which accepts
(and takes the lead) or declines (with a reason); the proposer may withdraw while it waits.

A redirection's status moves only from « proposée »::

    proposee → acceptee   by a référent of the target EPCI; the target becomes the lead
             → declinee   by a référent of the target EPCI, with a reason (DECLINE_REASONS);
                          the lead stays, and may propose to another EPCI
             → retiree    by a référent of the proposing EPCI

At most one proposal of a project waits at a time (a partial unique index backs the check
under concurrency). Each step is one unit of work: the status, the project's lead, the case
event, the audit rows, the notifications and their e-mails (outbox rows, sent after the
commit) are written together, or — the savepoint around the step rolled back — none of them.
Two people answering at once are serialised by a row lock: the second gets StaleVersionError
with the first's answer.

Notifications travel by e-mail (relays, mailboxes) and land in the development outbox that
the administrator reads: they name the EPCIs, the project's number, what is awaited and the
link — never the company, its SIREN, the proposal's message or a decline's note, which are
read on the platform, behind the sign-in and the in-the-know check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from foncier.core import audit
from foncier.core.db import locked_row
from foncier.core.errors import (
    NotFoundError,
    PermissionDeniedError,
    StaleVersionError,
    ValidationError,
)
from foncier.core.french import epci_named, to_epci
from foncier.core.paging import Paging, check_page
from foncier.core.permissions import Actor, Role
from foncier.matching.wording import agreed
from foncier.messaging.notifications import notify_epci, referents_of
from foncier.models import Epci, Prospect, RedirectedPlot, Redirection, Site, Terrain
from foncier.models.codelists import STADES_DISPONIBLES
from foncier.prospects import casework
from foncier.prospects.cases import FINAL_STAGES, pending_redirection

STATUS_LABELS: Final = {
    "proposee": "Proposée, en attente de réponse",
    "acceptee": "Acceptée",
    "declinee": "Refusée",
    "retiree": "Retirée",
}
DECLINE_REASON_LABELS: Final = {
    "pas_de_terrain": "Pas de terrain disponible qui convienne",
    "activite_non_souhaitee": "Activité non souhaitée sur nos parcs",
    "delai": "Délai de disponibilité trop long",
    "capacite": "Capacité insuffisante (réseaux, accès, équipe)",
    "projet_incomplet": "Projet trop incomplet pour être étudié",
    "autre": "Autre raison (précisez)",
}
# Stages from which the case can still be sent elsewhere: not under option, not over.
NOT_REDIRECTABLE: Final = FINAL_STAGES | {"option"}


def sentence_subject(nom: str) -> str:
    """The EPCI opening a sentence: « La Communauté de communes de X propose … »."""
    named = epci_named(nom)
    return named[:1].upper() + named[1:]


def project_link(prospect_id: int) -> str:
    return f"/projets/{prospect_id}"


def redirection_link(redirection_id: int) -> str:
    return f"/redirections/{redirection_id}"


# --- proposing -------------------------------------------------------------------------------


def propose_redirection(
    session: Session,
    actor: Actor,
    prospect: Prospect,
    to_epci_siren: str,
    terr_ids: Sequence[str],
    message: str,
) -> Redirection:
    """Propose ``prospect`` to the EPCI ``to_epci_siren`` with plots of it and a message, and
    tell that EPCI's référents. Raises PermissionDeniedError (not the lead), ValidationError
    (wrong target, plots or message), StaleVersionError (a proposal already waits)."""
    casework.require_lead(actor, prospect, "l’orientation de ce projet")
    audit.acting_as(session, actor)
    with _atomic(session):
        prospect = locked_row(session, Prospect, prospect.id)
        target = _check_proposal(session, prospect, to_epci_siren, terr_ids, message)
        if pending_redirection(session, prospect) is not None:
            raise StaleVersionError(_ALREADY_PENDING, prospect)
        redirection = _insert_proposal(session, actor, prospect, target, terr_ids, message)
        casework.record_event(
            session,
            actor,
            prospect,
            "redirection_proposed",
            details={"to_epci_siren": target.siren, "terr_ids": sorted(set(terr_ids))},
            note=message.strip(),
            redirection=redirection,
        )
        plots = len(redirection.plots)
        kept = agreed(plots, "terrain de votre EPCI retenu", "terrains de votre EPCI retenus", 0)
        notify_epci(
            session,
            target.siren,
            subject=f"Projet n° {prospect.id} proposé à votre EPCI",
            body=(
                f"{sentence_subject(redirection.from_epci.nom)} propose {to_epci(target.nom)} "
                f"de suivre le projet d’entreprise n° {prospect.id} ({plots} {kept}).\n\n"
                "Lisez la proposition et son message sur la plateforme, puis acceptez-la pour "
                "prendre le suivi du projet, ou refusez-la en indiquant pourquoi."
            ),
            link=redirection_link(redirection.id),
            prospect_id=prospect.id,
        )
    return redirection


_ALREADY_PENDING: Final = (
    "Une proposition de redirection de ce projet attend déjà une réponse : attendez-la, ou "
    "retirez-la avant d’en proposer une autre."
)


def _check_proposal(
    session: Session, prospect: Prospect, to_epci_siren: str, terr_ids: Sequence[str], message: str
) -> Epci:
    errors: dict[str, str] = {}
    target = session.get(Epci, to_epci_siren) if to_epci_siren else None
    if target is None:
        errors["to_epci_siren"] = "Choisissez l’EPCI à qui proposer le projet."
    elif target.siren == prospect.lead_epci_siren:
        errors["to_epci_siren"] = "Le projet est déjà suivi par cet EPCI : choisissez-en un autre."
    elif not referents_of(session, target.siren):
        errors["to_epci_siren"] = (
            f"{sentence_subject(target.nom)} n’a aucun référent actif sur la plateforme : "
            "personne ne recevrait la proposition. Choisissez un autre EPCI, ou demandez au "
            "coordinateur du réseau d’y ouvrir un compte."
        )
    if prospect.stage in NOT_REDIRECTABLE:
        errors["to_epci_siren"] = "Un projet sous option, installé ou perdu ne se redirige plus."
    if not message.strip():
        errors["message"] = "Écrivez un message à l’EPCI : le projet, ce que cherche l’entreprise."
    if target is not None and (problem := _plot_problem(session, target, terr_ids)):
        errors["terr_ids"] = problem
    if errors:
        raise ValidationError(errors)
    assert target is not None
    return target


def _plot_problem(session: Session, target: Epci, terr_ids: Sequence[str]) -> str | None:
    if not terr_ids:
        return "Cochez au moins un terrain de cet EPCI à proposer à l’entreprise."
    rows = session.execute(
        select(Terrain.terr_id, Terrain.terr_stade_comm)
        .join(Site)
        .where(Terrain.terr_id.in_(terr_ids), Site.site_epci_siren == target.siren)
    )
    found = {terr_id: stage for terr_id, stage in rows}
    elsewhere = sorted(set(terr_ids) - set(found))
    if elsewhere:
        return f"Ces terrains ne sont pas dans {epci_named(target.nom)} : {', '.join(elsewhere)}."
    not_on_offer = sorted(t for t, stage in found.items() if stage not in STADES_DISPONIBLES)
    if not_on_offer:
        return f"Ces terrains ne sont pas en vente : {', '.join(not_on_offer)}."
    return None


def _insert_proposal(
    session: Session,
    actor: Actor,
    prospect: Prospect,
    target: Epci,
    terr_ids: Sequence[str],
    message: str,
) -> Redirection:
    redirection = Redirection(
        prospect_id=prospect.id,
        from_epci_siren=prospect.lead_epci_siren,
        to_epci_siren=target.siren,
        message=message.strip(),
        proposed_by=actor.user_id,
        plots=[RedirectedPlot(terr_id=terr_id) for terr_id in sorted(set(terr_ids))],
    )
    try:
        # Another proposal committed since the check above breaks the partial unique index.
        with session.begin_nested(), audit.reason(session, "Proposition de redirection"):
            session.add(redirection)
    except IntegrityError as error:
        if "uq_redirection_one_pending" not in str(error.orig):
            raise
        raise StaleVersionError(_ALREADY_PENDING, prospect) from None
    session.refresh(redirection)  # the relationships of the new row (EPCIs, plots)
    return redirection


# --- answering -------------------------------------------------------------------------------


def accept_redirection(
    session: Session, actor: Actor, redirection: Redirection, version: int
) -> Redirection:
    """The target EPCI takes the project: it becomes its lead. Tells the proposer's référents."""

    def accept(current: Redirection, prospect: Prospect) -> None:
        current.status = "acceptee"
        prospect.lead_epci_siren = current.to_epci_siren

    def tell(current: Redirection, prospect: Prospect) -> None:
        notify_epci(
            session,
            current.from_epci_siren,
            subject=f"Projet n° {prospect.id} : proposition acceptée",
            body=(
                f"{sentence_subject(current.to_epci.nom)} a accepté votre proposition du "
                f"projet d’entreprise n° {prospect.id} et en prend le suivi."
            ),
            link=project_link(prospect.id),
            prospect_id=prospect.id,
        )

    return _answer(session, actor, redirection, version, "redirection_accepted", accept, tell)


def decline_redirection(
    session: Session,
    actor: Actor,
    redirection: Redirection,
    version: int,
    reason_code: str,
    note: str | None,
) -> Redirection:
    """The target EPCI declines, with a reason; the proposer keeps the lead and may propose
    the project to another EPCI."""
    note = (note or "").strip() or None
    # Who first: the wrong person is told they may not answer, not that the reason is missing.
    require_answer_right(actor, redirection, "redirection_declined")
    _check_decline(reason_code, note)

    def decline(current: Redirection, prospect: Prospect) -> None:
        current.status = "declinee"
        current.decline_reason = reason_code
        current.decline_note = note

    def tell(current: Redirection, prospect: Prospect) -> None:
        # The reason's label comes from the list; the note is free text: read on the platform.
        precisions = " Ses précisions sont à lire sur la plateforme." if note else ""
        notify_epci(
            session,
            current.from_epci_siren,
            subject=f"Projet n° {prospect.id} : proposition refusée",
            body=(
                f"{sentence_subject(current.to_epci.nom)} a refusé votre proposition du "
                f"projet d’entreprise n° {prospect.id} "
                f"(motif : {DECLINE_REASON_LABELS[reason_code].lower()})."
                f"{precisions}\n\nVous gardez le suivi du projet ; vous pouvez le proposer à "
                "un autre EPCI."
            ),
            link=project_link(prospect.id),
            prospect_id=prospect.id,
        )

    details = {"reason": reason_code}
    return _answer(
        session, actor, redirection, version, "redirection_declined", decline, tell, details
    )


def _check_decline(reason_code: str, note: str | None) -> None:
    if reason_code not in DECLINE_REASON_LABELS:
        raise ValidationError({"reason": "Choisissez un motif dans la liste."})
    if reason_code == "autre" and not note:
        raise ValidationError({"note": "Précisez le motif du refus."})


def withdraw_redirection(
    session: Session, actor: Actor, redirection: Redirection, version: int
) -> Redirection:
    """The proposer takes its proposal back before any answer; the target's référents are told."""

    def withdraw(current: Redirection, prospect: Prospect) -> None:
        current.status = "retiree"

    def tell(current: Redirection, prospect: Prospect) -> None:
        notify_epci(
            session,
            current.to_epci_siren,
            subject=f"Projet n° {prospect.id} : proposition retirée",
            body=(
                f"{sentence_subject(current.from_epci.nom)} a retiré sa proposition du "
                f"projet d’entreprise n° {prospect.id} : elle n’attend plus de réponse de "
                "votre part."
            ),
            link=redirection_link(current.id),
            prospect_id=prospect.id,
        )

    return _answer(session, actor, redirection, version, "redirection_withdrawn", withdraw, tell)


def may_answer(actor: Actor, redirection: Redirection) -> bool:
    return actor.role is Role.REFERENT and actor.epci_siren == redirection.to_epci_siren


def may_withdraw(actor: Actor, redirection: Redirection) -> bool:
    return actor.role is Role.REFERENT and actor.epci_siren == redirection.from_epci_siren


ANSWERS: Final = {
    "redirection_accepted": (may_answer, "accepter"),
    "redirection_declined": (may_answer, "refuser"),
    "redirection_withdrawn": (may_withdraw, "retirer"),
}
_WHO_ANSWERS: Final = "Seuls les référents de l’EPCI à qui le projet est proposé peuvent {verb} "
_WHO_WITHDRAWS: Final = "Seuls les référents de l’EPCI qui a fait la proposition peuvent {verb} "


def _answer(
    session: Session,
    actor: Actor,
    redirection: Redirection,
    version: int,
    kind: str,
    change: Callable[[Redirection, Prospect], None],
    tell: Callable[[Redirection, Prospect], None],
    details: dict[str, str] | None = None,
) -> Redirection:
    require_answer_right(actor, redirection, kind)
    audit.acting_as(session, actor)
    with _atomic(session):
        # The lock makes two simultaneous answers wait for each other; the second then reads
        # the first's answer and is refused below.
        current = locked_row(session, Redirection, redirection.id)
        _check_still_pending(current, version)
        prospect = locked_row(session, Prospect, current.prospect_id)
        current.answered_by = actor.user_id
        current.answered_at = datetime.now(UTC)
        label = {"redirection_accepted": "acceptée", "redirection_declined": "refusée"}
        with audit.reason(session, f"Redirection {label.get(kind, 'retirée')}"):
            change(current, prospect)
            casework.record_event(
                session, actor, prospect, kind, details=details, redirection=current
            )
        tell(current, prospect)
    return current


def require_answer_right(actor: Actor, redirection: Redirection, kind: str) -> None:
    """PermissionDeniedError unless ``actor`` may make the answer ``kind`` (a key of ANSWERS):
    checked before anything else of the answer, so the wrong person always hears so."""
    allowed, verb = ANSWERS[kind]
    if not allowed(actor, redirection):
        who = _WHO_WITHDRAWS if kind == "redirection_withdrawn" else _WHO_ANSWERS
        raise PermissionDeniedError(who.format(verb=verb) + "cette proposition.")


def _check_still_pending(redirection: Redirection, version: int) -> None:
    if redirection.status != "proposee":
        status = STATUS_LABELS[redirection.status].lower()
        raise StaleVersionError(
            f"Cette proposition a déjà reçu une suite (elle est {status}) : rien n’a été "
            "enregistré.",
            redirection,
        )
    if redirection.version != version:
        raise StaleVersionError(
            "Cette proposition a changé pendant que vous la lisiez : rien n’a été enregistré. "
            "Rechargez la page.",
            redirection,
        )


# --- shared steps ----------------------------------------------------------------------------


@contextmanager
def _atomic(session: Session) -> Iterator[None]:
    """Everything written in the block, or nothing: a savepoint rolled back on any error
    (a refused check, someone else's change), so the session stays usable and clean."""
    try:
        with session.begin_nested():
            yield
    except StaleDataError:
        raise StaleVersionError(
            "Quelqu’un a modifié ce projet au même moment : rien n’a été enregistré. "
            "Rechargez la page.",
            None,
        ) from None


# --- reading ---------------------------------------------------------------------------------


def get_redirection(session: Session, redirection_id: int) -> Redirection:
    redirection = session.get(Redirection, redirection_id)
    if redirection is None:
        raise NotFoundError(f"no redirection {redirection_id}")
    return redirection


def require_in_the_know(session: Session, actor: Actor, redirection: Redirection) -> None:
    """Only the people who may read the company read a proposal (it names it)."""
    if not casework.may_see_company(session, actor, redirection.prospect):
        raise PermissionDeniedError(
            "Cette proposition concerne un projet d’entreprise confidentiel : seuls les EPCI "
            "concernés et le coordinateur du réseau la consultent."
        )


@dataclass(frozen=True)
class RedirectionLine:
    """A redirection in a list: the company's name only for those who may read it."""

    redirection: Redirection
    company_name: str | None
    direction: str  # "envoyee", "recue" or "reseau"


@dataclass(frozen=True)
class RedirectionPage(Paging):
    lines: list[RedirectionLine]


PER_PAGE: Final = 50


DIRECTIONS: Final = {"envoyees": "Envoyées par mon EPCI", "recues": "Reçues par mon EPCI"}


def redirections_for(
    session: Session,
    actor: Actor,
    page: int = 1,
    per_page: int | None = None,
    *,
    direction: str | None = None,
) -> RedirectionPage:
    """A page of the network's redirections, newest first, for every member alike: who sent
    what to whom is the network's business; the company is not (named only to those in the
    know). ``direction`` (a key of DIRECTIONS) narrows a référent's list to what their EPCI
    sent or received; it means nothing to someone of no EPCI. A fixed number of queries,
    whatever the page's length."""
    query = select(Redirection, Prospect.company_name, Prospect.origin_epci_siren).join(
        Prospect, Prospect.id == Redirection.prospect_id
    )
    mine = actor.epci_siren if actor.role is Role.REFERENT else None
    if mine and direction == "envoyees":
        query = query.where(Redirection.from_epci_siren == mine)
    elif mine and direction == "recues":
        query = query.where(Redirection.to_epci_siren == mine)
    per_page = per_page or PER_PAGE
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    check_page(page, total, per_page, of="the redirections")
    rows = session.execute(
        query.order_by(Redirection.proposed_at.desc(), Redirection.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    known = casework.epcis_in_the_know_of(
        session, {r.prospect_id: origin for r, _name, origin in rows}
    )
    lines = [
        RedirectionLine(
            redirection,
            name if actor.can_see_company(known[redirection.prospect_id]) else None,
            _direction(actor, redirection),
        )
        for redirection, name, _origin in rows
    ]
    return RedirectionPage(total, page, per_page, lines)


def _direction(actor: Actor, redirection: Redirection) -> str:
    if actor.role is Role.REFERENT and actor.epci_siren == redirection.from_epci_siren:
        return "envoyee"
    if actor.role is Role.REFERENT and actor.epci_siren == redirection.to_epci_siren:
        return "recue"
    return "reseau"
