"""Shared-benefit agreements (conventions de partage) between EPCIs; the network's ledger
that totals them is foncier.agreements.ledger.

Who may do what (checked here, whatever the page, export or command):

- **everyone** signed in reads every agreement's parties, amounts, shares and status: the
  network's aggregates are visible to all members alike;
- the agreement's **details** — its title, free texts, the companies it covers and its
  signed document — are read only by the coordinateur and by the référents of a party EPCI
  that is in the know of every project the agreement covers (foncier.prospects.casework): the others
  see « Convention n° 12 » and « entreprise confidentielle »;
- every party EPCI must be in the know of every project the agreement covers: nobody signs
  terms they may not read (checked on every create and edit);
- the référents of a party EPCI and the coordinateur create and change an agreement while it
  is a draft (brouillon), and move it from signed to in force, then ended (STATUS_MOVES);
- a référent records their own EPCI's signature, given to the version of the terms they
  read (a signature sent from an older version is refused); once every party has signed the
  agreement is « signée » and its terms no longer change. Changing the terms of a draft
  erases the signatures already recorded (they were given to other terms) and tells those
  parties. Every signature moves the agreement's version on, and an edit locks the agreement
  before reading it: an edit started before a signature is refused, never saved over it.
  Each change is all or nothing, its notices included (a failing mail server leaves none).

An agreement covers accepted redirections between two of its parties; a référent covers only
redirections their EPCI sent or received (the coordinateur any); a redirection is covered by
one live (not ended) agreement at most, so the ledger counts nothing twice — the covered
redirections are locked while this is checked, so two people covering one at once end with
one agreement. The agreement's steps (established, each signature, signed by all, in force,
ended; a project covered or no longer covered by an edit, signatures an edit erased) are
written — before any notice, in the same savepoint as the change — in the path of the projects
it covers (CaseEvent « agreement_* », worded by foncier.redirections.case_steps), and a project page
names the agreement covering each redirection (agreements_for_redirections).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Final

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session, selectinload

from foncier.agreements import sharing
from foncier.core import audit
from foncier.core.db import locked_row, saving
from foncier.core.errors import (
    NotFoundError,
    PermissionDeniedError,
    StaleVersionError,
    ValidationError,
)
from foncier.core.french import between
from foncier.core.paging import Paging, check_page
from foncier.core.permissions import Actor, Role
from foncier.inventory.queries import epci_names, list_epcis
from foncier.matching.wording import french_date
from foncier.messaging.mail import MailSettings
from foncier.messaging.notifications import notify_epci
from foncier.models import (
    Agreement,
    AgreementDocument,
    AgreementParty,
    AgreementRedirection,
    AuditEvent,
    Epci,
    Prospect,
    Redirection,
)
from foncier.models.agreements import AGREEMENT_STATUSES, TAX_KINDS
from foncier.prospects import casework
from foncier.prospects.casework import record_event

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
# Agreements that commit their parties, and so count in the ledger's totals.
COMMITTED: Final = ("signee", "en_vigueur", "terminee")
LIVE: Final = ("brouillon", "signee", "en_vigueur")
CONFIDENTIAL_COMPANY: Final = "entreprise confidentielle"
MAX_TITLE: Final = 200
MAX_DOCUMENT_BYTES: Final = 10 * 1024 * 1024
PDF_MAGIC: Final = b"%PDF-"
PER_PAGE: Final = 20
SAFE_FILENAME: Final = re.compile(r"[^A-Za-z0-9._-]+")
MAX_FILENAME: Final = 100
assert set(STATUS_LABELS) == set(AGREEMENT_STATUSES) and set(TAX_KIND_LABELS) == set(TAX_KINDS)


class AgreementSort(StrEnum):
    RECENT = "recent"
    OLDEST = "ancien"
    STATUS = "statut"

    @property
    def label(self) -> str:
        return {
            AgreementSort.RECENT: "Les plus récentes d’abord",
            AgreementSort.OLDEST: "Les plus anciennes d’abord",
            AgreementSort.STATUS: "Par statut",
        }[self]


@dataclass(frozen=True)
class Terms:
    """What people type into an agreement. ``parties``: EPCI SIREN -> its share of the tax
    revenue in percent (None when the agreement shares no tax revenue)."""

    title: str
    parties: Mapping[str, Decimal | None]
    redirection_ids: tuple[int, ...] = ()
    tax_kind: str | None = None
    tax_years: int | None = None
    first_year: int | None = None
    estimated_annual_amount: Decimal | None = None
    compensation_eur: Decimal | None = None
    compensation_payer_siren: str | None = None
    compensation_payee_siren: str | None = None
    jobs_followup: str | None = None
    reciprocity_credit: str | None = None
    free_text: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None


SCALAR_TERMS: Final = (
    "title",
    "tax_kind",
    "tax_years",
    "first_year",
    "estimated_annual_amount",
    "compensation_eur",
    "compensation_payer_siren",
    "compensation_payee_siren",
    "jobs_followup",
    "reciprocity_credit",
    "free_text",
    "starts_on",
    "ends_on",
)


# --- who may do what -------------------------------------------------------------------------


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


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoveredCase:
    redirection_id: int
    prospect_id: int
    company: str
    # May open the project's page (in the know of the company, or the coordinateur).
    company_visible: bool
    from_epci: str
    to_epci: str
    jobs_created: int | None


@dataclass(frozen=True)
class AgreementView:
    """An agreement as ``actor`` may read it."""

    agreement: Agreement
    label: str
    details_visible: bool
    cases: list[CoveredCase]
    epci_names: dict[str, str]
    projection: sharing.Projection | None
    document: AgreementDocument | None
    may_edit: bool
    may_sign_for: str | None
    status_moves: tuple[str, ...]
    may_attach: bool

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.agreement.status]


def get_agreement(session: Session, actor: Actor, agreement_id: int) -> AgreementView:
    agreement = agreement_or_404(session, agreement_id)
    coverage = coverage_of(session, [agreement])
    details = details_visible(actor, agreement, coverage)
    names = epci_names(session)
    document = session.get(AgreementDocument, agreement.id) if details else None
    # Whoever may not read the terms neither writes, signs nor moves them.
    acting = details and may_negotiate(actor, sirens_of_parties(agreement))
    return AgreementView(
        agreement=agreement,
        label=agreement_label(agreement, details),
        details_visible=details,
        cases=_cases(actor, coverage.of(agreement), coverage, names),
        epci_names=names,
        projection=projection_of(agreement),
        document=document,
        may_edit=acting and agreement.status == "brouillon",
        may_sign_for=_signable_party(actor, agreement) if details else None,
        status_moves=STATUS_MOVES[agreement.status] if acting else (),
        may_attach=acting,
    )


def agreement_label(agreement: Agreement, details_visible: bool) -> str:
    generic = f"Convention n° {agreement.id}"
    return f"{generic} — {agreement.title}" if details_visible else generic


def projection_of(agreement: Agreement) -> sharing.Projection | None:
    """The year-by-year shares of the estimated tax revenue, when the terms allow one."""
    shares = {party.epci_siren: party.share_percent for party in agreement.parties}
    amount, years, first = (
        agreement.estimated_annual_amount,
        agreement.tax_years,
        agreement.first_year,
    )
    if amount is None or years is None or first is None or None in shares.values():
        return None
    return sharing.project_shares(amount, years, shares, first)


def _signable_party(actor: Actor, agreement: Agreement) -> str | None:
    if actor.role is not Role.REFERENT or agreement.status != "brouillon":
        return None
    for party in agreement.parties:
        if party.epci_siren == actor.epci_siren and party.signed_on is None:
            return party.epci_siren
    return None


def _cases(
    actor: Actor, redirections: list[Redirection], coverage: Coverage, names: dict[str, str]
) -> list[CoveredCase]:
    cases = []
    for redirection in redirections:
        prospect = redirection.prospect
        visible = actor.can_see_company(coverage.known[prospect.id])
        cases.append(
            CoveredCase(
                redirection_id=redirection.id,
                prospect_id=prospect.id,
                company=prospect.company_name if visible else CONFIDENTIAL_COMPANY,
                company_visible=visible,
                from_epci=names[redirection.from_epci_siren],
                to_epci=names[redirection.to_epci_siren],
                jobs_created=prospect.jobs_created,
            )
        )
    return cases


@dataclass(frozen=True)
class AgreementRow:
    """A line of the list of agreements."""

    id: int
    label: str
    status: str
    parties: list[str]
    signed: int
    compensation_eur: Decimal | None
    estimated_annual_amount: Decimal | None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass(frozen=True)
class AgreementPage(Paging):
    items: list[AgreementRow]


def list_agreements(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    epci_siren: str | None = None,
    sort: AgreementSort = AgreementSort.RECENT,
    page: int = 1,
) -> AgreementPage:
    query = _filtered(status, epci_siren)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    check_page(page, total, PER_PAGE, of="the agreements")
    order = {
        AgreementSort.RECENT: (Agreement.created_at.desc(), Agreement.id.desc()),
        AgreementSort.OLDEST: (Agreement.created_at, Agreement.id),
        AgreementSort.STATUS: (_status_rank(), Agreement.id.desc()),
    }[sort]
    agreements = session.scalars(
        query.options(selectinload(Agreement.parties), selectinload(Agreement.redirections))
        .order_by(*order)
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    ).all()
    names = epci_names(session)
    coverage = coverage_of(session, agreements)
    rows = [_row(actor, agreement, coverage, names) for agreement in agreements]
    return AgreementPage(total, page, PER_PAGE, rows)


def _filtered(status: str | None, epci_siren: str | None) -> Select[tuple[Agreement]]:
    query = select(Agreement)
    if status:
        query = query.where(Agreement.status == status)
    if epci_siren:
        query = query.where(Agreement.parties.any(AgreementParty.epci_siren == epci_siren))
    return query


def _status_rank() -> ColumnElement[int]:
    return func.array_position(list(AGREEMENT_STATUSES), Agreement.status)


def _row(
    actor: Actor, agreement: Agreement, coverage: Coverage, names: dict[str, str]
) -> AgreementRow:
    return AgreementRow(
        id=agreement.id,
        label=agreement_label(agreement, details_visible(actor, agreement, coverage)),
        status=agreement.status,
        parties=[names[party.epci_siren] for party in agreement.parties],
        signed=sum(party.signed_on is not None for party in agreement.parties),
        compensation_eur=agreement.compensation_eur,
        estimated_annual_amount=agreement.estimated_annual_amount,
    )


def covered_redirection_choices(
    session: Session, actor: Actor, current: Agreement | None = None
) -> list[tuple[int, str]]:
    """Accepted redirections ``actor`` may cover: (id, label naming the company), those of
    the actor's EPCI for a référent, all for the coordinateur."""
    query = select(Redirection).where(Redirection.status == "acceptee").order_by(Redirection.id)
    if actor.role is Role.REFERENT:
        query = query.where(
            (Redirection.from_epci_siren == actor.epci_siren)
            | (Redirection.to_epci_siren == actor.epci_siren)
        )
    elif actor.role is not Role.COORDINATEUR:
        return []
    taken = _covered_elsewhere(session, current)
    names = epci_names(session)
    redirections = session.scalars(query.options(selectinload(Redirection.prospect))).all()
    known = known_to(session, [r.prospect for r in redirections])
    return [
        (r.id, f"{r.prospect.company_name} — {names[r.from_epci_siren]} → {names[r.to_epci_siren]}")
        for r in redirections
        if r.id not in taken and actor.can_see_company(known[r.prospect_id])
    ]


