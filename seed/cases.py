"""Demonstration cases: a few company projects, redirections and one agreement, so that the
lists, the inbox, the network's ledger and the calculator's projection have something to show.

They go through the same core operations as the pages (foncier.prospects.projects, .redirections,
.cases, .agreements), acting as the demo référents; their messages stay in the outbox, marked
sent, whatever the mail backend: they never leave. The companies are invented and named as
such. The projects are recorded the day the seed runs, so everything after is dated that day
or later: the installation and the signatures that day, the tax sharing from the next
1 January. The founding story itself (Tours
Métropole → Gâtine-Racan) is left for people to play with the demo accounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Select, delete, exists, or_, select
from sqlalchemy.orm import Session

from foncier.agreements import signatures, status
from foncier.agreements import terms as agreements_terms
from foncier.core import audit
from foncier.core.permissions import Actor
from foncier.messaging.delivery import keep_in_outbox
from foncier.messaging.mail import MailSettings, links_start_with, take_queued
from foncier.models import (
    Agreement,
    AgreementParty,
    AgreementRedirection,
    AuditEvent,
    CaseEvent,
    Epci,
    OutboxMessage,
    Prospect,
    Redirection,
    ShortlistedPlot,
    Site,
    Terrain,
    User,
)
from foncier.models.codelists import STADES_DISPONIBLES
from foncier.prospects import cases, projects, shortlist
from foncier.redirections import proposals
from seed.accounts import referent_email

TOURAINE_VALLEE_INDRE: Final = "200072650"
LOCHES_SUD_TOURAINE: Final = "200071587"
TOURAINE_EST_VALLEES: Final = "200073161"
VAL_D_AMBOISE: Final = "200043065"
CHINON: Final = "200043081"
TOURAINE_VAL_DE_VIENNE: Final = "200072668"
SHARING_YEARS: Final = 5
# Personal data of the demo contact: kept about a year and a half, as a référent would.
RETENTION_DAYS: Final = 540


@dataclass(frozen=True)
class CasesReport:
    prospects: int = 0
    agreements: int = 0


def _referent(session: Session, siren: str) -> Actor:
    email = referent_email(session.get(Epci, siren))
    return Actor.of(session.scalars(select(User).where(User.email == email)).one())


def _plot_on_sale(session: Session, siren: str, skip: int = 0) -> str:
    """A demo plot of ``siren`` on sale (the first ones by id: the same in every build)."""
    return session.scalars(
        select(Terrain.terr_id)
        .join(Site)
        .where(Site.site_epci_siren == siren, Terrain.terr_stade_comm.in_(STADES_DISPONIBLES))
        .order_by(Terrain.terr_id)
        .offset(skip)
        .limit(1)
    ).one()


def _project(session: Session, actor: Actor, **values: Any) -> Prospect:
    prospect = projects.create_prospect(session, actor, values)
    prospect.is_demo = True
    session.flush()
    return prospect


def _moved(session: Session, actor: Actor, prospect: Prospect, *stages: str, **last: Any) -> None:
    """Move the case through ``stages``; the last move gets ``last`` (plot, date, jobs)."""
    for index, stage in enumerate(stages):
        extra = last if index == len(stages) - 1 else {}
        cases.advance_case(session, actor, prospect, stage, version=prospect.version, **extra)


def _settled_case(session: Session) -> Redirection:
    """Touraine Vallée de l'Indre had no small serviced plot: Loches Sud Touraine took the
    joinery and settled it; the two EPCIs share its CFE."""
    indre, loches = (_referent(session, s) for s in (TOURAINE_VALLEE_INDRE, LOCHES_SUD_TOURAINE))
    plot = _plot_on_sale(session, LOCHES_SUD_TOURAINE)
    with audit.acting(session, indre):
        prospect, redirection = _settled_proposal(session, indre, plot)
    with audit.acting(session, loches):
        proposals.accept_redirection(session, loches, redirection, redirection.version)
        _moved(
            session, loches, prospect, "recherche", "visite", "offre", "installe",
            terr_id=plot, on=date.today(), jobs_created=9,
        )  # fmt: skip
    return redirection


def _settled_proposal(session: Session, indre: Actor, plot: str) -> tuple[Prospect, Redirection]:
    prospect = _project(
        session,
        indre,
        company_name="Menuiserie Exemple du Lochois (démo)",
        naf_code="16.23Z",
        contact_name="Camille Exemple",
        contact_role="Gérante",
        contact_email="contact@menuiserie.demo.foncier.test",
        contact_retention_until=date.today() + timedelta(days=RETENTION_DAYS),
        needs={
            "surface_min_ha": 0.5,
            "surface_max_ha": 2,
            "networks_wanted": ["reseau_fibre_optique"],
        },
        jobs_planned=12,
        investment_eur="850000",
        source="consulaire",
    )
    shortlist.shortlist_plot(session, indre, prospect, plot)
    redirection = proposals.propose_redirection(
        session,
        indre,
        prospect,
        LOCHES_SUD_TOURAINE,
        [plot],
        "Nous n’avons pas de terrain viabilisé de cette taille avant 2028 ; ce terrain du "
        "Lochois correspond à leur demande.",
    )
    return prospect, redirection


def _agreement(session: Session, redirection: Redirection) -> Agreement:
    """Signed by both the day the company settled, and in force from that day — the day it
    starts, so that declaring it in force raises no warning (status.status_move_warning);
    the CFE is shared for five years from this year."""
    indre, loches = (_referent(session, s) for s in (TOURAINE_VALLEE_INDRE, LOCHES_SUD_TOURAINE))
    today = date.today()
    first_year = today.year
    terms = agreements_terms.Terms(
        title="Partage de CFE — menuiserie installée dans le Lochois (démo)",
        parties={TOURAINE_VALLEE_INDRE: Decimal(30), LOCHES_SUD_TOURAINE: Decimal(70)},
        redirection_ids=(redirection.id,),
        tax_kind="cfe",
        tax_years=SHARING_YEARS,
        first_year=first_year,
        estimated_annual_amount=Decimal("8400.00"),
        jobs_followup="Point annuel sur les emplois créés, présenté en réunion du réseau.",
        reciprocity_credit="Une redirection future du Lochois vers la CCTVI sera prioritaire.",
        starts_on=today,
        ends_on=date(first_year + SHARING_YEARS - 1, 12, 31),
    )
    with audit.acting(session, indre):
        agreement = agreements_terms.create_agreement(session, indre, terms)
        agreement.is_demo = True
        session.flush()
        signatures.sign_agreement(session, indre, agreement, indre.epci_siren, today)
    with audit.acting(session, loches):
        signatures.sign_agreement(session, loches, agreement, loches.epci_siren, today)
        status.set_status(session, loches, agreement, "en_vigueur", agreement.version)
    return agreement


def _pending_case(session: Session) -> None:
    """A logistics project Touraine-Est Vallées proposed to Val d'Amboise: in its inbox."""
    est = _referent(session, TOURAINE_EST_VALLEES)
    plot = _plot_on_sale(session, VAL_D_AMBOISE)
    with audit.acting(session, est):
        _pending_proposal(session, est, plot)


