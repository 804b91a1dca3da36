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

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from foncier.core import audit
from foncier.core.db import locked_row
from foncier.core.errors import (
    PermissionDeniedError,
    StaleVersionError,
    ValidationError,
)
from foncier.core.formulas import formula_problems
from foncier.core.french import epci_named, to_epci
from foncier.core.paging import Paging, check_page
from foncier.core.permissions import Actor, Role
from foncier.matching.wording import agreed
from foncier.messaging.notifications import has_active_referent, notify_epci
from foncier.models import (
    Epci,
    Prospect,
    RedirectedPlot,
    Redirection,
    ShortlistedPlot,
    Site,
    Terrain,
)
from foncier.models.codelists import STADES_DISPONIBLES
from foncier.prospects import casework
from foncier.prospects.cases import FINAL_STAGES, pending_redirection
from foncier.territory.epcis import list_epcis

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
# What only the lead changes, in « Seuls les référents … peuvent modifier … ».
PROPOSING: Final = "l’orientation de ce projet"


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
    casework.require_lead(actor, prospect, PROPOSING)
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
    errors = formula_problems({"message": message.strip()})  # stored stripped
    target = session.get(Epci, to_epci_siren) if to_epci_siren else None
    if target is None:
        errors["to_epci_siren"] = "Choisissez l’EPCI à qui proposer le projet."
    elif problem := _target_problem(session, prospect, target):
        errors["to_epci_siren"] = problem
    if prospect.stage in NOT_REDIRECTABLE:
        errors["to_epci_siren"] = "Un projet sous option, installé ou perdu ne se redirige plus."
    if not message.strip():
        errors["message"] = "Écrivez un message à l’EPCI : le projet, ce que cherche l’entreprise."
    if target is not None and (problem := _plot_problem(session, prospect, target, terr_ids)):
        errors["terr_ids"] = problem
    if errors:
        raise ValidationError(errors)
    assert target is not None
    return target


# --- what a proposal may name: the form's choices and the check, one rule --------------------
#
# Each rule is a SQL condition and the message refusing what breaks it. The form offers what
# meets every condition (proposal_targets, offerable_plots); _check_proposal evaluates the same
# conditions on what was sent and refuses with the message of the first one broken.

_Rule = tuple[ColumnElement[bool], str]


def _plot_rules(prospect: Prospect, epci_siren: ColumnElement[str] | str) -> list[_Rule]:
    """A plot (a Terrain row joined to its Site) a proposal of ``prospect`` to the EPCI
    ``epci_siren`` may name: one of that EPCI, on sale, that the lead kept for the project.
    The messages list the plots with ``{plots}`` and name the EPCI with ``{in_epci}``."""
    kept = select(ShortlistedPlot.terr_id).where(ShortlistedPlot.prospect_id == prospect.id)
    return [
        (Site.site_epci_siren == epci_siren, "Ces terrains ne sont pas dans {in_epci} : {plots}."),
        (
            Terrain.terr_stade_comm.in_(STADES_DISPONIBLES),
            "Ces terrains ne sont pas en vente : {plots}.",
        ),
        (
            Terrain.terr_id.in_(kept),
            "Ces terrains ne sont pas dans la sélection du projet : {plots}. Gardez-les d’abord "
            "depuis la recherche de terrains.",
        ),
    ]


def _target_rules(prospect: Prospect) -> list[_Rule]:
    """An EPCI (an Epci row) a proposal of ``prospect`` may go to: another than the lead, with
    an active référent to answer (or the case would wait for nothing), and with at least one
    plot the proposal may name — which makes a park without a plot on sale, or whose plots
    the lead did not keep, no target. The messages name the EPCI with ``{subject}`` (opening
    a sentence) or ``{in_epci}``."""
    offerable = select(Terrain.terr_id).join(Site)
    offerable = offerable.where(*(condition for condition, _ in _plot_rules(prospect, Epci.siren)))
    return [
        (
            Epci.siren != prospect.lead_epci_siren,
            "Le projet est déjà suivi par cet EPCI : choisissez-en un autre.",
        ),
        (
            has_active_referent(Epci.siren),
            "{subject} n’a aucun référent actif sur la plateforme : personne ne recevrait la "
            "proposition. Choisissez un autre EPCI, ou demandez au coordinateur du réseau d’y "
            "ouvrir un compte.",
        ),
        (
            exists(offerable),
            "Aucun terrain en vente de la sélection du projet n’est dans {in_epci} : gardez-en "
            "d’abord depuis la recherche de terrains, ou choisissez un autre EPCI.",
        ),
    ]


