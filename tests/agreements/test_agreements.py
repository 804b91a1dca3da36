"""Shared-benefit agreements in the core: who may write them, their checks, signatures and
status, the signed PDF, optimistic locking, confidentiality and the ledger."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from itertools import product

import pytest
from case_helpers import (
    COMPANY,
    GATINE_RACAN,
    METROPOLE,
    accepted_redirection,
    coordinator,
    partner,
    referent_of,
    referent_user,
    small_pdf,
    third_epci,
    unreachable_smtp,
    waiting,
)
from concurrency import race_for_a_lock
from openpyxl import load_workbook
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from foncier.agreements import documents, ledger, reading, rules
from foncier.agreements import signatures as agreements_signatures
from foncier.agreements import status as agreements_status
from foncier.agreements import terms as agreements_terms
from foncier.agreements.terms import Terms
from foncier.core import audit
from foncier.core.db import make_engine
from foncier.core.errors import (
    NotFoundError,
    PermissionDeniedError,
    StaleVersionError,
    ValidationError,
)
from foncier.core.permissions import Actor
from foncier.messaging.delivery import deliver_pending
from foncier.messaging.mail import take_queued
from foncier.models import (
    Agreement,
    AgreementParty,
    AgreementRedirection,
    AuditEvent,
    CaseEvent,
    Notification,
    OutboxMessage,
    Redirection,
)
from foncier.models.agreements import AGREEMENT_STATUSES
from foncier.redirections.case_steps import case_steps

TODAY = date.today()


def terms(redirection_ids: tuple[int, ...] = (), **changes: object) -> Terms:
    base = {
        "title": f"Partage Polaxis — {COMPANY}",
        "parties": {METROPOLE: Decimal("40"), GATINE_RACAN: Decimal("60")},
        "redirection_ids": redirection_ids,
        "tax_kind": "cfe",
        "tax_years": 5,
        "first_year": 2027,
        "estimated_annual_amount": Decimal("10000.00"),
        "compensation_eur": Decimal("5000.00"),
        "compensation_payer_siren": METROPOLE,
        "compensation_payee_siren": GATINE_RACAN,
        "free_text": f"Suivi annuel des emplois de {COMPANY}.",
    }
    return Terms(**{**base, **changes})  # type: ignore[arg-type]


def create(session: Session, actor: Actor, new: Terms) -> Agreement:
    return agreements_terms.create_agreement(session, actor, new)


def draft(session: Session, actor: Actor | None = None, **changes: object) -> Agreement:
    redirection = accepted_redirection(session, jobs_created=25)
    return create(
        session, actor or referent_of(session, METROPOLE), terms((redirection.id,), **changes)
    )


def edit(session: Session, actor: Actor, agreement: Agreement, new: Terms, version: int) -> None:
    agreements_terms.update_agreement(session, actor, agreement.id, new, version)


def covered_ids(agreement: Agreement) -> tuple[int, ...]:
    return tuple(link.redirection_id for link in agreement.redirections)


def signed(session: Session, **changes: object) -> Agreement:
    agreement = draft(session, **changes)
    for siren in (METROPOLE, GATINE_RACAN):
        agreements_signatures.sign_agreement(
            session, referent_of(session, siren), agreement, siren, TODAY
        )
    return agreement


# --- who may write -----------------------------------------------------------------------------


def test_a_party_referent_creates_a_draft_with_its_terms_audited(session: Session) -> None:
    agreement = draft(session)
    assert agreement.status == "brouillon"
    assert {p.epci_siren: p.share_percent for p in agreement.parties} == {
        METROPOLE: Decimal("40"),
        GATINE_RACAN: Decimal("60"),
    }
    assert len(agreement.redirections) == 1
    events = session.scalars(
        select(AuditEvent).where(
            AuditEvent.entity_type == "agreement", AuditEvent.entity_id == str(agreement.id)
        )
    ).all()
    assert [(e.action, e.reason) for e in events] == [("create", "Nouvelle convention")]


def test_the_coordinator_may_create_one(session: Session) -> None:
    assert draft(session, coordinator(session)).id is not None


@pytest.mark.parametrize("who", ["third", "partner", "admin"])
def test_others_may_not_create_one(session: Session, who: str) -> None:
    actor = {
        "third": lambda: referent_of(session, third_epci(session)),
        "partner": lambda: partner(session),
        "admin": lambda: Actor.system("tests"),
    }[who]()
    with pytest.raises(PermissionDeniedError, match="référents des EPCI parties"):
        draft(session, actor)


# --- terms checks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"parties": {METROPOLE: None}}, "parties"),
        ({"parties": {METROPOLE: Decimal("40"), GATINE_RACAN: Decimal("50")}}, "shares"),
        ({"parties": {METROPOLE: Decimal("40"), GATINE_RACAN: None}}, "shares"),
        ({"compensation_payer_siren": GATINE_RACAN}, "compensation_payee_siren"),
        ({"compensation_payer_siren": None}, "compensation_payer_siren"),
        ({"compensation_eur": Decimal("-1")}, "compensation_eur"),
        # Beyond what 28-digit decimal arithmetic rounds to the cent: refused, not a crash.
        ({"compensation_eur": Decimal("1e30")}, "compensation_eur"),
        ({"estimated_annual_amount": Decimal("1e30")}, "estimated_annual_amount"),
        ({"tax_years": 0}, "tax_years"),
        ({"first_year": None}, "first_year"),
        ({"title": "  "}, "title"),
        ({"title": '=HYPERLINK("http://evil.example","Convention")'}, "title"),
        ({"free_text": "+cmd|' /C calc'!A0"}, "free_text"),
        ({"jobs_followup": " @SUM(1+1)"}, "jobs_followup"),
        ({"starts_on": TODAY, "ends_on": TODAY - timedelta(days=1)}, "ends_on"),
    ],
)
def test_terms_that_do_not_hold_together_are_refused(
    session: Session, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        draft(session, **changes)
    assert field in refused.value.errors


def test_free_texts_are_kept_without_a_text_area_s_leading_line_break(session: Session) -> None:
    """A browser sends a text area typed after a first Enter with a leading « \\r\\n »: it is no
    part of the text, and does not make « - suivi annuel » look like a formula either."""
    agreement = draft(session, jobs_followup="\r\n- suivi annuel des emplois", free_text="\r\n")
    assert (agreement.jobs_followup, agreement.free_text) == ("- suivi annuel des emplois", None)


def test_only_accepted_redirections_between_parties_are_covered(session: Session) -> None:
    actor = referent_of(session, METROPOLE)
    pending = accepted_redirection(session, status="proposee")
    elsewhere = accepted_redirection(session, to_siren=third_epci(session))
    for redirection in (pending, elsewhere):
        with pytest.raises(ValidationError) as refused:
            create(session, actor, terms((redirection.id,)))
        assert "redirections" in refused.value.errors


def test_a_redirection_is_covered_by_one_live_agreement_at_most(session: Session) -> None:
    first = signed(session)
    covered = first.redirections[0].redirection_id
    actor = referent_of(session, METROPOLE)
    with pytest.raises(ValidationError, match="déjà couverte"):
        create(session, actor, terms((covered,)))
    agreements_status.set_status(session, actor, first, "terminee", first.version)
    assert create(session, actor, terms((covered,))).id != first.id


def in_the_know_elsewhere(session: Session, redirection: Redirection, siren: str) -> None:
    """Make ``siren`` in the know of the redirection's project: it was proposed the project
    first, and declined it."""
    session.add(
        Redirection(
            prospect_id=redirection.prospect_id,
            from_epci_siren=redirection.from_epci_siren,
            to_epci_siren=siren,
            message="Un terrain chez vous ?",
            status="declinee",
            decline_reason="pas_de_terrain",
        )
    )
    session.flush()


def test_every_party_must_know_every_company_covered(session: Session) -> None:
    redirection = accepted_redirection(session)
    third = third_epci(session)
    three = {METROPOLE: None, GATINE_RACAN: None, third: None}
    blind = terms((redirection.id,), parties=three, tax_kind=None, tax_years=None,
                  first_year=None, estimated_annual_amount=None)  # fmt: skip
    with pytest.raises(ValidationError, match="ne connaît pas l’entreprise") as refused:
        create(session, coordinator(session), blind)
    assert list(refused.value.errors) == ["parties"] and COMPANY not in str(refused.value.errors)
    in_the_know_elsewhere(session, redirection, third)
    assert create(session, coordinator(session), blind).id is not None


def test_a_party_not_in_the_know_neither_reads_edits_nor_signs(session: Session) -> None:
    """A draft whose third party does not know the company (rows written directly, as before
    the rule): the third's référent may not read its terms, so neither changes nor signs."""
    agreement = draft(session)
    third = third_epci(session)
    agreement.parties.append(AgreementParty(epci_siren=third))
    session.flush()
    outsider = referent_of(session, third)
    view = reading.get_agreement(session, outsider, agreement.id)
    assert view.label == f"Convention n° {agreement.id}" and not view.details_visible
    assert (view.may_edit, view.may_sign_for, view.status_moves) == (False, None, ())
    with pytest.raises(PermissionDeniedError, match="connaissent l’entreprise"):
        rules.require_editable(session, outsider, agreement)
    with pytest.raises(PermissionDeniedError, match="connaissent l’entreprise"):
        edit(session, outsider, agreement, terms(covered_ids(agreement)), agreement.version)
    with pytest.raises(PermissionDeniedError, match="connaissent l’entreprise"):
        agreements_signatures.sign_agreement(session, outsider, agreement, third, TODAY)
    assert all(party.signed_on is None for party in agreement.parties)
    # The parties in the know may not keep the blind party either.
    parties = {METROPOLE: Decimal("40"), GATINE_RACAN: Decimal("60"), third: Decimal("0")}
    with pytest.raises(ValidationError, match="ne connaît pas"):
        edit(
            session,
            referent_of(session, METROPOLE),
            agreement,
            terms(covered_ids(agreement), parties=parties),
            agreement.version,
        )


