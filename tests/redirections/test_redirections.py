"""Redirections (foncier.redirections.proposals): proposing, accepting, declining, withdrawing; who
may; from which status; the path of a project sent to several EPCIs in turn; a mail server that
is down (the step happens, its e-mails wait); a step rolled back (its e-mails with it); two people
accepting at once."""

from __future__ import annotations

import itertools

import pytest
from case_helpers import (
    COMPANY,
    GATINE_RACAN,
    METROPOLE,
    add_referent,
    coordinator,
    keep_plots,
    new_prospect,
    partner,
    plots_on_sale,
    referent_of,
    smtp_on,
    third_epci,
    unreachable_smtp,
    user_of,
    waiting,
)
from concurrency import race_for_a_lock
from smtp_server import SmtpServer, running_smtp_server
from sqlalchemy import func, select
from sqlalchemy.orm import Session

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
    AuditEvent,
    CaseEvent,
    Epci,
    Notification,
    OutboxMessage,
    Prospect,
    Redirection,
)
from foncier.models.prospects import REDIRECTION_STATUSES
from foncier.prospects.cases import advance_case
from foncier.prospects.casework import case_path
from foncier.redirections import proposals
from foncier.redirections.case_steps import case_steps
from foncier.redirections.proposals import (
    accept_redirection,
    decline_redirection,
    propose_redirection,
    withdraw_redirection,
)

MESSAGE = "Pas de terrain de 2 ha chez nous ; Polaxis a ce qu’il faut."


def propose(session, prospect, to=GATINE_RACAN, *, actor=None, plots=None):
    actor = actor or referent_of(session, prospect.lead_epci_siren)
    terr_ids = plots if plots is not None else [p.terr_id for p in plots_on_sale(session, to, 2)]
    keep_plots(session, prospect, terr_ids)  # a proposal names plots of the selection
    return propose_redirection(session, actor, prospect, to, terr_ids, MESSAGE)


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def kinds(session, prospect) -> list[str]:
    return [event.kind for event in case_path(session, prospect)]


# --- proposing -------------------------------------------------------------------------------


def test_a_proposal_names_plots_of_the_target_and_tells_its_referents(session):
    second = add_referent(session, GATINE_RACAN, "seconde@gatine-racan.test")
    add_referent(session, GATINE_RACAN, "parti@gatine-racan.test", active=False)
    prospect = new_prospect(session, stage="recherche")
    plots = [p.terr_id for p in plots_on_sale(session, GATINE_RACAN, 2)]

    redirection = propose(session, prospect, plots=plots)

    assert (redirection.status, redirection.from_epci_siren, redirection.to_epci_siren) == (
        "proposee",
        METROPOLE,
        GATINE_RACAN,
    )
    assert [p.terr_id for p in redirection.plots] == sorted(plots)
    assert redirection.proposed_by == referent_of(session, METROPOLE).user_id
    assert prospect.lead_epci_siren == METROPOLE  # the lead moves only on acceptance
    event = case_path(session, prospect)[-1]
    assert (event.kind, event.redirection_id, event.note) == (
        "redirection_proposed",
        redirection.id,
        MESSAGE,
    )
    assert event.details == {"to_epci_siren": GATINE_RACAN, "terr_ids": sorted(plots)}
    inbox = session.scalars(
        select(Notification).where(Notification.prospect_id == prospect.id)
    ).all()
    recipients = {n.user_id for n in inbox}
    assert recipients == {referent_of(session, GATINE_RACAN).user_id, second.id}
    assert all(n.link == f"/redirections/{redirection.id}" for n in inbox)
    assert {n.subject for n in inbox} == {f"Projet n° {prospect.id} proposé à votre EPCI"}
    # French: the EPCI with its article, « 2 terrains … retenus » in the plural.
    assert {n.body.split("\n")[0] for n in inbox} == {
        f"Tours Métropole Val de Loire propose à la {session.get(Epci, GATINE_RACAN).nom} de "
        f"suivre le projet d’entreprise n° {prospect.id} (2 terrains de votre EPCI retenus)."
    }
    mails = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.subject == f"Projet n° {prospect.id} proposé à votre EPCI"
        )
    ).all()
    assert sorted(m.recipient for m in mails) == sorted(
        ["referent.gatine-racan@demo.foncier.test", "seconde@gatine-racan.test"]
    )
    assert all(f"http://127.0.0.1:5000/redirections/{redirection.id}" in m.body for m in mails)
    audited = session.scalars(
        select(AuditEvent).where(
            AuditEvent.entity_type == "redirection", AuditEvent.entity_id == str(redirection.id)
        )
    ).one()
    assert (audited.action, audited.reason) == ("create", "Proposition de redirection")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"to": METROPOLE}, "to_epci_siren", "déjà suivi par cet EPCI"),
        ({"to": "999999999"}, "to_epci_siren", "Choisissez l’EPCI"),
        ({"message": "  \n"}, "message", "Écrivez un message"),
        ({"message": '=HYPERLINK("http://evil.example")'}, "message", "formule de tableur"),
        ({"plots": "none"}, "terr_ids", "Cochez au moins un terrain"),
        ({"plots": "metropole"}, "terr_ids", "ne sont pas dans"),
        ({"plots": "withdrawn"}, "terr_ids", "ne sont pas en vente"),
        ({"stage": "option"}, "to_epci_siren", "ne se redirige plus"),
        ({"stage": "installe"}, "to_epci_siren", "ne se redirige plus"),
        ({"stage": "perdu"}, "to_epci_siren", "ne se redirige plus"),
    ],
)
def test_a_wrong_proposal_is_refused_field_by_field(session, change, field, message):
    prospect = new_prospect(session, stage=change.get("stage", "recherche"))
    polaxis_plot = plots_on_sale(session, GATINE_RACAN)[0]
    plots = {
        "metropole": [plots_on_sale(session, METROPOLE)[0].terr_id],
        "withdrawn": [polaxis_plot.terr_id],
        "none": [],
    }.get(change.get("plots", ""), [polaxis_plot.terr_id])
    if change.get("plots") == "withdrawn":
        polaxis_plot.terr_stade_comm = "non commercialisé"
        session.flush()
    with pytest.raises(ValidationError) as refused:
        propose_redirection(
            session,
            referent_of(session, METROPOLE),
            prospect,
            change.get("to", GATINE_RACAN),
            plots,
            change.get("message", MESSAGE),
        )
    assert message in refused.value.errors[field]
    assert count(session, Redirection, Redirection.prospect_id == prospect.id) == 0
    assert count(session, Notification, Notification.prospect_id == prospect.id) == 0