def _first_broken(rules: list[_Rule], met: Sequence[bool]) -> str | None:
    return next((message for (_, message), ok in zip(rules, met, strict=True) if not ok), None)


def _target_problem(session: Session, prospect: Prospect, target: Epci) -> str | None:
    rules = _target_rules(prospect)
    met = session.execute(
        select(*(condition for condition, _ in rules)).where(Epci.siren == target.siren)
    ).one()
    message = _first_broken(rules, tuple(met))
    if message is None:
        return None
    return message.format(subject=sentence_subject(target.nom), in_epci=epci_named(target.nom))


def _plot_problem(
    session: Session, prospect: Prospect, target: Epci, terr_ids: Sequence[str]
) -> str | None:
    if not terr_ids:
        return "Cochez au moins un terrain de cet EPCI à proposer à l’entreprise."
    rules = _plot_rules(prospect, target.siren)
    rows = session.execute(
        select(Terrain.terr_id, *(condition for condition, _ in rules))
        .join(Site)
        .where(Terrain.terr_id.in_(terr_ids))
    )
    met = {terr_id: tuple(flags) for terr_id, *flags in rows}
    unknown = (False,) * len(rules)  # an id of no plot is, first of all, not of this EPCI
    for index, (_, message) in enumerate(rules):
        broken = sorted({t for t in terr_ids if not met.get(t, unknown)[index]})
        if broken:
            return message.format(in_epci=epci_named(target.nom), plots=", ".join(broken))
    return None


def proposal_targets(session: Session, actor: Actor, prospect: Prospect) -> list[tuple[str, str]]:
    """The EPCIs the lead may propose ``prospect`` to, (SIREN, name) in the order of every
    list of EPCIs: exactly those propose_redirection accepts — none once the case can no
    longer move away. PermissionDeniedError for anyone but the lead."""
    casework.require_lead(actor, prospect, PROPOSING)
    if prospect.stage in NOT_REDIRECTABLE:
        return []
    conditions = (condition for condition, _ in _target_rules(prospect))
    allowed = set(session.scalars(select(Epci.siren).where(*conditions)))
    return [(siren, nom) for siren, nom in list_epcis(session) if siren in allowed]


@dataclass(frozen=True)
class OfferablePlot:
    terr_id: str
    park: str
    epci_siren: str
    epci_nom: str


def offerable_plots(session: Session, actor: Actor, prospect: Prospect) -> list[OfferablePlot]:
    """The plots a proposal of ``prospect`` may name, to any of proposal_targets: each
    accepted with its EPCI as the target. By EPCI in proposal_targets' order, then by id."""
    targets = [siren for siren, _ in proposal_targets(session, actor, prospect)]
    conditions = (condition for condition, _ in _plot_rules(prospect, Site.site_epci_siren))
    rows = session.execute(
        select(Terrain.terr_id, Site.site_nom, Epci.siren, Epci.nom)
        .join(Site, Site.site_id == Terrain.site_id)
        .join(Epci, Epci.siren == Site.site_epci_siren)
        .where(Epci.siren.in_(targets), *conditions)
    )
    order = {siren: rank for rank, siren in enumerate(targets)}
    plots = [OfferablePlot(*row) for row in rows]
    return sorted(plots, key=lambda plot: (order[plot.epci_siren], plot.terr_id))


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
    if problems := formula_problems({"note": note}):
        raise ValidationError(problems)


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
