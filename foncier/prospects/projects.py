"""Company projects (prospects): recorded by a référent, searched for, shortlisted, proposed.

A project is confidential (docs/prospects.md): the company's identity, its contacts, the notes
and what was said to it are read only by the référents of the EPCIs in the know (the one that
recorded the project and those it was redirected to, foncier.prospects.casework) and by the
coordinator. Everybody else reads an **anonymised card**: sector, surface wanted, jobs planned,
month of creation, lead EPCI and stage — nothing that names the company. The rule is applied here,
in the core: ``prospect_view`` and ``list_prospects`` hand the card, never the record, to whoever
may not see the company, and the exports fill the identity columns by the same test.

A project's needs are the matching engine's input, checked by ``foncier.matching.needs`` (the
same checks as the search). They never keep the needs' free ``label``: a label is where one
would type the company's name, and the needs are what a project shows and runs the matching
with.

Operations take (session, actor, ...), check permissions (PermissionDeniedError in French),
values (ValidationError, one French message per field) and versions (StaleVersionError), write
through the ORM so that foncier.core.audit records them, add the case's steps (CaseEvent), and flush
without committing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final, TextIO

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from foncier.accounts.users import EMAIL_PATTERN
from foncier.core import audit
from foncier.core.db import saving
from foncier.core.errors import (
    NotFoundError,
    PermissionDeniedError,
    StaleVersionError,
    ValidationError,
)
from foncier.core.paging import Paging, check_page
from foncier.core.permissions import Actor, Role
from foncier.inventory.cnig.xlsx_export import Sheet, workbook_of
from foncier.inventory.history import MASKED, inert_cell, spreadsheet_csv
from foncier.inventory.queries import FRENCH_COLLATION, epci_names
from foncier.matching import Needs, NeedsError, parse_needs, why_not
from foncier.matching.naf import normalise_naf
from foncier.matching.wording import MONTHS, number, quantity
from foncier.models import (
    Epci,
    Prospect,
    ShortlistedPlot,
    Terrain,
)
from foncier.models.prospects import COMPANY_ANSWERS, PROSPECT_SOURCES, PROSPECT_STAGES
from foncier.prospects import casework
from foncier.prospects.cases import FINAL_STAGES, STAGE_LABELS
from foncier.prospects.retention import CONTACT_FIELDS, scrub_contact_history

# --- French names of the stored code lists ---------------------------------------------------

SOURCE_LABELS: Final = {
    "direct": "Contact direct de l’entreprise",
    "agence_regionale": "Agence régionale de développement",
    "reseau": "Réseau des référents",
    "evenement": "Salon ou événement",
    "consulaire": "Chambre consulaire (CCI, CMA)",
    "autre": "Autre",
}
# The company's answer: each agrees with « l’entreprise » (« Intéressée », « Pas intéressée »).
ANSWER_LABELS: Final = {
    "en_attente": "En attente",
    "interessee": "Intéressée",
    "refuse": "Pas intéressée",
}
assert set(SOURCE_LABELS) == set(PROSPECT_SOURCES)
assert set(ANSWER_LABELS) == set(COMPANY_ANSWERS)

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

# --- limits and rules of the values ---------------------------------------------------------

# Contacts are personal data (GDPR): kept until a date the référent sets, three years at most,
# the CNIL's reference for data on prospects; the form suggests the longest.
RETENTION_YEARS: Final = 3
MAX_NAME: Final = 200
MAX_NOTES: Final = 5000
MAX_ANSWER_NOTE: Final = 2000
MAX_JOBS: Final = 100_000
MAX_INVESTMENT: Final = Decimal("999999999999.99")  # Numeric(14, 2)
SIREN_PATTERN: Final = re.compile(r"^\d{9}$", re.ASCII)
PHONE_PATTERN: Final = re.compile(r"^\+?[0-9][0-9 .()-]{7,22}$")
REQUIRED: Final = "Ce champ est obligatoire."
# Spaces people type or copy between thousands (« 3 500 000 »).
WITHOUT_SPACES: Final = str.maketrans("", "", " \u00a0\u202f")
# Keys of the needs a project does not keep: the free label (where a company's name would be
# typed), the EPCI (the project's own), the reference date (each search is judged on its day).
DROPPED_NEEDS_KEYS: Final = frozenset({"label", "origin_epci", "reference_date"})
PER_PAGE: Final = 20


def retention_limit(today: date) -> date:
    """The latest date contacts may be kept until, from ``today``: three years later."""
    try:
        return today.replace(year=today.year + RETENTION_YEARS)
    except ValueError:  # 29 February: the 28th, three years later
        return today.replace(year=today.year + RETENTION_YEARS, day=28)


def siren_key_is_valid(siren: str) -> bool:
    """The SIREN's last digit is a Luhn key over the first eight."""
    total = 0
    for position, digit in enumerate(int(char) for char in reversed(siren)):
        doubled = digit * 2 if position % 2 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