def test_a_referent_covers_only_the_redirections_of_their_epci(session: Session) -> None:
    """A third CC in the know (it declined the project) may not take the redirection between
    the Métropole and Gâtine-Racan: it would keep them out (« déjà couverte »)."""
    third = third_epci(session)

    def three_party_terms() -> Terms:
        redirection = accepted_redirection(session)
        in_the_know_elsewhere(session, redirection, third)
        return terms((redirection.id,), parties={METROPOLE: None, GATINE_RACAN: None, third: None},
                     tax_kind=None, tax_years=None, first_year=None,
                     estimated_annual_amount=None)  # fmt: skip

    squat = three_party_terms()
    with pytest.raises(ValidationError, match="que son EPCI a envoyées ou reçues"):
        create(session, referent_of(session, third), squat)
    assert create(session, referent_of(session, GATINE_RACAN), squat).id
    assert create(session, coordinator(session), three_party_terms()).id


# --- signatures and status --------------------------------------------------------------------


def test_the_last_signature_makes_the_agreement_signed(session: Session) -> None:
    agreement = draft(session)
    agreements_signatures.sign_agreement(
        session, referent_of(session, METROPOLE), agreement, METROPOLE, TODAY
    )
    assert agreement.status == "brouillon"
    gatine = referent_of(session, GATINE_RACAN)
    agreements_signatures.sign_agreement(session, gatine, agreement, GATINE_RACAN, TODAY)
    assert agreement.status == "signee"
    assert {p.epci_siren: p.signed_by for p in agreement.parties}[GATINE_RACAN] == gatine.user_id


