"""The network's ledger: every shared-benefit agreement, and each party EPCI's totals over
the committed ones (signed, in force or ended) with the network's total line, exportable as
CSV and Excel (the total line closes the totals in both).

Everyone signed in reads the ledger: amounts, shares, parties and statuses are the network's
aggregates. The agreement's title and the companies it covers are named only to those who may
read them (foncier.agreements.rules.details_visible, Actor.can_see_company); the others read
« Convention n° 12 » and « entreprise confidentielle », in the page and in every export.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, TextIO

from openpyxl import Workbook
from openpyxl.styles import Border, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from foncier.agreements import sharing
from foncier.agreements.reading import agreement_label, projection_of
from foncier.agreements.rules import (
    COMMITTED,
    CONFIDENTIAL_COMPANY,
    STATUS_LABELS,
    TAX_KIND_LABELS,
    Coverage,
    coverage_of,
    details_visible,
)
from foncier.core.permissions import Actor
from foncier.core.spreadsheets import (
    HEADER_FILL,
    HEADER_FONT,
    Sheet,
    fill_sheet,
    inert_cell,
    spreadsheet_csv,
)
from foncier.models import Agreement, Redirection
from foncier.territory.epcis import epci_names


@dataclass(frozen=True)
class LedgerRow:
    """One agreement in the ledger."""

    id: int
    label: str
    status: str
    parties: list[str]
    companies: list[str]
    tax_kind: str | None
    tax_years: int | None
    first_year: int | None
    estimated_annual_amount: Decimal | None
    projected_total: Decimal | None
    compensation_eur: Decimal | None
    compensation_payer: str | None
    compensation_payee: str | None
    jobs_created: int

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass
class EpciTotals:
    """An EPCI's balance over the committed agreements (signed, in force or ended)."""

    siren: str
    nom: str
    agreements: int = 0
    compensation_received: Decimal = Decimal("0.00")
    compensation_paid: Decimal = Decimal("0.00")
    projected_tax_share: Decimal = Decimal("0.00")
    jobs_created: int = 0
    _prospects: set[int] = field(default_factory=set, repr=False)


@dataclass(frozen=True)
class NetworkTotals:
    """The whole network over the committed agreements: each agreement counts once (not once
    per party), each compensation once, each company's jobs once."""

    agreements: int
    compensation: Decimal
    projected_tax: Decimal
    jobs_created: int


@dataclass(frozen=True)
class Ledger:
    rows: list[LedgerRow]
    totals: list[EpciTotals]
    network: NetworkTotals


def network_ledger(session: Session, actor: Actor) -> Ledger:
    """Every agreement, and each party EPCI's totals over the committed ones; companies are
    named only to those who may read them."""
    names = epci_names(session)
    agreements = session.scalars(
        select(Agreement)
        .options(selectinload(Agreement.parties), selectinload(Agreement.redirections))
        .order_by(Agreement.id)
    ).all()
    coverage = coverage_of(session, agreements)
    rows: list[LedgerRow] = []
    totals: dict[str, EpciTotals] = {}
    for agreement in agreements:
        cases = coverage.of(agreement)
        projection = projection_of(agreement)
        rows.append(_ledger_row(actor, agreement, coverage, projection, names))
        if agreement.status in COMMITTED:
            _add_to_totals(totals, agreement, cases, projection, names)
    # In the order of the EPCIs (inventory.list_epcis), as every list of them.
    by_name = [totals[siren] for siren in names if siren in totals]
    return Ledger(rows, by_name, _network_totals(agreements, by_name))


def _network_totals(agreements: Sequence[Agreement], totals: list[EpciTotals]) -> NetworkTotals:
    committed = [agreement for agreement in agreements if agreement.status in COMMITTED]
    return NetworkTotals(
        agreements=len(committed),
        # What is received is what is paid: the sum of the compensations, once each.
        compensation=sum((t.compensation_received for t in totals), Decimal("0.00")),
        projected_tax=sum((t.projected_tax_share for t in totals), Decimal("0.00")),
        # Jobs count for one EPCI only (the company's lead): their sum counts each once.
        jobs_created=sum(t.jobs_created for t in totals),
    )


def _ledger_row(
    actor: Actor,
    agreement: Agreement,
    coverage: Coverage,
    projection: sharing.Projection | None,
    names: dict[str, str],
) -> LedgerRow:
    cases = coverage.of(agreement)
    companies = [
        r.prospect.company_name
        if actor.can_see_company(coverage.known[r.prospect_id])
        else CONFIDENTIAL_COMPANY
        for r in cases
    ]
    payer, payee = agreement.compensation_payer_siren, agreement.compensation_payee_siren
    return LedgerRow(
        id=agreement.id,
        label=agreement_label(agreement, details_visible(actor, agreement, coverage)),
        status=agreement.status,
        parties=[names[party.epci_siren] for party in agreement.parties],
        companies=companies,
        tax_kind=TAX_KIND_LABELS.get(agreement.tax_kind or ""),
        tax_years=agreement.tax_years,
        first_year=agreement.first_year,
        estimated_annual_amount=agreement.estimated_annual_amount,
        projected_total=projection.grand_total if projection else None,
        compensation_eur=agreement.compensation_eur,
        compensation_payer=names[payer] if payer else None,
        compensation_payee=names[payee] if payee else None,
        jobs_created=sum(r.prospect.jobs_created or 0 for r in _unique_prospects(cases)),
    )


