"""Planning the network's meetings: who plans and edits them, the chair's rotation, who is
invited, and the moves of a meeting's status (docs/meetings.md, « Meetings »).

The coordinator plans a meeting; the coordinator or the référent of the chairing EPCI edits it
and moves its status: planned → held → minutes published, or planned → cancelled. The
permission checks live here, not in the pages, so that every way in obeys the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from foncier.core import audit
from foncier.core.db import locked_row, saving
from foncier.core.errors import PermissionDeniedError, StaleVersionError, ValidationError
from foncier.core.formulas import formula_problems
from foncier.core.permissions import Actor, Role
from foncier.meetings.invitations import queue_invitations
from foncier.models import Epci, Meeting, MeetingInvitee, User
from foncier.territory.epcis import list_epcis

PLANNED: Final = "planned"
HELD: Final = "held"
MINUTES_PUBLISHED: Final = "minutes_published"
CANCELLED: Final = "cancelled"
# The only moves of a meeting's status: nothing goes back, and only a planned meeting is
# cancelled (one that was held keeps its record).
NEXT_STATUSES: Final = {PLANNED: {HELD, CANCELLED}, HELD: {MINUTES_PUBLISHED}}
# The audit reason of each move, and why a meeting past planning no longer changes.
MOVE_REASONS: Final = {
    HELD: "Réunion tenue",
    MINUTES_PUBLISHED: "Compte rendu publié",
    CANCELLED: "Réunion annulée",
}
SETTLED: Final = {
    HELD: "Cette réunion a été tenue",
    MINUTES_PUBLISHED: "Le compte rendu de cette réunion est publié",
    CANCELLED: "Cette réunion est annulée",
}
VIDEO_URL_STARTS: Final = ("https://", "http://")
STALE_MESSAGE: Final = (
    "Quelqu’un a enregistré cette réunion pendant que vous la modifiiez : vos modifications "
    "n’ont pas été appliquées, pour ne pas effacer les siennes."
)


@dataclass(frozen=True)
class MeetingPlan:
    """What a person decides about a meeting: when, where, and (coordinator) who chairs it.

    ``chair_siren`` None when planning: the next EPCI in rotation (next_chair)."""

    starts_at: datetime
    ends_at: datetime
    place: str | None = None
    video_url: str | None = None
    chair_siren: str | None = None


def next_chair(session: Session) -> str:
    """The EPCI that chaired least recently: one that never chaired first, then the one whose
    last meeting (cancelled ones aside: they were not chaired) is the oldest; ties in the order
    of every list of EPCIs, so that the rotation is the same for everyone."""
    last_chaired = dict(
        session.execute(
            select(Meeting.chair_siren, func.max(Meeting.starts_at))
            .where(Meeting.status != CANCELLED)
            .group_by(Meeting.chair_siren)
        ).all()
    )
    epcis = [siren for siren, _name in list_epcis(session)]
    never = [siren for siren in epcis if siren not in last_chaired]
    if never:
        return never[0]
    # sorted() is stable: equal dates keep the order of list_epcis.
    return sorted(epcis, key=lambda siren: last_chaired[siren])[0]


def plan_meeting(session: Session, actor: Actor, plan: MeetingPlan) -> Meeting:
    """A new planned meeting, chaired by ``plan.chair_siren`` or else the next in rotation,
    with every active référent and the coordinator invited. Only the coordinator plans."""
    if actor.role is not Role.COORDINATEUR:
        raise PermissionDeniedError(
            "Seul le coordinateur du réseau planifie les réunions : demandez-lui d’en prévoir une."
        )
    chair = plan.chair_siren or next_chair(session)
    _check_plan(session, plan, chair)
    audit.acting_as(session, actor)
    meeting = Meeting(
        starts_at=plan.starts_at,
        ends_at=plan.ends_at,
        place=plan.place,
        video_url=plan.video_url,
        chair_siren=chair,
        created_by=actor.user_id,
        invitees=[MeetingInvitee(user_id=user_id) for user_id in _invited_members(session)],
    )
    with audit.reason(session, "Réunion planifiée"):
        session.add(meeting)
        session.flush()
    queue_invitations(session, meeting, "new")
    return meeting


def edit_meeting(
    session: Session, actor: Actor, meeting_id: int, plan: MeetingPlan, expected_version: int
) -> Meeting:
    """Change a planned meeting's date, place or video link — and, for the coordinator only,
    its chair. Refused if someone saved it after ``expected_version`` (StaleVersionError)."""
    meeting = _editable(session, actor, meeting_id, expected_version)
    chair = plan.chair_siren or meeting.chair_siren
    if chair != meeting.chair_siren and actor.role is not Role.COORDINATEUR:
        raise PermissionDeniedError(
            "Seul le coordinateur du réseau confie la présidence d’une réunion à un autre EPCI."
        )
    if meeting.status != PLANNED:
        raise ValidationError(
            {
                "status": f"{SETTLED[meeting.status]} : sa date, son lieu et sa présidence ne "
                "changent plus."
            }
        )
    _check_plan(session, plan, chair)
    moved = _when_and_where(meeting) != (plan.starts_at, plan.ends_at, plan.place, plan.video_url)
    with saving(session, meeting, "Modification de la réunion", STALE_MESSAGE):
        meeting.starts_at, meeting.ends_at = plan.starts_at, plan.ends_at
        meeting.place, meeting.video_url, meeting.chair_siren = plan.place, plan.video_url, chair
        if moved:
            meeting.sequence += 1  # the invitees' calendars replace the event they hold
    if moved:
        queue_invitations(session, meeting, "moved")
    return meeting


def move_meeting(
    session: Session, actor: Actor, meeting_id: int, status: str, expected_version: int
) -> Meeting:
    """Move the meeting to ``status``: planned → held → minutes published, or planned →
    cancelled (ValidationError for any other move)."""
    meeting = _editable(session, actor, meeting_id, expected_version)
    if status not in NEXT_STATUSES.get(meeting.status, set()):
        raise ValidationError({"status": _refused_move(meeting.status, status)})
    with saving(session, meeting, MOVE_REASONS[status], STALE_MESSAGE):
        meeting.status = status
        if status == CANCELLED:
            meeting.sequence += 1  # a CANCEL is a change of the event, as for a move
    if status == CANCELLED:
        queue_invitations(session, meeting, "cancelled")
    return meeting


def can_edit_meeting(actor: Actor, meeting: Meeting) -> bool:
    """The coordinator edits every meeting; a référent, the ones their EPCI chairs."""
    if actor.role is Role.COORDINATEUR:
        return True
    return actor.role is Role.REFERENT and actor.epci_siren == meeting.chair_siren


def _editable(session: Session, actor: Actor, meeting_id: int, expected_version: int) -> Meeting:
    """The meeting, locked, if ``actor`` may edit it and nobody saved it since
    ``expected_version``."""
    meeting = locked_row(session, Meeting, meeting_id)
    if not can_edit_meeting(actor, meeting):
        raise PermissionDeniedError(
            "Seuls le coordinateur du réseau et le référent de l’EPCI qui la préside modifient "
            "cette réunion."
        )
    if meeting.version != expected_version:
        raise StaleVersionError(STALE_MESSAGE, meeting)
    audit.acting_as(session, actor)
    return meeting


def _when_and_where(meeting: Meeting) -> tuple[object, ...]:
    """What the invitees' calendars hold of the meeting: a change of it sends an update."""
    return (meeting.starts_at, meeting.ends_at, meeting.place, meeting.video_url)