def test_each_party_signs_for_itself_only_once_and_not_in_the_future(session: Session) -> None:
    agreement = draft(session)
    metropole = referent_of(session, METROPOLE)
    for actor in (metropole, coordinator(session), referent_of(session, third_epci(session))):
        with pytest.raises(PermissionDeniedError):
            agreements_signatures.sign_agreement(session, actor, agreement, GATINE_RACAN, TODAY)
    with pytest.raises(ValidationError, match="futur"):
        agreements_signatures.sign_agreement(
            session, metropole, agreement, METROPOLE, TODAY + timedelta(days=1)
        )
    agreements_signatures.sign_agreement(session, metropole, agreement, METROPOLE, TODAY)
    with pytest.raises(ValidationError, match="déjà signé"):
        agreements_signatures.sign_agreement(session, metropole, agreement, METROPOLE, TODAY)


def test_a_signature_is_given_to_the_version_read(session: Session) -> None:
    """The Métropole reads 40/60; Gâtine-Racan changes it to 10/90; the Métropole's
    signature, sent from the page it read, is refused: it would sign 10/90 unseen."""
    agreement = draft(session)
    read = agreement.version
    tenth = {METROPOLE: Decimal("10"), GATINE_RACAN: Decimal("90")}
    edit(session, referent_of(session, GATINE_RACAN), agreement,
         terms(covered_ids(agreement), parties=tenth), read)  # fmt: skip
    metropole = referent_of(session, METROPOLE)
    with pytest.raises(StaleVersionError, match="a changé depuis que vous l’avez lue") as stale:
        agreements_signatures.sign_agreement(session, metropole, agreement, METROPOLE, TODAY, read)
    assert stale.value.current is agreement
    assert all(party.signed_on is None for party in agreement.parties)
    agreements_signatures.sign_agreement(
        session, metropole, agreement, METROPOLE, TODAY, agreement.version
    )
    assert {p.epci_siren: p.signed_on for p in agreement.parties}[METROPOLE] == TODAY


def test_a_signature_moves_the_version_on(session: Session) -> None:
    """Gâtine-Racan signs the draft the Métropole is editing: the Métropole's edit, started
    before the signature, is refused (it would erase a signature it never saw), and so is a
    signature sent from the page read before the other one."""
    agreement = draft(session)
    read = agreement.version
    agreements_signatures.sign_agreement(
        session, referent_of(session, GATINE_RACAN), agreement, GATINE_RACAN, TODAY
    )
    assert agreement.version == read + 1
    metropole = referent_of(session, METROPOLE)
    changed = terms(covered_ids(agreement), compensation_eur=Decimal("9000.00"))
    with pytest.raises(StaleVersionError, match="pendant que vous la modifiiez"):
        edit(session, metropole, agreement, changed, read)
    with pytest.raises(StaleVersionError, match="a changé depuis que vous l’avez lue"):
        agreements_signatures.sign_agreement(session, metropole, agreement, METROPOLE, TODAY, read)
    agreements_signatures.sign_agreement(
        session, metropole, agreement, METROPOLE, TODAY, agreement.version
    )
    assert agreement.status == "signee" and agreement.compensation_eur == Decimal("5000.00")


@pytest.mark.parametrize(("before", "after"), list(product(AGREEMENT_STATUSES, repeat=2)))
def test_status_moves_follow_the_table(session: Session, before: str, after: str) -> None:
    agreement = draft(session)
    agreement.status = before
    session.flush()
    actor = referent_of(session, GATINE_RACAN)
    if after in agreements_status.STATUS_MOVES[before]:
        agreements_status.set_status(session, actor, agreement, after, agreement.version)
        assert agreement.status == after
    else:
        with pytest.raises(ValidationError):
            agreements_status.set_status(session, actor, agreement, after, agreement.version)
        assert agreement.status == before


def test_only_parties_and_the_coordinator_move_the_status(session: Session) -> None:
    agreement = signed(session)
    with pytest.raises(PermissionDeniedError):
        agreements_status.set_status(
            session, partner(session), agreement, "en_vigueur", agreement.version
        )
    agreements_status.set_status(
        session, coordinator(session), agreement, "en_vigueur", agreement.version
    )
    assert agreement.status == "en_vigueur"


def test_a_move_against_the_period_is_warned_about_not_refused(session: Session) -> None:
    agreement = signed(session, starts_on=TODAY + timedelta(days=40))
    warning = agreements_status.status_move_warning(agreement, "en_vigueur")
    assert warning is not None and "ne prend effet que le" in warning
    assert (
        agreements_status.status_move_warning(agreement, "en_vigueur", TODAY + timedelta(days=40))
        is None
    )
    assert agreements_status.status_move_warning(agreement, "terminee") is None  # no end date
    agreement.ends_on = TODAY + timedelta(days=400)
    assert "avant son terme" in (agreements_status.status_move_warning(agreement, "terminee") or "")
    agreements_status.set_status(
        session, coordinator(session), agreement, "en_vigueur", agreement.version
    )
    assert agreement.status == "en_vigueur"


# --- the case follows its agreement ---------------------------------------------------------