def terms_for_redirection(session: Session, actor: Actor, redirection_id: int) -> Terms:
    """A draft's terms covering one accepted redirection, between its two EPCIs."""
    redirection = session.get(Redirection, redirection_id)
    if redirection is None or redirection.status != "acceptee":
        raise NotFoundError(f"no accepted redirection {redirection_id}")
    parties = {redirection.from_epci_siren: None, redirection.to_epci_siren: None}
    require_negotiator(actor, set(parties))
    names = epci_names(session)
    title = "Partage " + between([names[siren] for siren in parties])
    return Terms(title=title, parties=parties, redirection_ids=(redirection.id,))


@dataclass(frozen=True)
class CoveringAgreement:
    """The agreement that covers a redirection, as a project page names it: its number and
    status (the network's aggregates: everyone signed in reads them)."""

    id: int
    status: str

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def live(self) -> bool:
        """Not ended: the redirection can be covered by no other agreement."""
        return self.status in LIVE

    @property
    def label(self) -> str:
        """« Convention n° 12 (en vigueur) »."""
        return f"Convention n° {self.id} ({self.status_label.lower()})"


def agreements_for_redirections(
    session: Session, redirection_ids: Sequence[int]
) -> dict[int, CoveringAgreement]:
    """For each of ``redirection_ids`` covered by an agreement: its live agreement, or else
    the last one that ended (a new agreement may then cover it). One query."""
    if not redirection_ids:
        return {}
    rows = session.execute(
        select(AgreementRedirection.redirection_id, Agreement.id, Agreement.status)
        .join(Agreement, Agreement.id == AgreementRedirection.agreement_id)
        .where(AgreementRedirection.redirection_id.in_(list(redirection_ids)))
        .order_by(Agreement.id)
    )
    found: dict[int, CoveringAgreement] = {}
    for redirection_id, agreement_id, status in rows:
        known = found.get(redirection_id)
        if known is None or not known.live:  # a live one wins, then the latest
            found[redirection_id] = CoveringAgreement(agreement_id, status)
    return found