# --- validation -------------------------------------------------------------------------------


@dataclass
class ValueChecker:
    """Reads the values of a project, collecting one French message per refused field."""

    data: Mapping[str, Any]
    errors: dict[str, str] = field(default_factory=dict)

    def text(self, name: str, limit: int, *, required: bool = False) -> str | None:
        value = self.data.get(name)
        if value is not None and not isinstance(value, str):
            self.errors[name] = "Texte attendu."
            return None
        value = (value or "").strip() or None
        if value is None and required:
            self.errors[name] = REQUIRED
        elif value is not None and len(value) > limit:
            self.errors[name] = f"{limit} caractères au plus."
        return value

    def whole(self, name: str, maximum: int) -> int | None:
        value = self.data.get(name)
        if value in (None, ""):
            return None
        try:
            number = int(str(value).strip()) if not isinstance(value, bool) else -1
        except ValueError:
            number = -1
        if not 0 <= number <= maximum:
            self.errors[name] = f"Nombre entier de 0 à {maximum:,} attendu.".replace(",", "\u202f")
            return None
        return number

    def amount(self, name: str) -> Decimal | None:
        value = self.data.get(name)
        if value in (None, ""):
            return None
        try:
            amount = Decimal(str(value).translate(WITHOUT_SPACES).replace(",", "."))
        except InvalidOperation:
            amount = Decimal(-1)
        if not amount.is_finite() or not 0 <= amount <= MAX_INVESTMENT:
            self.errors[name] = "Montant positif en euros attendu, par exemple 1500000."
            return None
        return amount.quantize(Decimal("0.01"))

    def choice(self, name: str, values: Sequence[str], labels: Mapping[str, str]) -> str | None:
        value = self.data.get(name)
        if value in (None, ""):
            self.errors[name] = REQUIRED
            return None
        if value not in values:
            self.errors[name] = "Choisissez : " + ", ".join(labels[v] for v in values) + "."
            return None
        return value

    def day(self, name: str) -> date | None:
        value = self.data.get(name)
        if value in (None, ""):
            return None
        if isinstance(value, datetime) or not isinstance(value, date | str):
            self.errors[name] = "Date attendue."
            return None
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                self.errors[name] = "Date attendue au format AAAA-MM-JJ."
                return None
        return value


def _siren(check: ValueChecker) -> str | None:
    siren = check.text("company_siren", 20)
    if siren is None:
        return None
    siren = siren.replace(" ", "").replace("\u00a0", "")
    if not SIREN_PATTERN.match(siren):
        check.errors["company_siren"] = "Le SIREN compte 9 chiffres, par exemple 552 100 554."
        return None
    if not siren_key_is_valid(siren):
        check.errors["company_siren"] = (
            "Ce SIREN n’existe pas : son dernier chiffre (la clé de Luhn) ne correspond pas aux "
            "huit premiers. Vérifiez-le sur l’avis de situation SIRENE de l’entreprise."
        )
        return None
    return siren