def agreement_steps(session: Session, prospect_id: int) -> list[tuple[str, dict[str, object]]]:
    events = session.scalars(
        select(CaseEvent)
        .where(CaseEvent.prospect_id == prospect_id, CaseEvent.kind.startswith("agreement_"))
        .order_by(CaseEvent.id)
    )
    return [(event.kind, event.details) for event in events]


def test_each_step_of_the_agreement_is_written_in_the_case_path(session: Session) -> None:
    agreement = draft(session)
    redirection = session.get_one(Redirection, covered_ids(agreement)[0])
    for siren in (GATINE_RACAN, METROPOLE):
        agreements_signatures.sign_agreement(
            session, referent_of(session, siren), agreement, siren, TODAY
        )
    for status in ("en_vigueur", "terminee"):
        agreements_status.set_status(
            session, coordinator(session), agreement, status, agreement.version
        )
    steps = agreement_steps(session, redirection.prospect_id)
    assert [kind for kind, _ in steps] == [
        "agreement_created",
        "agreement_signed",
        "agreement_signed",
        "agreement_status",
        "agreement_status",
        "agreement_status",
    ]
    assert all(details["agreement_id"] == agreement.id for _, details in steps)
    assert [d["status"] for kind, d in steps if kind == "agreement_status"] == [
        "signee",
        "en_vigueur",
        "terminee",
    ]
    # The project page's path reads them in French, naming EPCIs with their article.
    texts = [step.text for step in case_steps(session, redirection.prospect)][-6:]
    n = agreement.id
    assert texts[0] == (
        f"Convention de partage n° {n} établie (brouillon) entre Tours Métropole Val de Loire "
        "et la Communauté de communes de Gâtine-Racan"
    )
    assert texts[1].startswith(f"Convention de partage n° {n} signée le ")
    assert texts[1].endswith("par la Communauté de communes de Gâtine-Racan")
    assert texts[2].endswith("par Tours Métropole Val de Loire")
    assert texts[3:] == [
        f"Convention de partage n° {n} signée par toutes ses parties",
        f"Convention de partage n° {n} déclarée en vigueur",
        f"Convention de partage n° {n} déclarée terminée",
    ]


def test_covering_or_uncovering_a_project_by_an_edit_is_written_in_its_path(
    session: Session,
) -> None:
    agreement = draft(session)
    first = covered_ids(agreement)[0]
    other = accepted_redirection(session, company="Deuxième entreprise")
    metropole = referent_of(session, METROPOLE)
    edit(session, metropole, agreement, terms((other.id,)), agreement.version)
    first_prospect = session.get_one(Redirection, first).prospect_id
    assert [kind for kind, _ in agreement_steps(session, first_prospect)] == [
        "agreement_created",
        "agreement_uncovered",
    ]
    assert [kind for kind, _ in agreement_steps(session, other.prospect_id)] == [
        "agreement_covered"
    ]
    n = agreement.id
    assert case_steps(session, other.prospect)[-1].text == (
        f"La convention de partage n° {n} entre Tours Métropole Val de Loire et la Communauté "
        "de communes de Gâtine-Racan couvre désormais ce projet (brouillon)"
    )
    assert case_steps(session, session.get_one(Redirection, first).prospect)[-1].text == (
        f"Projet retiré de la convention de partage n° {n}"
    )
    # A failed step writes nothing in any path.
    before = agreement_steps(session, other.prospect_id)
    with pytest.raises(ValidationError):
        agreements_signatures.sign_agreement(
            session, metropole, agreement, METROPOLE, TODAY + timedelta(days=1)
        )
    assert agreement_steps(session, other.prospect_id) == before


def test_an_edit_that_erases_signatures_says_so_in_the_path_of_the_projects_still_covered(
    session: Session,
) -> None:
    agreement = draft(session)
    kept = covered_ids(agreement)[0]
    added = accepted_redirection(session, company="Deuxième entreprise")
    gatine = referent_of(session, GATINE_RACAN)
    agreements_signatures.sign_agreement(session, gatine, agreement, GATINE_RACAN, TODAY)
    both = terms((kept, added.id), compensation_eur=Decimal("9000.00"))
    edit(session, referent_of(session, METROPOLE), agreement, both, agreement.version)
    kept_prospect = session.get_one(Redirection, kept).prospect
    assert agreement_steps(session, kept_prospect.id)[-1] == (
        "agreement_signatures_erased",
        {"agreement_id": agreement.id, "epci_sirens": [GATINE_RACAN]},
    )
    assert case_steps(session, kept_prospect)[-1].text == (
        f"Convention de partage n° {agreement.id} : la signature de la Communauté de communes "
        "de Gâtine-Racan a été effacée, les termes ont changé"
    )
    # The project just added was not covered by the erased signature: it is told it is covered.
    assert [kind for kind, _ in agreement_steps(session, added.prospect_id)] == [
        "agreement_covered"
    ]
    # Signed again, an edit that changes nothing erases nothing, and writes no such step.
    agreements_signatures.sign_agreement(session, gatine, agreement, GATINE_RACAN, TODAY)
    edit(session, gatine, agreement, both, agreement.version)
    assert [kind for kind, _ in agreement_steps(session, kept_prospect.id)] == [
        "agreement_created",
        "agreement_signed",
        "agreement_signatures_erased",
        "agreement_signed",
    ]


