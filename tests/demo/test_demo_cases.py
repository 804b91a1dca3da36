"""The demo's company projects and agreement (seed/cases.py), built through the core on top
of the test database's inventory: what they show, and that seeding and resetting behave."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from foncier.agreements import status
from foncier.core import audit
from foncier.models import (
    Agreement,
    AuditEvent,
    CaseEvent,
    Notification,
    OutboxMessage,
    Prospect,
    Redirection,
    Terrain,
    User,
)
from seed import cases, demo


def _count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def _demo_projects(session):
    return {p.company_name: p for p in session.scalars(select(Prospect).where(Prospect.is_demo))}


def test_the_demo_cases_show_each_part_of_the_workflow(session):
    seeder = audit.actor_of(session)
    report = cases.seed_demo_cases(session)
    # Each step is the act of a demo référent; afterwards the seeder acts again.
    assert audit.actor_of(session) == seeder
    assert (report.prospects, report.agreements) == (3, 1)
    projects = _demo_projects(session)
    settled = projects["Menuiserie Exemple du Lochois (démo)"]
    assert (settled.stage, settled.lead_epci_siren) == ("installe", cases.LOCHES_SUD_TOURAINE)
    assert session.get(Terrain, settled.terr_id).terr_stade_comm == (
        "vendu, commercialisation achevée"
    )
    pending = projects["Logistique Exemple Val de Loire (démo)"]
    assert [r.status for r in pending.redirections] == ["proposee"]
    declined = projects["Conserverie Exemple du Véron (démo)"]
    assert [r.status for r in declined.redirections] == ["declinee"]
    assert (declined.lead_epci_siren, declined.stage) == (cases.CHINON, "recherche")
    agreement = session.scalars(select(Agreement).where(Agreement.is_demo)).one()
    assert agreement.status == "en_vigueur"
    # Val d'Amboise's référent has the pending proposal in their inbox.
    amboise = select(User.id).where(User.epci_siren == cases.VAL_D_AMBOISE)
    assert _count(session, Notification, Notification.user_id.in_(amboise)) == 1


def test_the_settled_case_keeps_its_whole_path(session):
    cases.seed_demo_cases(session)
    settled = _demo_projects(session)["Menuiserie Exemple du Lochois (démo)"]
    kinds = session.scalars(
        select(CaseEvent.kind).where(CaseEvent.prospect_id == settled.id).order_by(CaseEvent.id)
    ).all()
    assert kinds[:4] == ["created", "shortlisted", "redirection_proposed", "redirection_accepted"]
    assert kinds[4:8] == ["stage_changed"] * 4
    # The agreement's steps follow in the case's path: drafted, signed by both, in force.
    assert kinds[8:] == [
        "agreement_created",
        "agreement_signed",
        "agreement_signed",
        "agreement_status",
        "agreement_status",
    ]
    authors = session.scalars(
        select(AuditEvent.actor_label).where(
            AuditEvent.entity_type == "prospect", AuditEvent.entity_id == str(settled.id)
        )
    ).all()
    assert {"referent.touraine-vallee-de-l-indre@demo.foncier.test",
            "referent.loches-sud-touraine@demo.foncier.test"} == set(authors)  # fmt: skip


def test_seeding_the_cases_again_adds_nothing(session):
    cases.seed_demo_cases(session)
    before = _count(session, Prospect), _count(session, Agreement)
    assert cases.seed_demo_cases(session) == cases.CasesReport()
    assert (_count(session, Prospect), _count(session, Agreement)) == before


def test_reset_removes_the_cases_and_their_history_then_rebuilds_them(session):
    demo.seed_demo(session)
    first = sorted(_demo_projects(session))
    # A project someone recorded with a demo account is demo work too.
    settled = _demo_projects(session)["Menuiserie Exemple du Lochois (démo)"]
    played = Prospect(
        origin_epci_siren=settled.origin_epci_siren,
        lead_epci_siren=settled.origin_epci_siren,
        company_name="Essai d’un visiteur",
        needs={},
        source="direct",
        created_by=settled.created_by,
    )
    session.add(played)
    session.flush()
    old_ids = {str(p.id) for p in _demo_projects(session).values()} | {str(played.id)}
    messages = _count(session, OutboxMessage)
    demo.seed_demo(session, reset=True)
    assert sorted(_demo_projects(session)) == first
    # The demo's messages are written again, not added to those of the first seed.
    assert _count(session, OutboxMessage) == messages > 0
    assert session.get(Prospect, played.id) is None
    assert _count(session, Redirection) == 3
    stale_events = _count(
        session,
        AuditEvent,
        AuditEvent.entity_type == "prospect",
        AuditEvent.entity_id.in_(old_ids - {str(p.id) for p in _demo_projects(session).values()}),
    )
    assert stale_events == 0


def test_the_demo_dates_follow_the_day_the_seed_runs(session):
    """The projects are recorded today: nothing after can be dated before."""
    cases.seed_demo_cases(session)
    today = date.today()
    settled = _demo_projects(session)["Menuiserie Exemple du Lochois (démo)"]
    assert settled.installed_on == today
    assert settled.contact_retention_until > today
    agreement = session.scalars(select(Agreement).where(Agreement.is_demo)).one()
    assert [party.signed_on for party in agreement.parties] == [today, today]
    # In force from the day it starts: what the status move would otherwise warn against.
    assert agreement.status == "en_vigueur"
    assert (agreement.first_year, agreement.starts_on) == (today.year, today)
    assert status.status_move_warning(agreement, "en_vigueur", today) is None
    assert agreement.ends_on == date(today.year + 4, 12, 31)


def test_the_demo_messages_link_to_the_server_and_stay_in_the_outbox(session):
    """With a real mail server configured, the demo still sends nothing (the SMTP host
    does not exist: a delivery attempt would fail), and its links start with the server's
    public address."""
    environ = {
        "FONCIER_BASE_URL": "https://foncier.touraine.example/",
        "FONCIER_MAIL_BACKEND": "smtp",
        "FONCIER_SMTP_HOST": "smtp.invalid",
    }
    before = _count(session, OutboxMessage)
    cases.seed_demo_cases(session, environ)
    rows = session.execute(
        select(OutboxMessage.body, OutboxMessage.status).order_by(OutboxMessage.id)
    ).all()
    demo_bodies = [body for body, _status in rows[before:]]
    assert demo_bodies, "the demo's proposals and agreement send messages"
    assert all("https://foncier.touraine.example/" in body for body in demo_bodies)
    assert not any("127.0.0.1" in body for body in demo_bodies)
    # Marked sent without leaving: no sender will ever try them, whatever the backend.
    assert {status for _body, status in rows[before:]} == {"sent"}