def _naf(check: ValueChecker) -> str | None:
    code = check.text("naf_code", 10)
    if code is None:
        return None
    normalised = normalise_naf(code)
    if normalised is None:
        check.errors["naf_code"] = "Code NAF attendu au format 52.10B (rév. 2)."
    return normalised


def _contacts(check: ValueChecker, today: date) -> dict[str, Any]:
    values: dict[str, Any] = {
        "contact_name": check.text("contact_name", MAX_NAME),
        "contact_role": check.text("contact_role", MAX_NAME),
        "contact_email": check.text("contact_email", MAX_NAME),
        "contact_phone": check.text("contact_phone", 30),
    }
    email, phone = values["contact_email"], values["contact_phone"]
    if email is not None and not EMAIL_PATTERN.match(email):
        check.errors["contact_email"] = "Adresse électronique attendue, par exemple nom@exemple.fr."
    if phone is not None and not PHONE_PATTERN.match(phone):
        check.errors["contact_phone"] = "Numéro de téléphone attendu, par exemple 02 47 00 00 00."
    retention = check.day("contact_retention_until")
    if not any(values.values()):
        # Without personal data there is nothing to erase, and no date to keep.
        return {**values, "contact_retention_until": None}
    limit = retention_limit(today)
    if retention is None and "contact_retention_until" not in check.errors:
        check.errors["contact_retention_until"] = (
            "Indiquez jusqu’à quand garder ces coordonnées (trois ans au plus)."
        )
    elif retention is not None and not today < retention <= limit:
        check.errors["contact_retention_until"] = (
            "Choisissez une date à venir, au plus tard le "
            f"{limit.day:02d}/{limit.month:02d}/{limit.year} (trois ans)."
        )
    return {**values, "contact_retention_until": retention}


def project_needs_data(needs: object) -> object:
    """The needs as a project keeps them: without the keys of DROPPED_NEEDS_KEYS."""
    if not isinstance(needs, Mapping):
        return needs
    return {key: value for key, value in needs.items() if key not in DROPPED_NEEDS_KEYS}


def _needs(check: ValueChecker, naf_code: str | None) -> dict[str, Any] | None:
    """The needs, checked as the search checks them; messages under ``needs.<key>``. Unless
    they say otherwise, the company's NAF code is their activity (it gives the vocation)."""
    data = project_needs_data(check.data.get("needs"))
    if isinstance(data, dict) and naf_code and not data.get("naf"):
        data["naf"] = naf_code
    try:
        parse_needs(data)
    except NeedsError as error:
        for issue in error.issues:
            check.errors.setdefault(f"needs.{issue.path}".rstrip("."), issue.french)
        return None
    assert isinstance(data, dict)  # parse_needs accepts objects only
    return data


def checked_values(data: Mapping[str, Any], today: date | None = None) -> dict[str, Any]:
    """The stored values of a project from ``data``, or ValidationError with every message.

    Keys of ``data``: the columns of Prospect a person types (company_name, company_siren,
    naf_code, contact_*, contact_retention_until, needs, jobs_planned, investment_eur, source,
    notes); numbers and dates may be text. Pages call it to show the core's messages even when
    the form refused a value itself.
    """
    check = ValueChecker(data)
    naf_code = _naf(check)
    values = {
        "company_name": check.text("company_name", MAX_NAME, required=True),
        "company_siren": _siren(check),
        "naf_code": naf_code,
        **_contacts(check, today or date.today()),
        "needs": _needs(check, naf_code),
        "jobs_planned": check.whole("jobs_planned", MAX_JOBS),
        "investment_eur": check.amount("investment_eur"),
        "source": check.choice("source", PROSPECT_SOURCES, SOURCE_LABELS),
        "notes": check.text("notes", MAX_NOTES),
    }
    if check.errors:
        raise ValidationError(check.errors)
    return values


# --- recording and changing a project ---------------------------------------------------------