def test_a_project_page_finds_the_agreement_covering_each_redirection(session: Session) -> None:
    agreement = signed(session)
    covered = covered_ids(agreement)[0]
    uncovered = accepted_redirection(session, company="Sans convention")
    found = reading.agreements_for_redirections(session, [covered, uncovered.id])
    assert list(found) == [covered]
    assert (found[covered].id, found[covered].live) == (agreement.id, True)
    assert found[covered].label == f"Convention n° {agreement.id} (signée)"
    # Ended, it is still named until a new agreement covers the redirection.
    agreements_status.set_status(
        session, coordinator(session), agreement, "terminee", agreement.version
    )
    ended = reading.agreements_for_redirections(session, [covered])[covered]
    assert (ended.id, ended.live) == (agreement.id, False)
    again = create(session, referent_of(session, METROPOLE), terms((covered,)))
    assert reading.agreements_for_redirections(session, [covered]) == {
        covered: reading.CoveringAgreement(again.id, "brouillon")
    }


# --- wording ------------------------------------------------------------------------------------


def test_sentences_name_the_epcis_with_their_article(session: Session) -> None:
    redirection = accepted_redirection(session)
    metropole = referent_of(session, METROPOLE)
    prefilled = agreements_terms.terms_for_redirection(session, metropole, redirection.id)
    both = "entre Tours Métropole Val de Loire et la Communauté de communes de Gâtine-Racan"
    assert prefilled.title == f"Partage {both}"
    agreement = create(session, metropole, terms((redirection.id,)))
    gatine_user = referent_user(session, GATINE_RACAN)
    asked = session.scalars(
        select(Notification.body).where(Notification.user_id == gatine_user.id)
    ).one()
    assert f"n° {agreement.id} {both} attend la signature" in asked
    gatine = referent_of(session, GATINE_RACAN)
    agreements_signatures.sign_agreement(session, metropole, agreement, METROPOLE, TODAY)
    edit(session, gatine, agreement, terms((redirection.id,), title="Autre"), agreement.version)
    erased = session.scalars(
        select(Notification.body).where(Notification.subject.like("%signature à renouveler"))
    ).one()
    assert f"n° {agreement.id} {both} ont été modifiés" in erased


def test_epcis_are_listed_as_people_look_for_them(session: Session) -> None:
    names = [nom for _, nom, _ in agreements_terms.epci_choices(session)]
    castelrenaudais = names.index("Communauté de communes du Castelrenaudais")
    assert (
        names[castelrenaudais - 1]
        == "Communauté de communes Autour de Chenonceaux Bléré-Val de Cher"
    )
    assert names[castelrenaudais + 1] == "Communauté de communes Chinon, Vienne et Loire"
    assert names[-1] == "Communauté de communes du Val d'Amboise"


# --- changing a draft ----------------------------------------------------------------------------


def test_changing_the_terms_erases_the_signatures_given(session: Session) -> None:
    agreement = draft(session)
    metropole = referent_of(session, METROPOLE)
    agreements_signatures.sign_agreement(session, metropole, agreement, METROPOLE, TODAY)
    ids = covered_ids(agreement)
    edit(session, metropole, agreement, terms(ids), agreement.version)
    assert all(p.signed_on is not None for p in agreement.parties if p.epci_siren == METROPOLE)
    changed = terms(ids, compensation_eur=Decimal("6000.00"))
    edit(session, metropole, agreement, changed, agreement.version)
    assert agreement.compensation_eur == Decimal("6000.00")
    assert all(p.signed_on is None for p in agreement.parties)


def test_an_edit_from_an_old_version_is_refused(session: Session) -> None:
    agreement = draft(session)
    ids = covered_ids(agreement)
    actor = referent_of(session, GATINE_RACAN)
    loaded = agreement.version
    edit(session, actor, agreement, terms(ids, title="Première"), loaded)
    with pytest.raises(StaleVersionError) as stale:
        edit(session, actor, agreement, terms(ids, title="Seconde"), loaded)
    assert stale.value.current is agreement and agreement.title == "Première"


def test_a_change_of_shares_alone_moves_the_version_on(session: Session) -> None:
    """Two people change only the shares from the same version: the second is refused."""
    agreement = draft(session)
    loaded = agreement.version
    ids = covered_ids(agreement)
    first = {METROPOLE: Decimal("10"), GATINE_RACAN: Decimal("90")}
    edit(session, referent_of(session, GATINE_RACAN), agreement, terms(ids, parties=first), loaded)
    assert agreement.version == loaded + 1
    second = {METROPOLE: Decimal("70"), GATINE_RACAN: Decimal("30")}
    with pytest.raises(StaleVersionError):
        edit(
            session, referent_of(session, METROPOLE), agreement, terms(ids, parties=second), loaded
        )
    assert {p.epci_siren: p.share_percent for p in agreement.parties} == first
    # Saving the same terms again changes nothing, so the version stays.
    edit(session, referent_of(session, METROPOLE), agreement, terms(ids, parties=first),
         agreement.version)  # fmt: skip
    assert agreement.version == loaded + 1


def test_the_parties_whose_signature_an_edit_erased_are_told(session: Session) -> None:
    agreement = draft(session)
    metropole, gatine = referent_of(session, METROPOLE), referent_of(session, GATINE_RACAN)
    ids = covered_ids(agreement)

    def told() -> list[Notification]:
        return list(
            session.scalars(
                select(Notification).where(
                    Notification.subject == f"Convention n° {agreement.id} : signature à renouveler"
                )
            )
        )

    agreements_signatures.sign_agreement(session, metropole, agreement, METROPOLE, TODAY)
    edit(session, metropole, agreement, terms(ids, title="Autre titre"), agreement.version)
    assert told() == []  # the Métropole erased its own signature: it knows
    agreements_signatures.sign_agreement(session, metropole, agreement, METROPOLE, TODAY)
    edit(
        session, gatine, agreement, terms(ids, compensation_eur=Decimal("7000")), agreement.version
    )
    notes = told()
    assert [n.user_id for n in notes] == [referent_user(session, METROPOLE).id]
    assert "signature de votre EPCI" in notes[0].body and COMPANY not in notes[0].body
    assert notes[0].link == f"/conventions/{agreement.id}"