@pytest.mark.parametrize(
    "who", ["target_referent", "third_referent", "coordinator", "partner", "admin"]
)
def test_only_the_lead_proposes(session, who):
    prospect = new_prospect(session, stage="recherche")
    actor = {
        "target_referent": lambda: referent_of(session, GATINE_RACAN),
        "third_referent": lambda: referent_of(session, third_epci(session)),
        "coordinator": lambda: coordinator(session),
        "partner": lambda: partner(session),
        "admin": lambda: Actor.system("cli"),
    }[who]()
    with pytest.raises(PermissionDeniedError, match="l’orientation de ce projet"):
        propose(session, prospect, actor=actor)
    assert count(session, Redirection, Redirection.prospect_id == prospect.id) == 0


def test_one_proposal_waits_at_a_time(session):
    prospect = new_prospect(session, stage="recherche")
    propose(session, prospect)
    with pytest.raises(StaleVersionError, match="attend déjà une réponse"):
        propose(session, prospect, to=third_epci(session))
    assert count(session, Redirection, Redirection.prospect_id == prospect.id) == 1


def test_the_unique_index_refuses_a_second_pending_proposal_the_check_missed(session, monkeypatch):
    """Two proposals checked at the same instant: the index, not the check, has the last word."""
    prospect = new_prospect(session, stage="recherche")
    propose(session, prospect)
    monkeypatch.setattr(proposals, "pending_redirection", lambda *_: None)
    with pytest.raises(StaleVersionError, match="attend déjà une réponse"):
        propose(session, prospect, to=third_epci(session))
    assert count(session, Redirection, Redirection.prospect_id == prospect.id) == 1
    assert kinds(session, prospect) == ["redirection_proposed"]


# --- answering -------------------------------------------------------------------------------

ACTIONS = {
    "accept": lambda s, a, r: accept_redirection(s, a, r, r.version),
    "decline": lambda s, a, r: decline_redirection(s, a, r, r.version, "delai", None),
    "withdraw": lambda s, a, r: withdraw_redirection(s, a, r, r.version),
}
# Who acts for each action: the référent of the target for answers, of the proposer for
# withdrawals.
ACTING_EPCI = {"accept": GATINE_RACAN, "decline": GATINE_RACAN, "withdraw": METROPOLE}
RESULT = {"accept": "acceptee", "decline": "declinee", "withdraw": "retiree"}