def require_recorder(actor: Actor) -> None:
    """Only a référent records a project: the project belongs to their EPCI."""
    if actor.role is not Role.REFERENT or actor.epci_siren is None:
        raise PermissionDeniedError(
            "Seuls les référents d’un EPCI enregistrent les projets d’entreprise : le projet "
            f"relève de leur intercommunalité. Votre rôle ({actor.role.label}) ne le permet pas."
        )


def create_prospect(
    session: Session, actor: Actor, data: Mapping[str, Any], *, today: date | None = None
) -> Prospect:
    """Record a company's project for the actor's EPCI, which leads it."""
    require_recorder(actor)
    values = checked_values(data, today)
    prospect = Prospect(
        origin_epci_siren=actor.epci_siren,
        lead_epci_siren=actor.epci_siren,
        created_by=actor.user_id,
        stage="nouveau",
        **values,
    )
    session.add(prospect)
    with audit.reason(session, "Nouveau projet d’entreprise"):
        session.flush()
    casework.record_event(session, actor, prospect, "created")
    session.flush()
    return prospect


def get_prospect(session: Session, prospect_id: int) -> Prospect:
    """The project ``prospect_id`` (NotFoundError). Callers decide what the actor reads of it."""
    prospect = session.get(Prospect, prospect_id)
    if prospect is None:
        raise NotFoundError(f"project {prospect_id} does not exist")
    return prospect


def prospect_for_lead(session: Session, actor: Actor, prospect_id: int) -> Prospect:
    """The project, for a change only its lead EPCI's référents may make."""
    prospect = get_prospect(session, prospect_id)
    casework.require_lead(actor, prospect)
    return prospect


def stale_message() -> str:
    return (
        "Quelqu’un a enregistré ce projet pendant que vous le modifiiez : vos modifications "
        "n’ont pas été appliquées, pour ne pas effacer les siennes."
    )


def update_prospect(
    session: Session,
    actor: Actor,
    prospect: Prospect,
    data: Mapping[str, Any],
    version: int,
    *,
    today: date | None = None,
) -> Prospect:
    """Apply ``data`` to the project if nobody saved it since ``version``."""
    casework.require_lead(actor, prospect)
    if prospect.version != version:
        raise StaleVersionError(stale_message(), prospect)
    values = checked_values(data, today)
    dropped = _dropped_contact_values(prospect, values)
    with saving(session, prospect, "Modification du projet d’entreprise", stale_message()):
        for name, value in values.items():
            setattr(prospect, name, value)
    if dropped:
        # A contact cleared (the person asked to be erased) or replaced: its old values
        # leave the history too, as they do when their retention date passes.
        scrub_contact_history(session, prospect)
    return prospect


def _dropped_contact_values(prospect: Prospect, values: Mapping[str, Any]) -> list[str]:
    """The contact fields whose stored value ``values`` clears or replaces."""
    return [
        name
        for name in CONTACT_FIELDS
        if getattr(prospect, name) is not None and values[name] != getattr(prospect, name)
    ]


# --- the shortlist ----------------------------------------------------------------------------


def _shortlisted(prospect: Prospect, terr_id: str) -> ShortlistedPlot | None:
    return next((plot for plot in prospect.shortlist if plot.terr_id == terr_id), None)


def _require_open_selection(actor: Actor, prospect: Prospect) -> None:
    casework.require_lead(actor, prospect, "la sélection de terrains de ce projet")
    if prospect.stage in FINAL_STAGES:
        raise ValidationError(
            {
                "terr_id": f"Le projet est clos ({STAGE_LABELS[prospect.stage].lower()}) : "
                "sa sélection de terrains ne change plus."
            }
        )


