"""The list of projects as CSV and Excel: identity columns filled for the projects the actor
is in the know of, the anonymised card's columns for the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, Final, TextIO

from sqlalchemy.orm import Session

from foncier.core.permissions import Actor
from foncier.core.spreadsheets import Sheet, inert_cell, spreadsheet_csv, workbook_of
from foncier.inventory.history import MASKED
from foncier.prospects.reading import (
    AnonymousCard,
    ProspectFilters,
    ProspectView,
    filtered_prospects,
    ordered_prospects,
    views_of,
)
from foncier.territory.epcis import epci_names

EXPORT_COLUMNS: Final = (
    "Numéro",
    "Mois de création",
    "Secteur",
    "Surface recherchée",
    "Emplois prévus",
    "EPCI qui suit le projet",
    "Étape",
    # Identity and the project's details: « (confidentiel) » for whoever reads the card.
    "Entreprise",
    "SIREN",
    "Code NAF",
    "Contact",
    "Fonction du contact",
    "Courriel du contact",
    "Téléphone du contact",
    "Coordonnées conservées jusqu’au",
    "Source",
    "EPCI d’origine",
    "Investissement (€)",
    "Notes",
)
CARD_COLUMNS: Final = 7


def _export_rows(
    session: Session, actor: Actor, filters: ProspectFilters | None
) -> Iterable[list[Any]]:
    filters = filters or ProspectFilters()
    rows = session.execute(
        ordered_prospects(filtered_prospects(actor, filters), filters.sort)
    ).all()
    names = epci_names(session)
    for view in views_of(session, actor, [tuple(row) for row in rows]):
        card = view.card if isinstance(view, ProspectView) else view
        shown = [
            card.id, card.month, card.sector, card.surface, card.jobs_planned,
            card.lead_epci_nom, card.stage_label,
        ]  # fmt: skip
        if isinstance(view, AnonymousCard):
            yield [*shown, *[MASKED] * (len(EXPORT_COLUMNS) - CARD_COLUMNS)]
            continue
        prospect = view.prospect
        yield [
            *shown,
            prospect.company_name, prospect.company_siren, prospect.naf_code,
            prospect.contact_name, prospect.contact_role, prospect.contact_email,
            prospect.contact_phone, prospect.contact_retention_until, view.source_label,
            names.get(prospect.origin_epci_siren), prospect.investment_eur, prospect.notes,
        ]  # fmt: skip


def export_prospects_csv(
    session: Session, actor: Actor, out: TextIO, filters: ProspectFilters | None = None
) -> int:
    """Write the projects as CSV (semicolons, UTF-8 with BOM, as the history's); returns
    the number of projects."""
    writer = spreadsheet_csv(out, EXPORT_COLUMNS)
    count = 0
    for row in _export_rows(session, actor, filters):
        writer.writerow([_csv_cell(value) for value in row])
        count += 1
    return count


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return inert_cell(str(value))


def export_prospects_xlsx(
    session: Session, actor: Actor, filters: ProspectFilters | None = None
) -> bytes:
    """The projects as an Excel workbook, laid out like the inventory's."""
    rows = [list(row) for row in _export_rows(session, actor, filters)]
    return workbook_of([Sheet("Projets", [(title, None) for title in EXPORT_COLUMNS], rows)])
