"""Planning meetings (foncier.meetings.planning) against the demo: the chair's rotation, who may
plan and edit, the invitees, the moves of the status, concurrent edits and the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from case_helpers import GATINE_RACAN, METROPOLE, add_referent, coordinator, partner, referent_of
from sqlalchemy import select
from sqlalchemy.orm import Session

from foncier.core.errors import PermissionDeniedError, StaleVersionError, ValidationError
from foncier.core.formulas import FORMULA_MESSAGE
from foncier.meetings.planning import (
    CANCELLED,
    HELD,
    MINUTES_PUBLISHED,
    MeetingPlan,
    edit_meeting,
    move_meeting,
    next_chair,
    plan_meeting,
)
from foncier.models import AuditEvent, Meeting, User
from foncier.territory.epcis import list_epcis

START = datetime(2027, 1, 14, 13, 30, tzinfo=UTC)


def a_plan(days: int = 0, **values: object) -> MeetingPlan:
    """A meeting of two hours at the Métropole, ``days`` after START."""
    starts_at = START + timedelta(days=days)
    defaults: dict[str, object] = {"place": "Hôtel de la Métropole, Tours"}
    return MeetingPlan(starts_at, starts_at + timedelta(hours=2), **{**defaults, **values})


def test_the_chair_rotates_to_the_epci_that_chaired_least_recently(session: Session) -> None:
    epcis = [siren for siren, _ in list_epcis(session)]
    session.execute(Meeting.__table__.delete())
    # Nobody chaired yet: the first EPCI in the order of every list.
    assert next_chair(session) == epcis[0]
    boss = coordinator(session)
    for days, siren in enumerate(epcis):
        meeting = plan_meeting(session, boss, a_plan(days))
        assert meeting.chair_siren == siren  # each never-chaired EPCI in turn
    # Everyone chaired: the oldest chair comes back, then the next.
    assert next_chair(session) == epcis[0]
    plan_meeting(session, boss, a_plan(100))
    assert next_chair(session) == epcis[1]
    # A cancelled meeting was not chaired: its EPCI's turn comes back.
    last = plan_meeting(session, boss, a_plan(101))
    assert last.chair_siren == epcis[1]
    move_meeting(session, boss, last.id, CANCELLED, last.version)
    assert next_chair(session) == epcis[1]


def test_the_coordinator_plans_and_every_active_referent_and_the_coordinator_are_invited(
    session: Session,
) -> None:
    add_referent(session, METROPOLE, "ancien@tours-metropole.fr", active=False)
    meeting = plan_meeting(session, coordinator(session), a_plan(chair_siren=GATINE_RACAN))
    invited = {invitee.user_id for invitee in meeting.invitees}
    expected = set(
        session.scalars(
            select(User.id).where(User.active, User.role.in_(["referent", "coordinateur"]))
        )
    )
    assert invited == expected
    assert (
        len({u.epci_siren for u in session.scalars(select(User).where(User.id.in_(invited)))}) > 2
    )
    assert (
        session.scalars(
            select(User.id).where(User.email == "ancien@tours-metropole.fr", User.id.in_(invited))
        ).all()
        == []
    )
    assert meeting.status == "planned"
    assert meeting.chair_siren == GATINE_RACAN


@pytest.mark.parametrize("who", ["referent", "partner"])
def test_only_the_coordinator_plans(session: Session, who: str) -> None:
    actor = referent_of(session, METROPOLE) if who == "referent" else partner(session)
    with pytest.raises(PermissionDeniedError, match="coordinateur"):
        plan_meeting(session, actor, a_plan())


def test_the_chairs_referent_edits_other_referents_and_partners_are_refused(
    session: Session,
) -> None:
    meeting = plan_meeting(session, coordinator(session), a_plan(chair_siren=GATINE_RACAN))
    for outsider in (referent_of(session, METROPOLE), partner(session)):
        with pytest.raises(PermissionDeniedError, match="préside"):
            edit_meeting(session, outsider, meeting.id, a_plan(1), meeting.version)
        with pytest.raises(PermissionDeniedError):
            move_meeting(session, outsider, meeting.id, HELD, meeting.version)
    chair = referent_of(session, GATINE_RACAN)
    edit_meeting(session, chair, meeting.id, a_plan(7, place="Mairie de Neuvy"), meeting.version)
    assert (meeting.starts_at, meeting.place) == (START + timedelta(days=7), "Mairie de Neuvy")
    # Handing the chair to another EPCI is the coordinator's.
    with pytest.raises(PermissionDeniedError, match="présidence"):
        edit_meeting(session, chair, meeting.id, a_plan(chair_siren=METROPOLE), meeting.version)
    edit_meeting(
        session, coordinator(session), meeting.id, a_plan(chair_siren=METROPOLE), meeting.version
    )
    assert meeting.chair_siren == METROPOLE


def test_the_status_moves_planned_held_minutes_published_and_never_back(
    session: Session,
) -> None:
    boss = coordinator(session)
    meeting = plan_meeting(session, boss, a_plan())
    with pytest.raises(ValidationError, match="d’abord tenue"):
        move_meeting(session, boss, meeting.id, MINUTES_PUBLISHED, meeting.version)
    with pytest.raises(ValidationError, match="État inconnu : « reportee »"):
        move_meeting(session, boss, meeting.id, "reportee", meeting.version)
    move_meeting(session, boss, meeting.id, HELD, meeting.version)
    with pytest.raises(ValidationError, match="compte rendu publié"):
        move_meeting(session, boss, meeting.id, CANCELLED, meeting.version)
    with pytest.raises(ValidationError, match="a été tenue : sa date"):
        edit_meeting(session, boss, meeting.id, a_plan(3), meeting.version)
    move_meeting(session, boss, meeting.id, MINUTES_PUBLISHED, meeting.version)
    with pytest.raises(
        ValidationError, match="compte rendu de cette réunion est publié : son état ne change plus"
    ):
        move_meeting(session, boss, meeting.id, HELD, meeting.version)
    assert session.get(Meeting, meeting.id).status == MINUTES_PUBLISHED


def test_a_plan_the_network_cannot_use_is_refused_in_french(session: Session) -> None:
    boss = coordinator(session)
    with pytest.raises(ValidationError) as refused:
        plan_meeting(
            session,
            boss,
            MeetingPlan(START, START - timedelta(hours=1), place="=HYPERLINK(\"x\")",
                        video_url="javascript:alert(1)", chair_siren="999999999"),
        )  # fmt: skip
    assert refused.value.errors == {
        "place": FORMULA_MESSAGE,
        "ends_at": "La fin de la réunion doit venir après son début.",
        "video_url": "Le lien de visioconférence commence par https://.",
        "chair_siren": "Aucun EPCI du réseau n’a le SIREN 999999999.",
    }
    with pytest.raises(ValidationError, match="un lieu, un lien"):
        plan_meeting(session, boss, a_plan(place="  "))
    naive = START.replace(tzinfo=None)
    with pytest.raises(ValidationError, match="fuseau"):
        plan_meeting(session, boss, MeetingPlan(naive, naive + timedelta(hours=1), place="Tours"))
    video_only = plan_meeting(session, boss, a_plan(place=None, video_url="https://visio.fr/r"))
    assert video_only.video_url == "https://visio.fr/r"


def test_an_edit_started_from_an_older_version_is_refused(session: Session) -> None:
    boss = coordinator(session)
    meeting = plan_meeting(session, boss, a_plan(chair_siren=GATINE_RACAN))
    read_version = meeting.version
    edit_meeting(session, boss, meeting.id, a_plan(2), read_version)
    with pytest.raises(StaleVersionError, match="Quelqu’un a enregistré cette réunion") as late:
        edit_meeting(
            session, referent_of(session, GATINE_RACAN), meeting.id, a_plan(5), read_version
        )
    assert late.value.current.starts_at == START + timedelta(days=2)
    with pytest.raises(StaleVersionError):
        move_meeting(session, boss, meeting.id, CANCELLED, read_version)
    assert session.get(Meeting, meeting.id).status == "planned"


def test_planning_edits_and_moves_are_in_the_audit_trail(session: Session) -> None:
    boss = coordinator(session)
    meeting = plan_meeting(session, boss, a_plan())
    edit_meeting(session, boss, meeting.id, a_plan(1), meeting.version)
    move_meeting(session, boss, meeting.id, CANCELLED, meeting.version)
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "meeting", AuditEvent.entity_id == str(meeting.id))
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.reason) for e in events] == [
        ("create", "Réunion planifiée"),
        ("update", "Modification de la réunion"),
        ("update", "Réunion annulée"),
    ]
    assert {e.user_id for e in events} == {boss.user_id}
    # The iCalendar sequence moves with the cancellation (foncier.meetings.invitations).
    assert events[2].changes == {"status": ["planned", "cancelled"], "sequence": [1, 2]}