def _refused_move(current: str, wanted: str) -> str:
    if wanted not in MOVE_REASONS:
        return f"État inconnu : « {wanted} »."
    if current == PLANNED:
        return "Une réunion prévue est d’abord tenue (ou annulée) : son état suit cet ordre."
    if current == HELD:
        return "Une réunion tenue ne peut plus qu’avoir son compte rendu publié."
    return f"{SETTLED[current]} : son état ne change plus."


def _check_plan(session: Session, plan: MeetingPlan, chair: str) -> None:
    """ValidationError, with a French message per field, for a plan the network cannot use."""
    errors = formula_problems({"place": plan.place, "video_url": plan.video_url})
    if plan.starts_at.tzinfo is None or plan.ends_at.tzinfo is None:
        errors["starts_at"] = "Indiquez l’heure avec son fuseau (heure de Paris)."
    elif plan.ends_at <= plan.starts_at:
        errors["ends_at"] = "La fin de la réunion doit venir après son début."
    if not (plan.place or "").strip() and not (plan.video_url or "").strip():
        errors["place"] = "Indiquez un lieu, un lien de visioconférence, ou les deux."
    if plan.video_url and not plan.video_url.strip().startswith(VIDEO_URL_STARTS):
        errors["video_url"] = "Le lien de visioconférence commence par https://."
    if session.get(Epci, chair) is None:
        errors["chair_siren"] = f"Aucun EPCI du réseau n’a le SIREN {chair}."
    if errors:
        raise ValidationError(errors)


def _invited_members(session: Session) -> list[int]:
    """Every active référent and coordinator: the people a meeting is for."""
    return list(
        session.scalars(
            select(User.id)
            .where(User.active, User.role.in_([Role.REFERENT, Role.COORDINATEUR]))
            .order_by(User.id)
        )
    )