def pending_with_error(session: Session, sessions: sessionmaker[Session]) -> list[OutboxMessage]:
    """The messages queued on ``session`` since the last look, tried while the mail server
    was down."""
    queued = take_queued(session)
    deliver_pending(sessions, unreachable_smtp(), ids=queued)
    return waiting(session, queued)


def test_a_mail_server_that_is_down_does_not_stop_an_edit(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    """The edit erasing Gâtine-Racan's signature is saved, Gâtine-Racan is told in its inbox;
    the e-mail waits in the outbox for the mail server to come back."""
    agreement = draft(session)
    agreements_signatures.sign_agreement(
        session, referent_of(session, GATINE_RACAN), agreement, GATINE_RACAN, TODAY
    )
    take_queued(session)
    changed = terms(covered_ids(agreement), compensation_eur=Decimal("9000.00"))
    edit(session, referent_of(session, METROPOLE), agreement, changed, agreement.version)
    [mail] = pending_with_error(session, session_factory)
    renew = f"Convention n° {agreement.id} : signature à renouveler"
    assert mail.subject == renew and mail.recipient == referent_user(session, GATINE_RACAN).email
    session.expire_all()
    assert agreement.compensation_eur == Decimal("9000.00")
    assert {p.epci_siren: p.signed_on for p in agreement.parties}[GATINE_RACAN] is None
    told = session.scalars(select(Notification).where(Notification.subject == renew)).all()
    assert [n.user_id for n in told] == [referent_user(session, GATINE_RACAN).id]


def test_a_mail_server_that_is_down_does_not_stop_a_new_agreement(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    redirection = accepted_redirection(session)
    take_queued(session)
    agreement = create(session, referent_of(session, METROPOLE), terms((redirection.id,)))
    [mail] = pending_with_error(session, session_factory)
    assert mail.subject == f"Convention n° {agreement.id} à signer"
    asked = session.scalars(
        select(Notification).where(Notification.link == f"/conventions/{agreement.id}")
    ).all()
    assert [n.user_id for n in asked] == [referent_user(session, GATINE_RACAN).id]


class PathUnwritableError(Exception):
    """The failure a test injects where the agreement's step is written in a path."""


@pytest.mark.parametrize("change", ["signature", "status"])
def test_a_change_whose_step_cannot_be_written_leaves_nothing(
    session: Session, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """The change and its step in the projects' paths are one: a caller that catches the
    error and commits keeps neither."""
    agreement = draft(session) if change == "signature" else signed(session)
    version, status = agreement.version, agreement.status

    def unwritable(*_args: object, **_kwargs: object) -> None:
        raise PathUnwritableError

    monkeypatch.setattr(rules, "record_event", unwritable)
    with pytest.raises(PathUnwritableError):
        if change == "signature":
            agreements_signatures.sign_agreement(
                session, referent_of(session, METROPOLE), agreement, METROPOLE, TODAY
            )
        else:
            agreements_status.set_status(
                session, coordinator(session), agreement, "en_vigueur", version
            )
    session.flush()  # what a caller committing now would write
    session.expire_all()
    assert (agreement.version, agreement.status) == (version, status)
    signed_on = {p.epci_siren: p.signed_on for p in agreement.parties}[METROPOLE]
    assert signed_on == (None if change == "signature" else TODAY)


def test_a_signed_agreement_no_longer_changes(session: Session) -> None:
    agreement = signed(session)
    with pytest.raises(PermissionDeniedError, match="signée"):
        edit(session, referent_of(session, METROPOLE), agreement, terms(), agreement.version)


# --- the signed document ----------------------------------------------------------------


def test_a_pdf_is_kept_with_its_digest_and_its_replacement_audited(session: Session) -> None:
    agreement = signed(session)
    actor = referent_of(session, GATINE_RACAN)
    first = small_pdf("Version 1")
    documents.attach_document(session, actor, agreement, "../../etc/Convention signée.PDF", first)
    second = small_pdf("Version 2")
    document = documents.attach_document(session, actor, agreement, "convention.pdf", second)
    assert document.filename == "convention.pdf"
    assert document.sha256 == hashlib.sha256(second).hexdigest()
    fetched = documents.document_for(session, referent_of(session, METROPOLE), agreement.id)
    assert fetched.content == second
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_id == str(agreement.id), AuditEvent.reason.like("Dépôt%"))
        .order_by(AuditEvent.id)
    ).all()
    assert [e.changes["document"][1].split(" ")[0] for e in events] == [
        "Convention_signee.pdf",
        "convention.pdf",
    ]
    assert events[1].changes["document"][0].startswith("Convention_signee.pdf")


@pytest.mark.parametrize(
    "content",
    [b"<html>not a pdf</html>", b"%PDF-" + b"0" * documents.MAX_DOCUMENT_BYTES],
    ids=["not a pdf", "too large"],
)
def test_other_files_are_refused(session: Session, content: bytes) -> None:
    agreement = signed(session)
    with pytest.raises(ValidationError) as refused:
        documents.attach_document(
            session, referent_of(session, GATINE_RACAN), agreement, "x.pdf", content
        )
    assert "document" in refused.value.errors


def test_the_document_is_for_the_parties_and_the_coordinator(session: Session) -> None:
    agreement = signed(session)
    documents.attach_document(
        session, referent_of(session, GATINE_RACAN), agreement, "c.pdf", small_pdf()
    )
    assert documents.document_for(session, coordinator(session), agreement.id).size > 0
    for outsider in (partner(session), referent_of(session, third_epci(session))):
        with pytest.raises(PermissionDeniedError):
            documents.document_for(session, outsider, agreement.id)
        with pytest.raises(PermissionDeniedError):
            documents.attach_document(session, outsider, agreement, "c.pdf", small_pdf())


def test_an_agreement_without_document_has_none_to_download(session: Session) -> None:
    with pytest.raises(NotFoundError):
        documents.document_for(session, coordinator(session), draft(session).id)


# --- confidentiality ------------------------------------------------------------------------------


def test_outsiders_read_amounts_and_parties_but_no_company_nor_text(session: Session) -> None:
    agreement = signed(session)
    for outsider in (partner(session), referent_of(session, third_epci(session))):
        view = reading.get_agreement(session, outsider, agreement.id)
        assert view.label == f"Convention n° {agreement.id}"
        assert not view.details_visible and view.document is None
        assert [case.company for case in view.cases] == [rules.CONFIDENTIAL_COMPANY]
        assert view.projection is not None and view.projection.grand_total == Decimal("50000.00")
    for insider in (referent_of(session, METROPOLE), coordinator(session)):
        view = reading.get_agreement(session, insider, agreement.id)
        assert view.details_visible and COMPANY in view.label
        assert [case.company for case in view.cases] == [COMPANY]


# --- the ledger -------------------------------------------------------------------------


def test_ledger_totals_count_committed_agreements_only(session: Session) -> None:
    signed(session)
    draft(session, compensation_eur=Decimal("999.00"))  # a draft commits nobody
    book = ledger.network_ledger(session, partner(session))
    totals = {t.siren: t for t in book.totals}
    metropole, gatine = totals[METROPOLE], totals[GATINE_RACAN]
    # 10,000 € a year for 5 years, 40 % / 60 %; 5,000 € paid once by the Métropole.
    assert (metropole.projected_tax_share, gatine.projected_tax_share) == (
        Decimal("20000.00"),
        Decimal("30000.00"),
    )
    assert (metropole.compensation_paid, gatine.compensation_received) == (
        Decimal("5000.00"),
        Decimal("5000.00"),
    )
    assert (metropole.agreements, gatine.agreements) == (1, 1)
    # The company settled in Gâtine-Racan: its jobs count there.
    assert (metropole.jobs_created, gatine.jobs_created) == (0, 25)
    # The network's line counts the agreement and the compensation once.
    assert book.network == ledger.NetworkTotals(
        agreements=1,
        compensation=Decimal("5000.00"),
        projected_tax=Decimal("50000.00"),
        jobs_created=25,
    )


def test_ledger_exports_mask_the_company_for_outsiders(session: Session) -> None:
    signed(session)
    for actor, named in ((partner(session), False), (referent_of(session, GATINE_RACAN), True)):
        book = ledger.network_ledger(session, actor)
        out = io.StringIO()
        ledger.write_ledger_csv(book, out)
        rows = list(csv.reader(io.StringIO(out.getvalue().lstrip("\ufeff")), delimiter=";"))
        assert rows[0] == list(ledger.LEDGER_HEADERS)
        workbook = load_workbook(io.BytesIO(ledger.ledger_workbook(book)))
        cells = [str(c.value) for sheet in workbook for row in sheet.iter_rows() for c in row]
        assert (COMPANY in out.getvalue()) is named
        assert any(COMPANY in cell for cell in cells) is named
        assert workbook.sheetnames == ["Conventions", "Totaux par EPCI"]


def test_ledger_cells_never_run_as_formulas(session: Session) -> None:
    formula = '=HYPERLINK("http://example.org","x")'
    redirection = accepted_redirection(session, company=formula)
    create(session, coordinator(session), terms((redirection.id,)))
    book = ledger.network_ledger(session, coordinator(session))
    out = io.StringIO()
    ledger.write_ledger_csv(book, out)
    rows = list(csv.reader(io.StringIO(out.getvalue().lstrip("\ufeff")), delimiter=";"))
    assert rows[1][4] == "'" + formula
    sheet = load_workbook(io.BytesIO(ledger.ledger_workbook(book)))["Conventions"]
    assert (sheet["E2"].value, sheet["E2"].data_type) == (formula, "s")


def test_ledger_totals_csv_has_decimal_commas(session: Session) -> None:
    signed(session)
    out = io.StringIO()
    ledger.write_ledger_csv(ledger.network_ledger(session, partner(session)), out, totals=True)
    rows = list(csv.reader(io.StringIO(out.getvalue().lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == list(ledger.TOTALS_HEADERS)
    by_siren = {row[0]: row for row in rows[1:]}
    assert by_siren[METROPOLE][3:6] == ["0,00", "5000,00", "20000,00"]
    assert rows[-1] == ["", "Total du réseau", "1", "5000,00", "5000,00", "50000,00", "25"]
    sheet = load_workbook(io.BytesIO(ledger.ledger_workbook(ledger.network_ledger(
        session, partner(session)))))["Totaux par EPCI"]  # fmt: skip
    last = [cell.value for cell in sheet[sheet.max_row]]
    assert last[1:3] == ["Total du réseau", 1] and last[5] == 50000


def test_the_workbook_sets_the_network_line_apart(session: Session) -> None:
    """Bold and out of the filter's range: sorting the EPCIs keeps it last, and nobody takes
    it for one more EPCI."""
    signed(session)
    book = ledger.network_ledger(session, partner(session))
    sheet = load_workbook(io.BytesIO(ledger.ledger_workbook(book)))["Totaux par EPCI"]
    last = sheet.max_row
    assert sheet.cell(last, 2).value == "Total du réseau"
    assert all(cell.font.bold for cell in sheet[last])
    assert not any(cell.font.bold for cell in sheet[last - 1])
    assert sheet.auto_filter.ref == f"A1:G{last - 1}"
    # The agreements' sheet has no such line: its filter covers every row.
    agreements_sheet = load_workbook(io.BytesIO(ledger.ledger_workbook(book)))["Conventions"]
    assert agreements_sheet.auto_filter.ref == agreements_sheet.dimensions
    assert not any(cell.font.bold for cell in agreements_sheet[agreements_sheet.max_row])


# --- queries -------------------------------------------------------------------------------------


@pytest.fixture
def statements(session: Session) -> Iterator[Callable[[Callable[[], object]], int]]:
    """Count the SQL statements a call runs, from a fresh session state."""
    connection = session.connection()
    seen: list[str] = []

    def count(statement: object, *args: object) -> None:
        seen.append(str(args[1]) if len(args) > 1 else "")

    def run(call: Callable[[], object]) -> int:
        session.expire_all()
        seen.clear()
        event.listen(connection, "before_cursor_execute", count)
        try:
            call()
        finally:
            event.remove(connection, "before_cursor_execute", count)
        return len(seen)

    yield run


def test_the_list_and_the_ledger_read_in_a_constant_number_of_queries(
    session: Session, statements: Callable[[Callable[[], object]], int]
) -> None:
    reader = referent_of(session, GATINE_RACAN)
    draft(session)
    with_one = (
        statements(lambda: reading.list_agreements(session, reader)),
        statements(lambda: ledger.network_ledger(session, reader)),
    )
    for _ in range(3):
        draft(session)
    with_four = (
        statements(lambda: reading.list_agreements(session, reader)),
        statements(lambda: ledger.network_ledger(session, reader)),
    )
    assert with_four == with_one


# --- two people covering one redirection at once --------------------------------------------


@pytest.fixture(scope="module")
def committed_engine(database_builder: Callable[[str], str]) -> Iterator[Engine]:
    """A database of its own: these transactions commit."""
    engine = make_engine(database_builder("foncier_agreements"))
    yield engine
    engine.dispose()


def test_two_people_covering_one_redirection_at_once_end_with_one_agreement(
    committed_engine: Engine,
) -> None:
    with Session(committed_engine) as setup:
        audit.acting_as(setup, Actor.system("tests"))
        redirection_id = accepted_redirection(setup).id
        setup.commit()
        metropole, gatine = referent_of(setup, METROPOLE), referent_of(setup, GATINE_RACAN)
    with Session(committed_engine) as mine, Session(committed_engine) as theirs:
        audit.acting_as(mine, metropole)
        audit.acting_as(theirs, gatine)
        create(mine, metropole, terms((redirection_id,)))
        pid = theirs.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()

        def cover_too() -> None:
            create(theirs, gatine, terms((redirection_id,)))
            theirs.commit()

        outcome = race_for_a_lock(committed_engine, pid, cover_too, mine.commit)
    assert outcome.waited, "the second agreement did not wait for the first"
    assert isinstance(outcome.error, ValidationError)
    assert "déjà couverte" in outcome.error.errors["redirections"]
    with Session(committed_engine) as check:
        covering = check.scalars(
            select(AgreementRedirection.agreement_id).where(
                AgreementRedirection.redirection_id == redirection_id
            )
        ).all()
        assert len(covering) == 1


def test_an_edit_waiting_for_a_signature_keeps_no_signature_on_other_terms(
    committed_engine: Engine,
) -> None:
    """Gâtine-Racan signs the draft; meanwhile the Métropole, which read it unsigned, changes
    its terms: the edit waits for the signature, then is refused — otherwise the signature
    would stand on terms Gâtine-Racan never read, and the Métropole's signature would make
    the agreement « signée »."""
    with Session(committed_engine) as setup:
        audit.acting_as(setup, Actor.system("tests"))
        agreement = draft(setup)
        setup.commit()
        agreement_id, read, ids = agreement.id, agreement.version, covered_ids(agreement)
        metropole, gatine = referent_of(setup, METROPOLE), referent_of(setup, GATINE_RACAN)
    with Session(committed_engine) as mine, Session(committed_engine) as theirs:
        audit.acting_as(mine, gatine)
        audit.acting_as(theirs, metropole)
        their_page = theirs.get(Agreement, agreement_id)
        assert all(party.signed_on is None for party in their_page.parties)
        signing = mine.get(Agreement, agreement_id)
        agreements_signatures.sign_agreement(mine, gatine, signing, GATINE_RACAN, TODAY, read)
        pid = theirs.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()

        def edit_meanwhile() -> None:
            changed = terms(ids, compensation_eur=Decimal("9000.00"))
            edit(theirs, metropole, their_page, changed, read)
            theirs.commit()

        outcome = race_for_a_lock(committed_engine, pid, edit_meanwhile, mine.commit)
    assert outcome.waited, "the edit did not wait for the signature"
    assert isinstance(outcome.error, StaleVersionError), outcome.error
    with Session(committed_engine) as check:
        stored = check.get(Agreement, agreement_id)
        signatures = {party.epci_siren: party.signed_on for party in stored.parties}
        assert (stored.compensation_eur, signatures[GATINE_RACAN]) == (Decimal("5000.00"), TODAY)