def with_status(session, redirection, status):
    """Put the redirection in ``status`` as the operations leave it."""
    redirection.status = status
    if status == "declinee":
        redirection.decline_reason = "capacite"
    session.flush()


@pytest.mark.parametrize(
    ("status", "action"), list(itertools.product(REDIRECTION_STATUSES, ACTIONS))
)
def test_only_a_pending_proposal_is_answered_or_withdrawn(session, status, action):
    prospect = new_prospect(session, stage="recherche")
    redirection = propose(session, prospect)
    with_status(session, redirection, status)
    actor = referent_of(session, ACTING_EPCI[action])
    if status == "proposee":
        ACTIONS[action](session, actor, redirection)
        assert redirection.status == RESULT[action]
        assert redirection.answered_by == actor.user_id and redirection.answered_at is not None
        return
    with pytest.raises(StaleVersionError, match="déjà reçu une suite"):
        ACTIONS[action](session, actor, redirection)
    session.expire_all()
    assert redirection.status == status
    assert kinds(session, prospect) == ["redirection_proposed"]


ACTORS = {
    "target_referent": lambda s: referent_of(s, GATINE_RACAN),
    "proposer_referent": lambda s: referent_of(s, METROPOLE),
    "third_referent": lambda s: referent_of(s, third_epci(s)),
    "coordinator": coordinator,
    "partner": partner,
    "admin": lambda s: Actor.system("cli"),
}
MAY = {
    "accept": {"target_referent"},
    "decline": {"target_referent"},
    "withdraw": {"proposer_referent"},
}


@pytest.mark.parametrize(("who", "action"), list(itertools.product(ACTORS, ACTIONS)))
def test_who_may_answer_and_who_may_withdraw(session, who, action):
    prospect = new_prospect(session, stage="recherche")
    redirection = propose(session, prospect)
    actor = ACTORS[who](session)
    if who in MAY[action]:
        ACTIONS[action](session, actor, redirection)
        assert redirection.status == RESULT[action]
        return
    with pytest.raises(PermissionDeniedError, match="Seuls les référents de l’EPCI"):
        ACTIONS[action](session, actor, redirection)
    assert redirection.status == "proposee"


def test_accepting_hands_the_lead_to_the_target_and_tells_the_proposer(session):
    prospect = new_prospect(session, stage="recherche")
    redirection = propose(session, prospect)
    target, proposer = referent_of(session, GATINE_RACAN), referent_of(session, METROPOLE)

    accept_redirection(session, target, redirection, redirection.version)

    assert prospect.lead_epci_siren == GATINE_RACAN and prospect.origin_epci_siren == METROPOLE
    told = session.scalars(
        select(Notification).where(
            Notification.prospect_id == prospect.id, Notification.user_id == proposer.user_id
        )
    ).one()
    assert told.subject == f"Projet n° {prospect.id} : proposition acceptée"
    assert told.body.startswith(f"La {session.get(Epci, GATINE_RACAN).nom} a accepté")
    assert told.link == f"/projets/{prospect.id}"
    assert kinds(session, prospect) == ["redirection_proposed", "redirection_accepted"]
    # The new lead moves the case; the former one no longer does.
    advance_case(session, target, prospect, "visite", version=prospect.version)
    with pytest.raises(PermissionDeniedError):
        advance_case(session, proposer, prospect, "offre", version=prospect.version)
    reasons = session.scalars(
        select(AuditEvent.reason).where(
            AuditEvent.entity_type == "prospect", AuditEvent.entity_id == str(prospect.id)
        )
    ).all()
    assert "Redirection acceptée" in reasons


def test_a_stale_answer_is_refused(session):
    prospect = new_prospect(session, stage="recherche")
    redirection = propose(session, prospect)
    with pytest.raises(StaleVersionError, match="a changé pendant que vous la lisiez"):
        accept_redirection(
            session,
            referent_of(session, GATINE_RACAN),
            redirection,
            redirection.version - 1,
        )
    assert redirection.status == "proposee"


