"""Reading projects with confidentiality: the project in clear for those in the know, the
anonymised card (sector, surface, jobs, month, lead EPCI, stage) for everyone else, and the
filtered, sorted, paginated list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from foncier.core.db import get_or_raise
from foncier.core.french import FRENCH_COLLATION
from foncier.core.paging import Paging, check_page
from foncier.core.permissions import Actor
from foncier.matching.naf import normalise_naf
from foncier.matching.wording import MONTHS, number, quantity
from foncier.models import Epci, Prospect
from foncier.models.prospects import PROSPECT_STAGES
from foncier.prospects import casework
from foncier.prospects.cases import FINAL_STAGES, STAGE_LABELS
from foncier.prospects.projects import PER_PAGE, SOURCE_LABELS

# Sections of the NAF rév. 2 by their divisions (two first digits): the sector an anonymised
# card shows. A section is broad enough not to point at one company of a territory.
NAF_SECTIONS: Final[tuple[tuple[int, int, str], ...]] = (
    (1, 3, "Agriculture, sylviculture et pêche"),
    (5, 9, "Industries extractives"),
    (10, 33, "Industrie manufacturière"),
    (35, 35, "Production et distribution d’énergie"),
    (36, 39, "Eau, assainissement, gestion des déchets et dépollution"),
    (41, 43, "Construction"),
    (45, 47, "Commerce ; réparation d’automobiles et de motocycles"),
    (49, 53, "Transports et entreposage"),
    (55, 56, "Hébergement et restauration"),
    (58, 63, "Information et communication"),
    (64, 66, "Activités financières et d’assurance"),
    (68, 68, "Activités immobilières"),
    (69, 75, "Activités spécialisées, scientifiques et techniques"),
    (77, 82, "Activités de services administratifs et de soutien"),
    (84, 84, "Administration publique"),
    (85, 85, "Enseignement"),
    (86, 88, "Santé humaine et action sociale"),
    (90, 93, "Arts, spectacles et activités récréatives"),
    (94, 96, "Autres activités de services"),
    (97, 98, "Activités des ménages en tant qu’employeurs"),
    (99, 99, "Activités extraterritoriales"),
)
UNKNOWN_SECTOR: Final = "Secteur non précisé"


def month_label(moment: datetime | date) -> str:
    """« novembre 2026 »."""
    return f"{MONTHS[moment.month - 1]} {moment.year}"


def sector_label(naf_code: str | None, needs: object) -> str:
    """The NAF section of the company's code, else the vocation its needs ask for."""
    normalised = normalise_naf(naf_code) if naf_code else None
    if normalised is not None:
        division = int(normalised[:2])
        for first, last, label in NAF_SECTIONS:
            if first <= division <= last:
                return label
    vocation = needs.get("vocation") if isinstance(needs, Mapping) else None
    if isinstance(vocation, str) and vocation:
        return f"Activité de vocation {vocation}"
    return UNKNOWN_SECTOR