def shortlist_plot(
    session: Session,
    actor: Actor,
    prospect: Prospect,
    terr_id: str,
    score: Decimal | float | None = None,
) -> ShortlistedPlot:
    """Keep a plot of any EPCI for the project (kept already: nothing changes)."""
    _require_open_selection(actor, prospect)
    kept = _shortlisted(prospect, terr_id)
    if kept is not None:
        return kept
    if session.get(Terrain, terr_id) is None:
        raise NotFoundError(f"plot {terr_id} does not exist")
    recorded = None if score is None else Decimal(str(score)).quantize(Decimal("0.1"))
    plot = ShortlistedPlot(terr_id=terr_id, added_by=actor.user_id, score=recorded)
    prospect.shortlist.append(plot)
    details = {"terr_id": terr_id, "score": None if recorded is None else float(recorded)}
    casework.record_event(session, actor, prospect, "shortlisted", details=details)
    session.flush()
    return plot


def remove_from_shortlist(session: Session, actor: Actor, prospect: Prospect, terr_id: str) -> None:
    _require_open_selection(actor, prospect)
    plot = _shortlisted(prospect, terr_id)
    if plot is None:
        raise NotFoundError(f"plot {terr_id} is not shortlisted for project {prospect.id}")
    prospect.shortlist.remove(plot)
    casework.record_event(
        session, actor, prospect, "removed_from_shortlist", details={"terr_id": terr_id}
    )
    session.flush()


def record_proposal(
    session: Session,
    actor: Actor,
    prospect: Prospect,
    terr_id: str,
    proposed_on: date | None,
    company_answer: str | None,
    answer_note: str | None = None,
    *,
    today: date | None = None,
) -> ShortlistedPlot:
    """Record when a shortlisted plot was proposed to the company, and what it answered."""
    _require_open_selection(actor, prospect)
    plot = _shortlisted(prospect, terr_id)
    if plot is None:
        raise NotFoundError(f"plot {terr_id} is not shortlisted for project {prospect.id}")
    check = ValueChecker(
        {
            "proposed_on": proposed_on,
            "company_answer": company_answer or "en_attente",
            "answer_note": answer_note,
        }
    )
    when = check.day("proposed_on")
    answer = check.choice("company_answer", COMPANY_ANSWERS, ANSWER_LABELS)
    note = check.text("answer_note", MAX_ANSWER_NOTE)
    if when is None and "proposed_on" not in check.errors:
        check.errors["proposed_on"] = "Indiquez la date à laquelle le terrain a été proposé."
    elif when is not None and when > (today or date.today()):
        check.errors["proposed_on"] = "La date de la proposition ne peut pas être à venir."
    if check.errors:
        raise ValidationError(check.errors)
    if plot.proposed_on != when:
        details = {"terr_id": terr_id, "proposed_on": when.isoformat()}
        casework.record_event(session, actor, prospect, "proposed_to_company", details=details)
    if (plot.company_answer, plot.answer_note) != (answer, note) and answer != "en_attente":
        details = {"terr_id": terr_id, "answer": answer}
        casework.record_event(session, actor, prospect, "answer", details=details, note=note)
    plot.proposed_on, plot.company_answer, plot.answer_note = when, answer, note
    session.flush()
    return plot


# --- reading with confidentiality -------------------------------------------------------------


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
    prospect = get_prospect(session, prospect_id)
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


def matched_score(session: Session, prospect: Prospect, terr_id: str) -> float | None:
    """The plot's matching score for the project's needs (0 to 100), None when the plot fails
    a hard constraint or the needs cannot be used: what a shortlist records."""
    try:
        answer = why_not(session, prospect_needs(prospect), terr_id)
    except NeedsError:
        return None
    return None if answer.score is None else answer.score * 100


def prospect_needs(prospect: Prospect) -> Needs:
    """The project's needs for the matching engine, without anything naming the company;
    NeedsError if the stored needs cannot be used (e.g. written by another tool)."""
    return parse_needs(project_needs_data(prospect.needs))


# --- exports ----------------------------------------------------------------------------------

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
    rows = session.execute(ordered_prospects(filtered_prospects(actor, filters), filters.sort)).all()
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