def _pending_proposal(session: Session, est: Actor, plot: str) -> None:
    prospect = _project(
        session,
        est,
        company_name="Logistique Exemple Val de Loire (démo)",
        naf_code="52.10B",
        needs={"surface_min_ha": 1, "surface_max_ha": 4, "motorway_max_km": 15},
        jobs_planned=30,
        source="agence_regionale",
    )
    shortlist.shortlist_plot(session, est, prospect, plot)
    proposals.propose_redirection(
        session, est, prospect, VAL_D_AMBOISE, [plot],
        "Besoin d’un accès rapide à l’A10 : votre parc semble le mieux placé.",
    )  # fmt: skip


def _declined_case(session: Session) -> None:
    """Chinon proposed a food-processing project to Touraine Val de Vienne, which declined;
    Chinon keeps following it."""
    chinon, vienne = (_referent(session, s) for s in (CHINON, TOURAINE_VAL_DE_VIENNE))
    plot = _plot_on_sale(session, TOURAINE_VAL_DE_VIENNE)
    with audit.acting(session, chinon):
        prospect, redirection = _declined_proposal(session, chinon, plot)
    with audit.acting(session, vienne):
        proposals.decline_redirection(
            session, vienne, redirection, redirection.version, "capacite",
            "Le réseau d’eau du parc ne suffit pas pour une conserverie.",
        )  # fmt: skip
    with audit.acting(session, chinon):
        _moved(session, chinon, prospect, "recherche")