def _hectares(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def surface_label(needs: object) -> str:
    """The surface the needs ask for: « de 2 à 6 ha », « au moins 2 ha », « non précisée »."""
    if not isinstance(needs, Mapping):
        return "non précisée"
    low, high = _hectares(needs.get("surface_min_ha")), _hectares(needs.get("surface_max_ha"))
    if low is not None and high is not None:
        return f"de {number(low, 2)} à {quantity(high, 'ha', 2)}"
    if low is not None:
        return f"au moins {quantity(low, 'ha', 2)}"
    if high is not None:
        return f"au plus {quantity(high, 'ha', 2)}"
    return "non précisée"


@dataclass(frozen=True)
class AnonymousCard:
    """What every member reads of a project: nothing that names or reaches the company."""

    id: int
    sector: str
    surface: str
    jobs_planned: int | None
    month: str
    lead_epci_nom: str
    stage: str

    @property
    def anonymous(self) -> bool:
        return True

    @property
    def stage_label(self) -> str:
        return STAGE_LABELS.get(self.stage, self.stage)


@dataclass(frozen=True)
class ProspectView:
    """A project read in clear, by someone in the know."""

    prospect: Prospect
    card: AnonymousCard
    # May change it and move its case forward (a référent of the lead EPCI).
    may_lead: bool

    @property
    def anonymous(self) -> bool:
        return False

    @property
    def id(self) -> int:
        return self.prospect.id

    @property
    def may_change_selection(self) -> bool:
        """May keep, drop and note plots: the lead, while the case is not closed."""
        return self.may_lead and self.prospect.stage not in FINAL_STAGES

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS.get(self.prospect.source, self.prospect.source)

    @property
    def stage_label(self) -> str:
        return self.card.stage_label


def card_of(prospect: Prospect, lead_epci_nom: str) -> AnonymousCard:
    return AnonymousCard(
        id=prospect.id,
        sector=sector_label(prospect.naf_code, prospect.needs),
        surface=surface_label(prospect.needs),
        jobs_planned=prospect.jobs_planned,
        month=month_label(prospect.created_at),
        lead_epci_nom=lead_epci_nom,
        stage=prospect.stage,
    )


def _view(
    actor: Actor, prospect: Prospect, known_to: set[str], lead_nom: str
) -> ProspectView | AnonymousCard:
    card = card_of(prospect, lead_nom)
    if not actor.can_see_company(known_to):
        return card
    return ProspectView(prospect, card, casework.may_lead(actor, prospect))


def prospect_view(session: Session, actor: Actor, prospect_id: int) -> ProspectView | AnonymousCard:
    """The project as ``actor`` may read it: in clear, or its anonymised card.

    Every member may open a project's page: those not in the know read its card there, as in
    the list — the card tells the network a company is looking, never who.
    """
    prospect = get_or_raise(session, Prospect, prospect_id)
    known_to = casework.epcis_in_the_know(session, prospect)
    return _view(actor, prospect, known_to, prospect.lead_epci.nom)


class ProspectSort(StrEnum):
    RECENT = "recents"
    OLDEST = "anciens"
    STAGE = "etape"
    EPCI = "epci"


SORT_LABELS: Final = {
    ProspectSort.RECENT: "Plus récents d’abord",
    ProspectSort.OLDEST: "Plus anciens d’abord",
    ProspectSort.STAGE: "Étape du projet",
    ProspectSort.EPCI: "EPCI qui suit le projet",
}


@dataclass(frozen=True)
class ProspectFilters:
    """What the list keeps. There is no search by company name: a card viewer could test
    names one by one and learn which company is looking. Sorting is never by name either."""

    stage: str | None = None
    lead_epci_siren: str | None = None
    # Only the projects the actor's EPCI recorded or leads.
    mine: bool = False
    sort: ProspectSort = ProspectSort.RECENT


@dataclass(frozen=True)
class ProspectPage(Paging):
    items: list[ProspectView | AnonymousCard]


def filtered_prospects(actor: Actor, filters: ProspectFilters) -> Select[tuple[Prospect, str]]:
    query = select(Prospect, Epci.nom).join(Epci, Epci.siren == Prospect.lead_epci_siren)
    if filters.stage:
        query = query.where(Prospect.stage == filters.stage)
    if filters.lead_epci_siren:
        query = query.where(Prospect.lead_epci_siren == filters.lead_epci_siren)
    if filters.mine:
        mine = actor.epci_siren or ""  # nobody else's: an actor without EPCI has no projects
        query = query.where(
            or_(Prospect.lead_epci_siren == mine, Prospect.origin_epci_siren == mine)
        )
    return query


def ordered_prospects(query: Select[tuple[Prospect, str]], sort: ProspectSort) -> Select[Any]:
    stage_order = case({stage: rank for rank, stage in enumerate(PROSPECT_STAGES)},
                       value=Prospect.stage)  # fmt: skip
    orders = {
        ProspectSort.RECENT: (Prospect.created_at.desc(), Prospect.id.desc()),
        ProspectSort.OLDEST: (Prospect.created_at, Prospect.id),
        ProspectSort.STAGE: (stage_order, Prospect.created_at.desc(), Prospect.id.desc()),
        ProspectSort.EPCI: (
            Epci.nom.collate(FRENCH_COLLATION),
            Prospect.created_at.desc(),
            Prospect.id.desc(),
        ),
    }
    return query.order_by(*orders[sort])


def views_of(
    session: Session, actor: Actor, rows: Sequence[tuple[Prospect, str]]
) -> list[ProspectView | AnonymousCard]:
    known = casework.epcis_in_the_know_of(
        session, {prospect.id: prospect.origin_epci_siren for prospect, _ in rows}
    )
    return [_view(actor, prospect, known[prospect.id], nom) for prospect, nom in rows]


def list_prospects(
    session: Session,
    actor: Actor,
    filters: ProspectFilters | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> ProspectPage:
    """A page of projects: in clear where ``actor`` may see the company, cards elsewhere."""
    filters = filters or ProspectFilters()
    query = filtered_prospects(actor, filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    check_page(page, total, per_page, of="projects")
    rows = session.execute(
        ordered_prospects(query, filters.sort).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return ProspectPage(total, page, per_page, views_of(session, actor, [tuple(r) for r in rows]))
