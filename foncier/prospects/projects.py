"""Company projects (prospects): recording and changing a project, the checks of its values.

The shortlist and proposals are in ``shortlist``, reading with confidentiality in ``reading``,
the CSV and Excel lists in ``exports``, the case's stages in ``cases``.

A project is confidential (docs/prospects.md): the company's identity, its contacts, the notes
and what was said to it are read only by the référents of the EPCIs in the know (the one that
recorded the project and those it was redirected to, foncier.prospects.casework) and by the
coordinator. Everybody else reads an **anonymised card**: sector, surface wanted, jobs planned,
month of creation, lead EPCI and stage — nothing that names the company. The rule is applied
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from sqlalchemy.orm import Session

from foncier.accounts.users import EMAIL_PATTERN
from foncier.core import audit
from foncier.core.db import get_or_raise, saving
from foncier.core.errors import PermissionDeniedError, StaleVersionError, ValidationError
from foncier.core.formulas import FORMULA_MESSAGE, looks_like_formula
from foncier.core.permissions import Actor, Role
from foncier.matching import NeedsError, parse_needs
from foncier.matching.naf import normalise_naf
from foncier.models import Prospect
from foncier.models.prospects import COMPANY_ANSWERS, PROSPECT_SOURCES
from foncier.prospects import casework
from foncier.prospects.retention import CONTACT_FIELDS, scrub_contact_history

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
        elif value is not None and looks_like_formula(value):
            self.errors[name] = FORMULA_MESSAGE
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


def prospect_for_lead(
    session: Session, actor: Actor, prospect_id: int, what: str = "ce projet"
) -> Prospect:
    """The project, for a change of ``what`` only its lead EPCI's référents may make
    (NotFoundError, PermissionDeniedError)."""
    prospect = get_or_raise(session, Prospect, prospect_id)
    casework.require_lead(actor, prospect, what)
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
