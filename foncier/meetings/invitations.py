"""Meeting invitations: one e-mail per invitee with an .ics calendar attachment (RFC 5545),
through the outbox (docs/meetings.md, « Meetings »).

Planning a meeting sends a REQUEST; a change of its date, time or place sends the REQUEST
again with the next SEQUENCE, which calendars take as an update of the event they hold (same
UID); cancelling it sends a CANCEL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final
from urllib.parse import urlsplit

from icalendar import Calendar, Event, vCalAddress
from sqlalchemy import select
from sqlalchemy.orm import Session

from foncier.core.permissions import Role
from foncier.inventory.history import LOCAL_TIME
from foncier.matching.wording import french_date
from foncier.messaging.mail import CalendarPart, absolute_url, queue_mail
from foncier.models import Epci, Meeting, User

REQUEST: Final = "REQUEST"
CANCEL: Final = "CANCEL"
PRODUCT_ID: Final = "-//Foncier économique//Réunions du réseau//FR"
WEEKDAYS: Final = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
SUBJECTS: Final = {
    "new": "Invitation : réunion du réseau le {day}",
    "moved": "Réunion du réseau modifiée : désormais le {day}",
    "cancelled": "Réunion du réseau du {day} annulée",
}
OPENINGS: Final = {
    "new": "Vous êtes invité(e) à la réunion du réseau présidée par {chair}.",
    "moved": "La réunion du réseau présidée par {chair} a changé de date ou de lieu.",
    "cancelled": "La réunion du réseau présidée par {chair} est annulée.",
}


def queue_invitations(session: Session, meeting: Meeting, change: str) -> None:
    """Queue one message per invitee of ``meeting`` with its .ics: ``change`` is « new »,
    « moved » (the meeting's sequence already counts the move) or « cancelled »."""
    method = CANCEL if change == "cancelled" else REQUEST
    chair = session.get_one(Epci, meeting.chair_siren).nom
    invitees = _invitee_emails(session, meeting)
    calendar = CalendarPart(
        _calendar(session, meeting, chair, invitees, method).to_ical().decode(), method
    )
    day = _french_day(meeting)
    subject = SUBJECTS[change].format(day=day)
    body = _body(meeting, OPENINGS[change].format(chair=chair), day)
    for email in invitees:
        queue_mail(session, email, subject, body, calendar)


def meeting_uid(session: Session, meeting: Meeting) -> str:
    """The event's UID, the same in every message about ``meeting``: calendars match on it."""
    host = urlsplit(absolute_url(session, "/")).hostname or "localhost"
    return f"meeting-{meeting.id}@{host}"


def _calendar(
    session: Session, meeting: Meeting, chair: str, invitees: list[str], method: str
) -> Calendar:
    event = Event()
    event.add("uid", meeting_uid(session, meeting))
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", meeting.starts_at.astimezone(UTC))
    event.add("dtend", meeting.ends_at.astimezone(UTC))
    event.add("sequence", meeting.sequence)
    event.add("summary", f"Réunion du réseau — présidée par {chair}")
    event.add("location", meeting.place or meeting.video_url)
    if meeting.video_url:
        event.add("url", meeting.video_url)
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    organizer = _coordinator_email(session)
    if organizer:
        event.add("organizer", _address(organizer, "Coordination du réseau"))
    for email in invitees:
        event.add("attendee", _address(email, role="REQ-PARTICIPANT", rsvp="TRUE"))
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    calendar.add_component(event)
    return calendar


def _address(email: str, name: str | None = None, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["cn"] = name
    for key, value in params.items():
        address.params[key] = value
    return address


def _invitee_emails(session: Session, meeting: Meeting) -> list[str]:
    ids = [invitee.user_id for invitee in meeting.invitees]
    return list(session.scalars(select(User.email).where(User.id.in_(ids)).order_by(User.id)))


def _coordinator_email(session: Session) -> str | None:
    """The network's coordinator (the first active one): the event's organizer."""
    return session.scalars(
        select(User.email)
        .where(User.active, User.role == Role.COORDINATEUR)
        .order_by(User.id)
        .limit(1)
    ).first()


def _french_day(meeting: Meeting) -> str:
    """« jeudi 14 janvier 2027 à 14 h 30 », in Paris time."""
    start = meeting.starts_at.astimezone(LOCAL_TIME)
    return f"{WEEKDAYS[start.weekday()]} {french_date(start.date())} à {_french_time(start)}"


def _french_time(moment: datetime) -> str:
    return f"{moment.hour} h {moment.minute:02d}"


def _body(meeting: Meeting, opening: str, day: str) -> str:
    end = _french_time(meeting.ends_at.astimezone(LOCAL_TIME))
    lines = [opening, "", f"Quand : le {day}, jusqu’à {end} (heure de Paris)."]
    if meeting.place:
        lines.append(f"Lieu : {meeting.place}")
    if meeting.video_url:
        lines.append(f"Visioconférence : {meeting.video_url}")
    lines += ["", "L’invitation jointe (invitation.ics) met votre agenda à jour."]
    return "\n".join(lines)