@pytest.mark.parametrize(
    ("reason", "note", "field", "message"),
    [
        ("sans_raison", None, "reason", "Choisissez un motif"),
        ("autre", "  ", "note", "Précisez le motif"),
        ("autre", "+cmd|' /C calc'!A0", "note", "formule de tableur"),
    ],
)
def test_a_decline_needs_a_known_reason_and_a_note_for_other(session, reason, note, field, message):
    prospect = new_prospect(session, stage="recherche")
    redirection = propose(session, prospect)
    with pytest.raises(ValidationError) as refused:
        decline_redirection(
            session,
            referent_of(session, GATINE_RACAN),
            redirection,
            redirection.version,
            reason,
            note,
        )
    assert message in refused.value.errors[field]
    assert redirection.status == "proposee"


@pytest.mark.parametrize("who", ["proposer_referent", "third_referent", "partner"])
def test_a_decline_by_the_wrong_person_is_refused_before_its_reason_is_read(session, who):
    """Without a reason, the wrong person still learns they may not answer (403), not that
    the reason is missing (400)."""
    prospect = new_prospect(session, stage="recherche")
    redirection = propose(session, prospect)
    with pytest.raises(PermissionDeniedError, match="Seuls les référents de l’EPCI"):
        decline_redirection(
            session, ACTORS[who](session), redirection, redirection.version, "", None
        )
    assert redirection.status == "proposee"


def test_declined_by_one_then_proposed_to_the_next_the_path_shows_it_all(session):
    prospect = new_prospect(session, stage="recherche")
    third = third_epci(session)
    first = propose(session, prospect)
    decline_redirection(
        session,
        referent_of(session, GATINE_RACAN),
        first,
        first.version,
        "autre",
        "Polaxis réservé à la logistique",
    )
    assert (first.decline_reason, first.decline_note) == (
        "autre",
        "Polaxis réservé à la logistique",
    )
    assert prospect.lead_epci_siren == METROPOLE
    told = session.scalars(
        select(Notification.body).where(
            Notification.prospect_id == prospect.id,
            Notification.user_id == referent_of(session, METROPOLE).user_id,
        )
    ).one()
    # The reason from the list travels; the note is free text, read on the platform only.
    assert "(motif : autre raison (précisez))" in told
    assert "Polaxis réservé à la logistique" not in told

    second = propose(session, prospect, to=third)
    accept_redirection(session, referent_of(session, third), second, second.version)

    path = case_path(session, prospect)
    assert [(e.kind, e.epci_siren) for e in path] == [
        ("redirection_proposed", METROPOLE),
        ("redirection_declined", GATINE_RACAN),
        ("redirection_proposed", METROPOLE),
        ("redirection_accepted", third),
    ]
    assert path[1].details == {"reason": "autre"}
    assert prospect.lead_epci_siren == third


def test_withdrawing_tells_the_target(session):
    prospect = new_prospect(session, stage="recherche")
    redirection = propose(session, prospect)
    withdraw_redirection(session, referent_of(session, METROPOLE), redirection, redirection.version)
    told = session.scalars(
        select(Notification).where(
            Notification.user_id == referent_of(session, GATINE_RACAN).user_id,
            Notification.subject == f"Projet n° {prospect.id} : proposition retirée",
        )
    ).one()
    assert told.link == f"/redirections/{redirection.id}"
    # The proposer may now send it elsewhere.
    propose(session, prospect, to=third_epci(session))


# --- what the messages say ----------------------------------------------------------------------

SIREN = "732829320"
DECLINE_NOTE = "aucune réserve ferroviaire"


def test_no_message_names_the_company_its_siren_the_message_or_the_decline_note(session):
    """Messages travel by e-mail and sit in the outbox the administrator reads: the EPCIs, the
    project's number, what is awaited and the link — the rest is read on the platform."""
    first_outbox_id = session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0)))
    prospect = new_prospect(session, stage="recherche", company_siren=SIREN)
    metropole, gatine = referent_of(session, METROPOLE), referent_of(session, GATINE_RACAN)
    first = propose(session, prospect)
    decline_redirection(session, gatine, first, first.version, "autre", DECLINE_NOTE)
    second = propose(session, prospect)
    withdraw_redirection(session, metropole, second, second.version)
    third = propose(session, prospect)
    accept_redirection(session, gatine, third, third.version)

    inbox = session.scalars(select(Notification).where(Notification.prospect_id == prospect.id))
    mails = session.scalars(select(OutboxMessage).where(OutboxMessage.id > first_outbox_id))
    texts = [f"{n.subject}\n{n.body}" for n in inbox] + [f"{m.subject}\n{m.body}" for m in mails]
    assert len(texts) == 2 * 6  # six messages, each in an inbox and by e-mail
    for text in texts:
        assert f"n° {prospect.id}" in text
        for secret in (COMPANY, SIREN, MESSAGE, DECLINE_NOTE):
            assert secret not in text, (secret, text)