# --- writing ---------------------------------------------------------------------------------


def create_agreement(
    session: Session, actor: Actor, terms: Terms, *, settings: MailSettings
) -> Agreement:
    """A draft agreement with ``terms``, and the other parties asked to sign it (inbox and
    e-mail); flushed, not committed. Both or neither: if the mail server fails
    (MailDeliveryError), nothing of the draft remains in the session."""
    require_negotiator(actor, set(terms.parties))
    with all_or_nothing(session):
        _lock_redirections(session, terms.redirection_ids)
        _check_terms(session, actor, terms, current=None)
        agreement = Agreement(created_by=actor.user_id)
        _apply(agreement, terms)
        with audit.reason(session, "Nouvelle convention"):
            session.add(agreement)
        record_on_cases(
            session, actor, agreement, "agreement_created", covered_redirections(agreement), party_details(agreement)
        )
        ask_for_signatures(session, settings, actor, agreement)  # notices last
    return agreement


def update_agreement(
    session: Session,
    actor: Actor,
    agreement_id: int,
    terms: Terms,
    expected_version: int,
    *,
    settings: MailSettings,
) -> Agreement:
    """Change a draft's terms. If anything changed, the agreement's version moves on (even
    when only the parties or their shares changed) and the signatures already given are
    erased; the parties whose signature was erased are told (inbox and e-mail). All or
    nothing: if the mail server fails (MailDeliveryError), nothing of the edit remains."""
    # The lock comes first, before the parties and the version are read: a signature being
    # recorded now is committed before this edit reads them, and — a signature moving the
    # version on — the edit, started from the unsigned draft, is refused below.
    agreement = locked_agreement(session, agreement_id)
    require_editable(session, actor, agreement)
    require_negotiator(actor, set(terms.parties))
    check_version(agreement, expected_version)
    with all_or_nothing(session):
        _lock_redirections(session, terms.redirection_ids)
        _check_terms(session, actor, terms, current=agreement)
        erased: list[str] = []
        covered_before = covered_redirections(agreement)
        with saving(session, agreement, "Modification de la convention", STALE_MESSAGE):
            before = _snapshot(agreement)
            signed_before = [p.epci_siren for p in agreement.parties if p.signed_on is not None]
            _apply(agreement, terms)
            if _snapshot(agreement) != before:
                touch(agreement)
                for party in agreement.parties:
                    party.signed_on, party.signed_by = None, None
                erased = signed_before
        _record_edit_on_cases(session, actor, agreement, covered_before, erased)
        tell_signatures_erased(session, settings, actor, agreement, erased)  # notices last
    return agreement