def _unique_prospects(cases: list[Redirection]) -> list[Redirection]:
    return list({r.prospect_id: r for r in cases}.values())


def _add_to_totals(
    totals: dict[str, EpciTotals],
    agreement: Agreement,
    cases: list[Redirection],
    projection: sharing.Projection | None,
    names: dict[str, str],
) -> None:
    def of(siren: str) -> EpciTotals:
        return totals.setdefault(siren, EpciTotals(siren, names[siren]))

    for party in agreement.parties:
        entry = of(party.epci_siren)
        entry.agreements += 1
        if projection is not None:
            entry.projected_tax_share += projection.totals[party.epci_siren]
    payer, payee = agreement.compensation_payer_siren, agreement.compensation_payee_siren
    if agreement.compensation_eur is not None and payer and payee:
        of(payer).compensation_paid += agreement.compensation_eur
        of(payee).compensation_received += agreement.compensation_eur
    # Jobs count for the EPCI the company settled in (the project's lead), once per company.
    for redirection in _unique_prospects(cases):
        prospect = redirection.prospect
        entry = of(prospect.lead_epci_siren)
        if prospect.id not in entry._prospects:
            entry._prospects.add(prospect.id)
            entry.jobs_created += prospect.jobs_created or 0


LEDGER_HEADERS: Final = (
    "N°",
    "Convention",
    "Statut",
    "Parties",
    "Entreprises couvertes",
    "Recette fiscale partagée",
    "Durée (années)",
    "Première année",
    "Montant annuel estimé (€)",
    "Total projeté sur la durée (€)",
    "Compensation ponctuelle (€)",
    "Versée par",
    "Versée à",
    "Emplois créés",
)
TOTALS_HEADERS: Final = (
    "SIREN",
    "EPCI",
    "Conventions engagées",
    "Compensations reçues (€)",
    "Compensations versées (€)",
    "Part fiscale projetée (€)",
    "Emplois créés",
)


def ledger_table(book: Ledger) -> list[list[object]]:
    return [
        [
            row.id,
            row.label,
            row.status_label,
            " ; ".join(row.parties),
            " ; ".join(row.companies),
            row.tax_kind,
            row.tax_years,
            row.first_year,
            row.estimated_annual_amount,
            row.projected_total,
            row.compensation_eur,
            row.compensation_payer,
            row.compensation_payee,
            row.jobs_created,
        ]
        for row in book.rows
    ]


NETWORK_TOTAL_LABEL: Final = "Total du réseau"
NETWORK_LINE_BORDER: Final = Border(top=Side(style="thin"))


def totals_table(book: Ledger) -> list[list[object]]:
    """One line per EPCI, then the network's total line (none when nothing is committed)."""
    lines: list[list[object]] = [
        [
            t.siren,
            t.nom,
            t.agreements,
            t.compensation_received,
            t.compensation_paid,
            t.projected_tax_share,
            t.jobs_created,
        ]
        for t in book.totals
    ]
    if book.totals:
        network = book.network
        lines.append(
            [
                None,
                NETWORK_TOTAL_LABEL,
                network.agreements,
                network.compensation,
                network.compensation,
                network.projected_tax,
                network.jobs_created,
            ]
        )
    return lines


def write_ledger_csv(book: Ledger, out: TextIO, *, totals: bool = False) -> None:
    """The agreements (or, with ``totals``, the EPCIs' totals) as CSV for a spreadsheet set to
    French: semicolons, decimal commas, a byte-order mark; no cell a spreadsheet would run."""
    writer = spreadsheet_csv(out, TOTALS_HEADERS if totals else LEDGER_HEADERS)
    for row in totals_table(book) if totals else ledger_table(book):
        writer.writerow([inert_cell(_csv_cell(value)) for value in row])


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", ",")
    return str(value)


def ledger_workbook(book: Ledger) -> bytes:
    """The ledger as an Excel workbook: « Conventions » and « Totaux par EPCI », laid out as
    every Excel download (xlsx_export.fill_sheet), the network's line set apart."""
    workbook = Workbook()
    fill_sheet(workbook.active, _sheet("Conventions", LEDGER_HEADERS, ledger_table(book)))
    totals = workbook.create_sheet()
    fill_sheet(totals, _sheet("Totaux par EPCI", TOTALS_HEADERS, totals_table(book)))
    if book.totals:
        _set_apart_the_network_line(totals)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def _set_apart_the_network_line(worksheet: Worksheet) -> None:
    """The last line, « Total du réseau », in bold on the headers' band below a rule, and out
    of the filter's range: a sum over an EPCI column stops above it, and sorting the EPCIs
    keeps it last."""
    last = worksheet.max_row
    for cell in worksheet[last]:
        cell.font, cell.fill, cell.border = HEADER_FONT, HEADER_FILL, NETWORK_LINE_BORDER
    worksheet.auto_filter.ref = f"A1:{get_column_letter(worksheet.max_column)}{last - 1}"


def _sheet(title: str, headers: Sequence[str], rows: list[list[object]]) -> Sheet:
    return Sheet(title, [(header, None) for header in headers], rows)