# --- a target nobody answers for --------------------------------------------------------------


def test_a_target_without_an_active_referent_is_refused(session):
    prospect = new_prospect(session, stage="recherche")
    referent_user = user_of(session, "referent.gatine-racan@demo.foncier.test")
    referent_user.active = False
    add_referent(session, GATINE_RACAN, "parti@gatine-racan.test", active=False)
    session.flush()
    with pytest.raises(ValidationError) as refused:
        propose(session, prospect)
    assert "n’a aucun référent actif" in refused.value.errors["to_epci_siren"]
    assert count(session, Redirection, Redirection.prospect_id == prospect.id) == 0
    # One active référent is enough.
    add_referent(session, GATINE_RACAN, "arrive@gatine-racan.test")
    assert propose(session, prospect).to_epci_siren == GATINE_RACAN


# --- the list ----------------------------------------------------------------------------------


def test_the_list_comes_a_page_at_a_time_newest_first(session):
    made = []
    for _ in range(3):
        prospect = new_prospect(session, stage="recherche")
        made.append(propose(session, prospect).id)
    who = coordinator(session)
    first = proposals.redirections_for(session, who, page=1, per_page=2)
    second = proposals.redirections_for(session, who, page=2, per_page=2)
    assert first.total == second.total >= 3 and first.pages == second.pages
    assert [line.redirection.id for line in first.lines] == sorted(made, reverse=True)[:2]
    assert all(line.company_name == COMPANY for line in first.lines)
    assert second.lines[0].redirection.id == made[0]
    hidden = proposals.redirections_for(session, partner(session), page=1, per_page=2)
    assert [line.company_name for line in hidden.lines] == [None, None]
    with pytest.raises(NotFoundError):
        proposals.redirections_for(session, who, page=first.pages + 1, per_page=2)


# --- atomicity -------------------------------------------------------------------------------


def traces(session, prospect) -> dict[str, int]:
    return {
        "events": count(session, CaseEvent, CaseEvent.prospect_id == prospect.id),
        "notifications": count(session, Notification, Notification.prospect_id == prospect.id),
        "redirection_audit": count(session, AuditEvent, AuditEvent.entity_type == "redirection"),
        "prospect_audit": count(
            session,
            AuditEvent,
            AuditEvent.entity_type == "prospect",
            AuditEvent.entity_id == str(prospect.id),
        ),
        "outbox": count(session, OutboxMessage),
    }


def queued_by(session, step) -> list[int]:
    """The outbox messages ``step`` queued on ``session``."""
    take_queued(session)
    step()
    return take_queued(session)


def test_a_mail_server_that_is_down_does_not_stop_a_proposal(session_factory, session):
    prospect = new_prospect(session, stage="recherche")
    queued = queued_by(session, lambda: propose(session, prospect))
    deliver_pending(session_factory, unreachable_smtp(), ids=queued)
    waiting(session, queued)
    redirection = session.scalars(
        select(Redirection).where(Redirection.prospect_id == prospect.id)
    ).one()
    assert redirection.status == "proposee"


@pytest.mark.parametrize("action", ["accept", "decline", "withdraw"])
def test_a_mail_server_that_is_down_does_not_stop_an_answer(session_factory, session, action):
    prospect = new_prospect(session, stage="recherche")
    redirection = propose(session, prospect)
    actor, version = referent_of(session, ACTING_EPCI[action]), redirection.version
    calls = {
        "accept": lambda: accept_redirection(session, actor, redirection, version),
        "decline": lambda: decline_redirection(
            session, actor, redirection, version, "delai", "Pas avant 2028"
        ),
        "withdraw": lambda: withdraw_redirection(session, actor, redirection, version),
    }
    queued = queued_by(session, calls[action])
    deliver_pending(session_factory, unreachable_smtp(), ids=queued)
    waiting(session, queued)
    assert redirection.status != "proposee" and redirection.version > version


