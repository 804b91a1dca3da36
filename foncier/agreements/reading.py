"""Reading agreements as the actor may: one agreement with what it covers (get_agreement),
the filtered, sorted, paginated list, and the agreements covering redirections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session, selectinload

from foncier.agreements import sharing
from foncier.agreements.rules import (
    CONFIDENTIAL_COMPANY,
    LIVE,
    PER_PAGE,
    STATUS_LABELS,
    TAX_KIND_LABELS,
    Coverage,
    coverage_of,
    details_visible,
    may_negotiate,
    sirens_of_parties,
)
from foncier.agreements.status import STATUS_MOVES
from foncier.core.db import get_or_raise
from foncier.core.paging import Paging, check_page
from foncier.core.permissions import Actor, Role
from foncier.models import (
    Agreement,
    AgreementDocument,
    AgreementParty,
    AgreementRedirection,
    Redirection,
)
from foncier.models.agreements import AGREEMENT_STATUSES, TAX_KINDS
from foncier.territory.epcis import epci_names

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
    agreement = get_or_raise(session, Agreement, agreement_id)
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
