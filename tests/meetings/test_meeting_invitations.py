"""Meeting invitations (foncier.meetings.invitations) against the demo: one message per invitee
with an .ics that icalendar reads back, updates on a change of date or place, a CANCEL on
cancelling, and the text/calendar part a real SMTP server receives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from case_helpers import GATINE_RACAN, METROPOLE, coordinator, smtp_on
from icalendar import Calendar, Event
from smtp_server import SmtpServer, running_smtp_server
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from foncier.meetings.planning import (
    CANCELLED,
    MeetingPlan,
    edit_meeting,
    move_meeting,
    plan_meeting,
)
from foncier.messaging.delivery import deliver_now
from foncier.messaging.mail import take_queued
from foncier.models import Meeting, OutboxMessage, User

START = datetime(2027, 1, 14, 13, 30, tzinfo=UTC)
PLACE = "Hôtel de la Métropole, Tours"


def a_plan(hours: int = 0, place: str = PLACE) -> MeetingPlan:
    starts_at = START + timedelta(hours=hours)
    return MeetingPlan(starts_at, starts_at + timedelta(hours=2), place=place)


def planned(session: Session) -> Meeting:
    """A meeting just planned by the coordinator, its invitations taken out of the count."""
    meeting = plan_meeting(session, coordinator(session), a_plan())
    take_queued(session)
    return meeting


def queued(session: Session) -> list[OutboxMessage]:
    ids = take_queued(session)
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))))


def event_of(message: OutboxMessage) -> tuple[Calendar, Event]:
    assert message.calendar is not None
    return parsed(message.calendar)


def parsed(ics: str) -> tuple[Calendar, Event]:
    """The calendar and its one event, as a mail client reads them."""
    calendar = Calendar.from_ical(ics)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def test_planning_sends_each_invitee_an_invitation_their_calendar_reads(session: Session) -> None:
    take_queued(session)
    meeting = plan_meeting(session, coordinator(session), a_plan())
    messages = queued(session)
    invitees = set(
        session.scalars(
            select(User.email).where(User.id.in_([i.user_id for i in meeting.invitees]))
        )
    )
    assert sorted(m.recipient for m in messages) == sorted(invitees)
    assert len(invitees) > 2
    boss = session.get_one(User, coordinator(session).user_id)
    for message in messages:
        calendar, event = event_of(message)
        assert (calendar["method"], message.calendar_method) == ("REQUEST", "REQUEST")
        assert str(event["uid"]) == f"meeting-{meeting.id}@127.0.0.1"
        assert event.decoded("dtstart") == START
        assert event.decoded("dtend") == START + timedelta(hours=2)
        assert event.decoded("sequence") == 0
        assert str(event["location"]) == PLACE
        assert str(event["summary"]).startswith("Réunion du réseau — présidée par ")
        assert str(event["organizer"]) == f"mailto:{boss.email}"
        attendees = {str(a) for a in event["attendee"]}
        assert f"mailto:{message.recipient}" in attendees
        assert attendees == {f"mailto:{email}" for email in invitees}
        assert (
            message.subject == "Invitation : réunion du réseau le jeudi 14 janvier 2027 à 14 h 30"
        )
        assert "jusqu’à 16 h 30 (heure de Paris)" in message.body


def test_a_change_of_date_sends_an_update_of_the_same_event(session: Session) -> None:
    meeting = planned(session)
    first_uid = meeting_uid_in(session, meeting)
    edit_meeting(session, coordinator(session), meeting.id, a_plan(hours=24), meeting.version)
    messages = queued(session)
    assert len(messages) == len(meeting.invitees)
    for message in messages:
        calendar, event = event_of(message)
        assert calendar["method"] == "REQUEST"
        assert str(event["uid"]) == first_uid
        assert event.decoded("sequence") == 1
        assert event.decoded("dtstart") == START + timedelta(hours=24)
        assert message.subject.startswith("Réunion du réseau modifiée : désormais le vendredi 15")
    # A new place is a change too: the next sequence.
    edit_meeting(
        session, coordinator(session), meeting.id, a_plan(24, "Mairie de Racan"), meeting.version
    )
    assert {event_of(m)[1].decoded("sequence") for m in queued(session)} == {2}


def test_an_edit_that_keeps_the_date_and_place_sends_nothing(session: Session) -> None:
    meeting = planned(session)
    other_chair = MeetingPlan(
        meeting.starts_at,
        meeting.ends_at,
        place=PLACE,
        chair_siren=METROPOLE if meeting.chair_siren == GATINE_RACAN else GATINE_RACAN,
    )
    edit_meeting(session, coordinator(session), meeting.id, other_chair, meeting.version)
    assert queued(session) == []
    assert meeting.sequence == 0


def test_cancelling_sends_a_cancel(session: Session) -> None:
    meeting = planned(session)
    move_meeting(session, coordinator(session), meeting.id, CANCELLED, meeting.version)
    messages = queued(session)
    assert len(messages) == len(meeting.invitees)
    for message in messages:
        calendar, event = event_of(message)
        assert (calendar["method"], message.calendar_method) == ("CANCEL", "CANCEL")
        assert str(event["status"]) == "CANCELLED"
        assert event.decoded("sequence") == 1
        assert message.subject == "Réunion du réseau du jeudi 14 janvier 2027 à 14 h 30 annulée"


def test_the_mail_server_receives_the_invitation_as_a_calendar_part(
    session_factory: sessionmaker[Session], session: Session
) -> None:
    take_queued(session)
    plan_meeting(session, coordinator(session), a_plan())
    ids = take_queued(session)
    with running_smtp_server(SmtpServer()) as server:
        report = deliver_now(session_factory, smtp_on(server.port), ids)
    assert report.sent == len(ids) == len(server.messages)
    received = server.messages[0].message
    (part,) = [p for p in received.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REQUEST"
    assert part.get_filename() == "invitation.ics"
    assert part.get_content_charset() == "utf-8"
    _calendar, event = parsed(part.get_content())
    assert str(event["summary"]).startswith("Réunion du réseau — présidée par ")
    assert received.get_body(("plain",)).get_content().startswith("Vous êtes invité(e)")


def meeting_uid_in(session: Session, meeting: Meeting) -> str:
    """The UID the first invitation of ``meeting`` carried."""
    message = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.calendar.contains(f"meeting-{meeting.id}@"))
        .order_by(OutboxMessage.id)
        .limit(1)
    ).one()
    return str(event_of(message)[1]["uid"])
