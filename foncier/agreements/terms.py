"""The terms of an agreement: checked (parties, shares, amounts, covered redirections, who is
in the know), then recorded (create_agreement) or changed while a draft (update_agreement),
which erases the signatures already given to other terms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from foncier.agreements import sharing
from foncier.agreements.rules import (
    LIVE,
    MAX_TITLE,
    STALE_MESSAGE,
    all_or_nothing,
    check_version,
    covered_redirections,
    known_to,
    locked_agreement,
    party_details,
    record_on_cases,
    require_editable,
    require_negotiator,
    touch,
)
from foncier.agreements.signatures import ask_for_signatures, tell_signatures_erased
from foncier.core import audit
from foncier.core.db import saving
from foncier.core.errors import NotFoundError, ValidationError
from foncier.core.formulas import formula_problems
from foncier.core.french import between
from foncier.core.permissions import Actor, Role
from foncier.models import (
    Agreement,
    AgreementParty,
    AgreementRedirection,
    Epci,
    Prospect,
    Redirection,
)
from foncier.models.agreements import TAX_KINDS
from foncier.territory.epcis import epci_names, list_epcis


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
# What people write in their own words (the rest are numbers, dates and choices).
FREE_TEXT_TERMS: Final = ("title", "jobs_followup", "reciprocity_credit", "free_text")


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


def create_agreement(session: Session, actor: Actor, terms: Terms) -> Agreement:
    """A draft agreement with ``terms``, and the other parties asked to sign it (inbox and
    e-mail, sent after the commit); flushed, not committed. Both or neither: if a check
    fails, nothing of the draft remains in the session."""
    require_negotiator(actor, set(terms.parties))
    terms = _tidied(terms)
    with all_or_nothing(session):
        _lock_redirections(session, terms.redirection_ids)
        _check_terms(session, actor, terms, current=None)
        agreement = Agreement(created_by=actor.user_id)
        _apply(agreement, terms)
        with audit.reason(session, "Nouvelle convention"):
            session.add(agreement)
        record_on_cases(
            session,
            actor,
            agreement,
            "agreement_created",
            covered_redirections(agreement),
            party_details(agreement),
        )
        ask_for_signatures(session, actor, agreement)  # notices last
    return agreement


def update_agreement(
    session: Session,
    actor: Actor,
    agreement_id: int,
    terms: Terms,
    expected_version: int,
) -> Agreement:
    """Change a draft's terms. If anything changed, the agreement's version moves on (even
    when only the parties or their shares changed) and the signatures already given are
    erased; the parties whose signature was erased are told (inbox and e-mail, sent after the
    commit). All or nothing: if a check fails, nothing of the edit remains."""
    # The lock comes first, before the parties and the version are read: a signature being
    # recorded now is committed before this edit reads them, and — a signature moving the
    # version on — the edit, started from the unsigned draft, is refused below.
    agreement = locked_agreement(session, agreement_id)
    require_editable(session, actor, agreement)
    require_negotiator(actor, set(terms.parties))
    check_version(agreement, expected_version)
    terms = _tidied(terms)
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
        tell_signatures_erased(session, actor, agreement, erased)  # notices last
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


def _tidied(terms: Terms) -> Terms:
    """The terms with their free texts stripped (None when blank): a text area's leading line
    break is no part of the text, and must not make it look like a formula."""
    texts = {name: (getattr(terms, name) or "").strip() or None for name in FREE_TEXT_TERMS}
    return replace(terms, **{**texts, "title": texts["title"] or ""})


def _check_terms(session: Session, actor: Actor, terms: Terms, current: Agreement | None) -> None:
    errors = formula_problems({name: getattr(terms, name) for name in FREE_TEXT_TERMS})
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