def _declined_proposal(session: Session, chinon: Actor, plot: str) -> tuple[Prospect, Redirection]:
    prospect = _project(
        session,
        chinon,
        company_name="Conserverie Exemple du Véron (démo)",
        naf_code="10.39B",
        needs={"surface_min_ha": 2, "surface_max_ha": 5},
        jobs_planned=20,
        source="direct",
    )
    shortlist.shortlist_plot(session, chinon, prospect, plot)
    redirection = proposals.propose_redirection(
        session, chinon, prospect, TOURAINE_VAL_DE_VIENNE, [plot],
        "Un terrain de votre parc correspond mieux que les nôtres.",
    )  # fmt: skip
    return prospect, redirection


def seed_demo_cases(session: Session, environ: Mapping[str, str] | None = None) -> CasesReport:
    """Record the demo cases once (none is added when demo projects exist). Their messages
    stay in the outbox (marked sent, never sent), with links to the server's address
    (FONCIER_BASE_URL of ``environ``, by default the process's environment)."""
    if session.scalar(select(exists().where(Prospect.is_demo))):
        return CasesReport()
    links_start_with(session, MailSettings.from_environment(environ).link_base)
    with audit.reason(session, "Jeu de démonstration"):
        redirection = _settled_case(session)
        _agreement(session, redirection)
        _pending_case(session)
        _declined_case(session)
    keep_in_outbox(session, take_queued(session))
    return CasesReport(prospects=3, agreements=1)


def delete_demo_cases(session: Session) -> None:
    """Remove the demo's projects and agreements — and the projects recorded with demo
    accounts, which are demo work too — with their history and the messages they sent to demo
    accounts (the seed writes them again), before the demo plots and accounts they refer to."""
    session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.recipient.in_(select(User.email).where(User.is_demo))
        )
    )
    demo_users = select(User.id).where(User.is_demo)
    doomed = _ids(session, select(Prospect.id).where(
        or_(Prospect.is_demo, Prospect.created_by.in_(demo_users))
    ))  # fmt: skip
    doomed_redirections = _ids(
        session, select(Redirection.id).where(Redirection.prospect_id.in_(doomed))
    )
    covering = select(AgreementRedirection.agreement_id).where(
        AgreementRedirection.redirection_id.in_(doomed_redirections)
    )
    doomed_agreements = _ids(
        session, select(Agreement.id).where(or_(Agreement.is_demo, Agreement.id.in_(covering)))
    )
    records = {
        "agreement": doomed_agreements,
        "agreement_party": _ids(session, select(AgreementParty.id).where(
            AgreementParty.agreement_id.in_(doomed_agreements)
        )),
        "prospect": doomed,
        "shortlisted_plot": _ids(session, select(ShortlistedPlot.id).where(
            ShortlistedPlot.prospect_id.in_(doomed)
        )),
        "redirection": doomed_redirections,
    }  # fmt: skip
    for entity_type, ids in records.items():
        session.execute(
            delete(AuditEvent).where(
                AuditEvent.entity_type == entity_type, AuditEvent.entity_id.in_(map(str, ids))
            )
        )
    # Children first: the path's steps and redirections refer to their project.
    session.execute(delete(Agreement).where(Agreement.id.in_(doomed_agreements)))
    session.execute(delete(CaseEvent).where(CaseEvent.prospect_id.in_(doomed)))
    session.execute(delete(Redirection).where(Redirection.id.in_(doomed_redirections)))
    session.execute(delete(Prospect).where(Prospect.id.in_(doomed)))


def _ids(session: Session, query: Select[tuple[int]]) -> list[int]:
    return list(session.scalars(query))