def _record_edit_on_cases(
    session: Session,
    actor: Actor,
    agreement: Agreement,
    covered_before: set[int],
    erased: Sequence[str],
) -> None:
    """What an edit changes in the path of the projects: a project now covered, a project no
    longer covered, and — for the projects it still covers — the signatures it erased."""
    covered_after = covered_redirections(agreement)
    added, kept = covered_after - covered_before, covered_after & covered_before
    record_on_cases(session, actor, agreement, "agreement_covered", added, party_details(agreement))
    record_on_cases(
        session, actor, agreement, "agreement_uncovered", covered_before - covered_after
    )
    if erased:
        details = {"epci_sirens": list(erased)}
        record_on_cases(session, actor, agreement, "agreement_signatures_erased", kept, details)


def touch(agreement: Agreement) -> None:
    """Move the agreement's version on when only its parties' rows change (shares,
    signatures): an edit or a signature started from the version before is then refused."""
    agreement.updated_at = func.now()


def tell_signatures_erased(
    session: Session,
    settings: MailSettings,
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
            settings,
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


def ask_for_signatures(
    session: Session, settings: MailSettings, actor: Actor, agreement: Agreement
) -> None:
    """Tell the référents of the parties other than the actor's that the agreement awaits
    their signature (inbox and e-mail). The message names no company: it travels by e-mail."""
    parties = between_parties(session, agreement)
    for party in agreement.parties:
        if party.epci_siren == actor.epci_siren or party.signed_on is not None:
            continue
        notify_epci(
            session,
            settings,
            party.epci_siren,
            subject=f"Convention n° {agreement.id} à signer",
            body=(
                f"La convention de partage n° {agreement.id} {parties} attend la "
                "signature de votre EPCI. Relisez-en les termes sur la plateforme, puis "
                "enregistrez la date de signature."
            ),
            link=f"/conventions/{agreement.id}",
        )


def between_parties(session: Session, agreement: Agreement) -> str:
    """« entre Tours Métropole Val de Loire et la Communauté de communes de Gâtine-Racan », in
    the order of the parties (for a redirection: the EPCI that sent it first, as its title)."""
    names = epci_names(session)
    return between([names[party.epci_siren] for party in agreement.parties])


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
            session, actor, agreement, "agreement_status", covered_redirections(agreement), status_details(agreement)
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


def attach_document(
    session: Session, actor: Actor, agreement: Agreement, filename: str, content: bytes
) -> AgreementDocument:
    """Keep ``content`` (a PDF of 10 MB at most) as the agreement's signed document, in place
    of the previous one; the replacement is recorded in the agreement's audit trail."""
    agreement = locked_agreement(session, agreement.id)
    require_negotiator(actor, sirens_of_parties(agreement))
    require_details(session, actor, agreement)
    _check_pdf(content)
    name = safe_filename(filename)
    digest = hashlib.sha256(content).hexdigest()
    document = session.get(AgreementDocument, agreement.id)
    before = f"{document.filename} ({document.sha256[:12]})" if document else None
    if document is None:
        document = AgreementDocument(agreement_id=agreement.id)
        session.add(document)
    document.filename, document.content, document.sha256 = name, content, digest
    document.size, document.uploaded_by = len(content), actor.user_id
    document.uploaded_at = func.now()
    session.add(_document_event(actor, agreement, before, f"{name} ({digest[:12]})"))
    session.flush()
    return document


def document_for(session: Session, actor: Actor, agreement_id: int) -> AgreementDocument:
    """The signed PDF, for the parties in the know and the coordinateur."""
    agreement = agreement_or_404(session, agreement_id)
    require_details(session, actor, agreement)
    document = session.get(AgreementDocument, agreement.id)
    if document is None:
        raise NotFoundError(f"agreement {agreement_id} has no document")
    return document


def safe_filename(filename: str) -> str:
    """A file name without path, accents nor characters a header or a disk would mind."""
    base = re.split(r"[\\/]", filename)[-1]
    ascii_name = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    cleaned = SAFE_FILENAME.sub("_", ascii_name).strip("._")[:MAX_FILENAME]
    stem = cleaned[:-4] if cleaned.lower().endswith(".pdf") else cleaned
    return f"{stem or 'convention'}.pdf"


def _check_pdf(content: bytes) -> None:
    if not content.startswith(PDF_MAGIC):
        raise ValidationError({"document": "Le fichier n’est pas un PDF."})
    if len(content) > MAX_DOCUMENT_BYTES:
        raise ValidationError(
            {"document": f"Le PDF dépasse {MAX_DOCUMENT_BYTES // (1024 * 1024)} Mo."}
        )


def _document_event(
    actor: Actor, agreement: Agreement, before: str | None, after: str
) -> AuditEvent:
    # The document is not an audited model (its bytes have no place in the trail): its
    # replacement is written as a change of the agreement's "document" field.
    return AuditEvent(
        user_id=actor.user_id,
        actor_label=actor.label,
        action="update",
        entity_type=audit.ENTITY_TYPES[Agreement],
        entity_id=str(agreement.id),
        changes={"document": [before, after]},
        reason="Dépôt du document signé",
        version=agreement.version,
    )


# --- checks ------------------------------------------------------------------------------------


def _check_terms(session: Session, actor: Actor, terms: Terms, current: Agreement | None) -> None:
    errors: dict[str, str] = {}
    title = terms.title.strip()
    if not title:
        errors["title"] = "Donnez un intitulé à la convention."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"{MAX_TITLE} caractères au plus."
    errors |= _party_errors(session, terms)
    errors |= _tax_errors(terms)
    errors |= _compensation_errors(terms)
    redirection_errors = _redirection_errors(session, actor, terms, current)
    errors |= redirection_errors or _knowledge_errors(session, terms, errors)
    if terms.starts_on and terms.ends_on and terms.ends_on < terms.starts_on:
        errors["ends_on"] = "La fin ne peut pas précéder le début."
    if errors:
        raise ValidationError(errors)


def _party_errors(session: Session, terms: Terms) -> dict[str, str]:
    sirens = set(terms.parties)
    if len(sirens) < 2:
        return {"parties": "Une convention lie au moins deux EPCI."}
    known = set(session.scalars(select(Epci.siren).where(Epci.siren.in_(sirens))))
    if known != sirens:
        return {"parties": f"EPCI inconnu : {', '.join(sorted(sirens - known))}."}
    return {}


def _tax_errors(terms: Terms) -> dict[str, str]:
    errors: dict[str, str] = {}
    shares = list(terms.parties.values())
    given = [share for share in shares if share is not None]
    if given and len(given) != len(shares):
        errors["shares"] = "Indiquez la part de chaque EPCI, ou d’aucun."
    elif given:
        try:
            sharing.check_percents(dict(terms.parties))
        except ValidationError as refused:
            errors["shares"] = refused.errors["weights"]
    if terms.tax_kind is not None and terms.tax_kind not in TAX_KINDS:
        errors["tax_kind"] = "Recette fiscale inconnue."
    if terms.tax_years is not None and not 1 <= terms.tax_years <= sharing.MAX_YEARS:
        errors["tax_years"] = f"Entre 1 et {sharing.MAX_YEARS} ans."
    if terms.first_year is not None and terms.first_year not in sharing.YEAR_RANGE:
        errors["first_year"] = "Année non valide."
    sharing_tax = given or terms.tax_years or terms.estimated_annual_amount is not None
    if sharing_tax and terms.tax_kind is None:
        errors.setdefault("tax_kind", "Précisez la recette fiscale partagée.")
    if sharing_tax and terms.tax_years is None:
        errors.setdefault("tax_years", "Précisez pendant combien d’années.")
    if terms.estimated_annual_amount is not None:
        errors |= _amount_errors("estimated_annual_amount", terms.estimated_annual_amount)
        if terms.first_year is None:
            errors.setdefault("first_year", "Précisez la première année, pour la projection.")
        if not given:
            errors.setdefault("shares", "Indiquez la part de chaque EPCI, pour la projection.")
    return errors


def _compensation_errors(terms: Terms) -> dict[str, str]:
    payer, payee = terms.compensation_payer_siren, terms.compensation_payee_siren
    if terms.compensation_eur is None:
        if payer or payee:
            return {"compensation_eur": "Indiquez le montant de la compensation."}
        return {}
    errors = _amount_errors("compensation_eur", terms.compensation_eur)
    for key, siren in (("compensation_payer_siren", payer), ("compensation_payee_siren", payee)):
        if siren is None:
            errors[key] = "Choisissez un EPCI partie."
        elif siren not in terms.parties:
            errors[key] = "Cet EPCI n’est pas partie à la convention."
    if payer and payer == payee:
        errors["compensation_payee_siren"] = "Un EPCI ne se verse pas de compensation à lui-même."
    return errors


def _amount_errors(key: str, amount: Decimal) -> dict[str, str]:
    if amount < 0:
        return {key: "Le montant ne peut pas être négatif."}
    # The bound first: rounding a huge amount to the cent overflows decimal arithmetic.
    if amount >= Decimal("1e12"):
        return {key: "Montant trop élevé."}
    if amount != amount.quantize(Decimal("0.01")):
        return {key: "Deux décimales au plus."}
    return {}


def _redirection_errors(
    session: Session, actor: Actor, terms: Terms, current: Agreement | None
) -> dict[str, str]:
    taken = _covered_elsewhere(session, current)
    already = {link.redirection_id for link in current.redirections} if current else set()
    for redirection_id in terms.redirection_ids:
        redirection = session.get(Redirection, redirection_id)
        if redirection is None or redirection.status != "acceptee":
            return {"redirections": "Une convention ne couvre que des redirections acceptées."}
        ends = {redirection.from_epci_siren, redirection.to_epci_siren}
        if not ends <= set(terms.parties):
            return {"redirections": "Les deux EPCI de chaque redirection doivent être parties."}
        if redirection_id not in already and not _may_cover(actor, ends):
            return {
                "redirections": "Un référent ne couvre que les redirections que son EPCI a "
                "envoyées ou reçues."
            }
        if redirection_id in taken:
            return {"redirections": "Une redirection est déjà couverte par une autre convention."}
    return {}


def _may_cover(actor: Actor, ends: set[str]) -> bool:
    """A référent covers the redirections of their own EPCI (one of its two ends): an outsider
    could otherwise take a redirection and keep its real parties out (« déjà couverte »)."""
    return actor.role is Role.COORDINATEUR or actor.epci_siren in ends


def _knowledge_errors(session: Session, terms: Terms, errors: dict[str, str]) -> dict[str, str]:
    """Every party must know every company covered: a party that may not read the terms
    would sign them blind."""
    if "parties" in errors or not terms.redirection_ids:
        return {}
    prospects = session.scalars(
        select(Prospect)
        .join(Redirection, Redirection.prospect_id == Prospect.id)
        .where(Redirection.id.in_(terms.redirection_ids))
    ).all()
    known = known_to(session, prospects)
    blind = {siren for siren in terms.parties if any(siren not in known[p.id] for p in prospects)}
    if not blind:
        return {}
    names = epci_names(session)
    who = ", ".join(sorted(names[siren] for siren in blind))
    return {
        "parties": f"{who} ne connaît pas l’entreprise d’une redirection couverte : seuls les "
        "EPCI qui ont eu le projet en main peuvent être parties, pour lire ce qu’ils signent."
    }


def _lock_redirections(session: Session, redirection_ids: Sequence[int]) -> None:
    """Lock the redirections to cover until the transaction ends, so that « covered by one
    live agreement at most » holds when two people cover one at once: the second waits, then
    sees the first's agreement. One statement, in id order: two people locking the same
    redirections never wait for each other in a circle. (db.locked_row locks one row and
    reloads it; here the rows are read afterwards by the checks.)"""
    if redirection_ids:
        session.execute(
            select(Redirection.id)
            .where(Redirection.id.in_(sorted(set(redirection_ids))))
            .order_by(Redirection.id)
            .with_for_update()
        ).all()


def _covered_elsewhere(session: Session, current: Agreement | None) -> set[int]:
    """Redirections covered by a live agreement other than ``current``."""
    query = (
        select(AgreementRedirection.redirection_id)
        .join(Agreement, Agreement.id == AgreementRedirection.agreement_id)
        .where(Agreement.status.in_(LIVE))
    )
    if current is not None:
        query = query.where(Agreement.id != current.id)
    return set(session.scalars(query))


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


# --- records ---------------------------------------------------------------------------------


@contextmanager
def all_or_nothing(session: Session) -> Iterator[None]:
    """Everything written in the block, or nothing: a savepoint, rolled back on any error (a
    refused check, a mail server failing), so that a caller who catches the error and commits
    keeps no change without the notices it owes."""
    with session.begin_nested():
        yield


def agreement_or_404(session: Session, agreement_id: int) -> Agreement:
    """The agreement ``agreement_id`` (NotFoundError); callers check what the actor may do."""
    agreement = session.get(Agreement, agreement_id)
    if agreement is None:
        raise NotFoundError(f"no agreement {agreement_id}")
    return agreement


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


def _apply(agreement: Agreement, terms: Terms) -> None:
    for name in SCALAR_TERMS:
        setattr(agreement, name, getattr(terms, name))
    agreement.title = terms.title.strip()
    existing = {party.epci_siren: party for party in agreement.parties}
    agreement.parties = [
        _party(existing.get(siren), siren, share) for siren, share in terms.parties.items()
    ]
    covered = {link.redirection_id: link for link in agreement.redirections}
    agreement.redirections = [
        covered.get(rid) or AgreementRedirection(redirection_id=rid)
        for rid in dict.fromkeys(terms.redirection_ids)
    ]


def _party(party: AgreementParty | None, siren: str, share: Decimal | None) -> AgreementParty:
    party = party or AgreementParty(epci_siren=siren)
    party.share_percent = share
    return party


def _snapshot(agreement: Agreement) -> tuple[object, ...]:
    return (
        tuple(getattr(agreement, name) for name in SCALAR_TERMS),
        tuple((party.epci_siren, party.share_percent) for party in agreement.parties),
        tuple(link.redirection_id for link in agreement.redirections),
    )


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


def epci_choices(session: Session) -> list[tuple[str, str, str]]:
    """(SIREN, name, nature) of every EPCI, in inventory.list_epcis's order (as people look
    for them: « Castelrenaudais » among the C)."""
    natures = {siren: nature for siren, nature in session.execute(select(Epci.siren, Epci.nature))}
    return [(siren, nom, natures[siren]) for siren, nom in list_epcis(session)]


def epci_populations(session: Session, sirens: Sequence[str]) -> dict[str, int]:
    """Populations of the EPCIs ``sirens``, in that order."""
    query = select(Epci.siren, Epci.population).where(Epci.siren.in_(sirens))
    found = {siren: population for siren, population in session.execute(query)}
    return {siren: found[siren] for siren in sirens if siren in found}