def test_a_step_rolled_back_leaves_no_message_to_send(session_factory, session):
    """The request (or command) fails after the step: the step's e-mails go with it."""
    prospect = new_prospect(session, stage="recherche")
    before = traces(session, prospect)
    request = session.begin_nested()
    queued = queued_by(session, lambda: propose(session, prospect))
    assert queued
    request.rollback()
    assert count(session, Redirection, Redirection.prospect_id == prospect.id) == 0
    assert traces(session, prospect) == before
    with running_smtp_server(SmtpServer()) as server:
        report = deliver_pending(session_factory, smtp_on(server.port), ids=queued)
    assert report.attempted == 0 and server.messages == []
    propose(session, prospect)  # and the session is still usable


# --- two people accepting at once --------------------------------------------------------------


@pytest.fixture(scope="module")
def committed_url(database_builder) -> str:
    """A database of its own: these transactions commit."""
    return database_builder("foncier_redirections")


def test_two_people_accepting_at_once_end_in_one_acceptance(committed_url):
    engine = make_engine(committed_url)
    try:
        with Session(engine) as setup:
            audit.acting_as(setup, Actor.system("tests"))
            add_referent(setup, GATINE_RACAN, "seconde@gatine-racan.test")
            prospect = new_prospect(setup, stage="recherche")
            redirection = propose(setup, prospect)
            setup.commit()
            redirection_id, prospect_id = redirection.id, prospect.id
            first = referent_of(setup, GATINE_RACAN)
            second = Actor.of(user_of(setup, "seconde@gatine-racan.test"))
        race_accept(engine, redirection_id, first, second)
        with Session(engine) as check:
            stored = check.get(Redirection, redirection_id)
            assert (stored.status, stored.answered_by) == ("acceptee", first.user_id)
            accepted = check.scalars(
                select(CaseEvent).where(
                    CaseEvent.prospect_id == prospect_id, CaseEvent.kind == "redirection_accepted"
                )
            ).all()
            assert [e.user_id for e in accepted] == [first.user_id]
            assert check.get(Prospect, prospect_id).lead_epci_siren == GATINE_RACAN
    finally:
        engine.dispose()


def race_accept(engine, redirection_id: int, first: Actor, second: Actor) -> None:
    """The first accepts and holds its transaction open; the second accepts meanwhile, waits
    for the first's lock, then is refused once the first commits."""
    with Session(engine) as mine, Session(engine) as theirs:
        theirs_loaded = theirs.get(Redirection, redirection_id)  # both read version 1
        mine_loaded = mine.get(Redirection, redirection_id)
        accept_redirection(mine, first, mine_loaded, mine_loaded.version)
        pid = theirs.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()

        def accept_too() -> None:
            accept_redirection(theirs, second, theirs_loaded, 1)
            theirs.commit()

        outcome = race_for_a_lock(engine, pid, accept_too, mine.commit)
    assert outcome.waited, "the second acceptance did not wait for the first"
    assert isinstance(outcome.error, StaleVersionError)
    assert "déjà reçu une suite" in str(outcome.error)


def test_the_path_tells_every_answer_to_a_proposal_in_french(session):
    prospect = new_prospect(session, stage="recherche")
    metropole, gatine = referent_of(session, METROPOLE), referent_of(session, GATINE_RACAN)
    plot = plots_on_sale(session, GATINE_RACAN)[0].terr_id
    keep_plots(session, prospect, [plot])
    names = {siren: session.get(Epci, siren).nom for siren in (METROPOLE, GATINE_RACAN)}

    first = proposals.propose_redirection(
        session, metropole, prospect, GATINE_RACAN, [plot], "Polaxis ?"
    )
    proposals.decline_redirection(session, gatine, first, first.version, "pas_de_terrain", None)
    second = proposals.propose_redirection(
        session, metropole, prospect, GATINE_RACAN, [plot], "Et maintenant ?"
    )
    proposals.withdraw_redirection(session, metropole, second, second.version)

    steps = case_steps(session, prospect)
    # Names with their article (« à la Communauté de communes … »), one plot in the singular.
    assert [step.text for step in steps] == [
        f"Projet proposé à la {names[GATINE_RACAN]} (terrain {plot})",
        f"Proposition refusée par la {names[GATINE_RACAN]} — motif : pas de terrain "
        "disponible qui convienne",
        f"Projet proposé à la {names[GATINE_RACAN]} (terrain {plot})",
        f"Proposition retirée par {names[METROPOLE]}",
    ]
    assert [step.epci for step in steps] == [
        names[METROPOLE],
        names[GATINE_RACAN],
        *[names[METROPOLE]] * 2,
    ]
