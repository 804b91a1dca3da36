"""Redirection pages: proposing a project to another EPCI, answering a proposal, moving the
case, the list of redirections, and the person's inbox.

Thin: the forms type what people send; foncier.redirections.proposals and foncier.prospects.cases
check rights, states and values, and write. Pages answer 403 to the wrong people (the core refuses),
400 with the form and its messages, 409 when someone else acted first (the proposal was already
answered, the project moved on). The e-mails a step owes are outbox rows, sent after the
request's commit (foncier.web.database): a mail server that is down never fails a step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from foncier.core.db import get_or_raise
from foncier.core.errors import StaleVersionError, ValidationError
from foncier.core.french import to_epci
from foncier.core.permissions import Actor, Role
from foncier.messaging import notifications
from foncier.models import Redirection
from foncier.prospects import casework
from foncier.prospects.cases import STAGE_LABELS, advance_case
from foncier.prospects.projects import prospect_for_lead
from foncier.redirections import proposals as core
from foncier.redirections.case_steps import case_steps
from foncier.territory.epcis import epci_names
from foncier.web.auth import current_actor
from foncier.web.auth.forms import FrenchForm, show_errors
from foncier.web.database import db_session
from foncier.web.formatting import plural
from foncier.web.redirections.forms import (
    AnswerForm,
    DeclineForm,
    ReadForm,
    RedirectForm,
    StageForm,
)
from foncier.web.redirections.panel import REDIRECT_PREFIX, fill_redirect_choices, stage_move

redirections = Blueprint("redirections", __name__)
redirections.add_app_template_global(lambda code: STAGE_LABELS.get(code, code), "stage_label")
redirections.add_app_template_global(
    lambda code: core.STATUS_LABELS.get(code, code), "status_label"
)
redirections.add_app_template_global(
    lambda code: core.DECLINE_REASON_LABELS.get(code, code or ""), "decline_reason_label"
)

INVALID: Final = 400
CONFLICT: Final = 409


@redirections.app_template_global()
def unread_notifications() -> int:
    """The signed-in person's unread messages, for the menu (0 if the count is unavailable,
    e.g. on an error page after a failed transaction)."""
    actor: Actor | None = g.get("actor")
    if actor is None:
        return 0
    try:
        return notifications.unread_count(db_session(), actor)
    except SQLAlchemyError:
        return 0


@redirections.app_template_global()
def unread_badge() -> Markup:
    count = unread_notifications()
    if not count:
        return Markup("")
    unread = plural(count, "message non lu", "messages non lus")
    return Markup(
        '<span class="compteur-non-lus" title="{0}">{1}<span class="visuellement-cache"> {2}</span>'
        "</span>"
    ).format(unread, count, "non lu" if count == 1 else "non lus")


def _project_page(prospect_id: int) -> Response:
    return redirect(core.project_link(prospect_id))


@dataclass(frozen=True)
class Attempt:
    """What came of a step the person asked for: done (with the core's answer), or why not —
    messages put on the form, a conflict to show."""

    done: bool
    result: Any = None
    conflict: str | None = None


def _attempt(form: FrenchForm, step: Callable[[], Any]) -> Attempt:
    try:
        result = step()
    except ValidationError as error:
        show_errors(form, error)  # beside their fields; the others above the form
        return Attempt(False)
    except StaleVersionError as error:
        return Attempt(False, conflict=str(error))
    return Attempt(True, result)


def _status(form: FrenchForm, conflict: str | None) -> int:
    if conflict:
        return CONFLICT
    return INVALID if form.errors or form.form_errors else 200


# --- proposing a project to another EPCI ---------------------------------------------------


@redirections.post("/projets/<int:prospect_id>/rediriger")
def propose(prospect_id: int) -> Any:
    session, actor = db_session(), current_actor()
    prospect = prospect_for_lead(session, actor, prospect_id, core.PROPOSING)
    form = RedirectForm(prefix=REDIRECT_PREFIX)
    fill_redirect_choices(session, actor, form, prospect)
    attempt = Attempt(False)
    if form.validate_on_submit():
        attempt = _attempt(form, lambda: core.propose_redirection(
            session, actor, prospect, form.to_epci_siren.data or "",
            form.terr_ids.data or [], form.message.data or "",
        ))  # fmt: skip
        if attempt.done:
            flash(
                f"Projet proposé {to_epci(attempt.result.to_epci.nom)} : ses référents sont "
                "prévenus.",
                "succes",
            )
            return _project_page(prospect_id)
    page = render_template(
        "redirections/propose.html", form=form, prospect=prospect, conflict=attempt.conflict
    )
    return page, _status(form, attempt.conflict)


# --- moving the case -----------------------------------------------------------------------


@redirections.post("/projets/<int:prospect_id>/etape")
def move_case(prospect_id: int) -> Any:
    session, actor = db_session(), current_actor()
    prospect = prospect_for_lead(session, actor, prospect_id)
    stage = request.form.get("etape", "")
    if stage not in STAGE_LABELS:
        abort(INVALID, description="Étape inconnue.")
    form = StageForm(prefix=stage)
    attempt = Attempt(False)
    if form.validate_on_submit():
        attempt = _attempt(form, lambda: advance_case(
            session, actor, prospect, stage, version=form.version.data or 0,
            terr_id=form.terr_id.data or None, on=form.on.data,
            jobs_created=form.jobs_created.data, reason=form.reason.data, note=form.note.data,
        ))  # fmt: skip
        if attempt.done:
            flash(f"Étape enregistrée : {STAGE_LABELS[stage].lower()}.", "succes")
            return _project_page(prospect_id)
    move = stage_move(session, actor, prospect, stage, form)  # after the checks: it fills it
    page = render_template(
        "redirections/stage.html", move=move, prospect=prospect, conflict=attempt.conflict
    )
    return page, _status(form, attempt.conflict)


# --- a proposal, as its receiver reads it ----------------------------------------------------


@redirections.get("/redirections/<int:redirection_id>")
def redirection(redirection_id: int) -> str:
    session, actor = db_session(), current_actor()
    found = get_or_raise(session, Redirection, redirection_id)
    core.require_in_the_know(session, actor, found)
    return _redirection_page(session, actor, found)


def _redirection_page(
    session: Session,
    actor: Actor,
    found: Redirection,
    *,
    submitted: FrenchForm | None = None,
    conflict: str | None = None,
) -> str:
    forms = {
        "accepter": AnswerForm(formdata=None, prefix="accepter"),
        "refuser": DeclineForm(formdata=None, prefix="refuser"),
        "retirer": AnswerForm(formdata=None, prefix="retirer"),
    }
    for form in forms.values():
        form.version.data = found.version
    if submitted is not None:
        forms[submitted._prefix.rstrip("-")] = submitted
    names = epci_names(session)
    return render_template(
        "redirections/redirection.html",
        redirection=found,
        prospect=found.prospect,
        forms=forms,
        pending=found.status == "proposee",
        may_answer=core.may_answer(actor, found),
        may_withdraw=core.may_withdraw(actor, found),
        may_lead=casework.may_lead(actor, found.prospect),
        path=case_steps(session, found.prospect),
        epci_names=names,
        status_labels=core.STATUS_LABELS,
        reason_labels=core.DECLINE_REASON_LABELS,
        stage_labels=STAGE_LABELS,
        conflict=conflict,
    )


Answer = Callable[[Session, Actor, Redirection, Any], Redirection]
ANSWERS: Final[dict[str, tuple[type[FrenchForm], Answer, str]]] = {
    "accepter": (
        AnswerForm,
        lambda s, a, r, f: core.accept_redirection(s, a, r, f.version.data or 0),
        "Proposition acceptée : votre EPCI suit désormais ce projet.",
    ),
    "refuser": (
        DeclineForm,
        lambda s, a, r, f: core.decline_redirection(
            s, a, r, f.version.data or 0, f.reason.data or "", f.note.data
        ),
        "Proposition refusée : l’EPCI qui l’a faite est prévenu.",
    ),
    "retirer": (
        AnswerForm,
        lambda s, a, r, f: core.withdraw_redirection(s, a, r, f.version.data or 0),
        "Proposition retirée : l’EPCI à qui elle était faite est prévenu.",
    ),
}


ANSWER_KINDS: Final = {
    "accepter": "redirection_accepted",
    "refuser": "redirection_declined",
    "retirer": "redirection_withdrawn",
}


@redirections.post("/redirections/<int:redirection_id>/<any(accepter, refuser, retirer):action>")
def answer(redirection_id: int, action: str) -> Any:
    session, actor = db_session(), current_actor()
    found = get_or_raise(session, Redirection, redirection_id)
    core.require_in_the_know(session, actor, found)
    # Who first: the wrong person gets 403, whatever the form they sent lacks.
    core.require_answer_right(actor, found, ANSWER_KINDS[action])
    form_class, act, done = ANSWERS[action]
    form = form_class(prefix=action)
    attempt = Attempt(False)
    if form.validate_on_submit():
        attempt = _attempt(form, lambda: act(session, actor, found, form))
        if attempt.done:
            flash(done, "succes")
            if action == "refuser":
                return redirect(url_for("redirections.redirection", redirection_id=found.id))
            return _project_page(found.prospect_id)
    session.refresh(found)
    page = _redirection_page(session, actor, found, submitted=form, conflict=attempt.conflict)
    return page, _status(form, attempt.conflict)


# --- lists ---------------------------------------------------------------------------------


def _page_number() -> int:
    page = request.args.get("page", "1")
    if not page.isdigit():
        abort(INVALID, description="Numéro de page attendu.")
    return int(page)


@redirections.get("/redirections")
def redirection_list() -> str:
    session, actor = db_session(), current_actor()
    # A référent may narrow the list to what their EPCI sent or received.
    direction = request.args.get("sens") if actor.role is Role.REFERENT else None
    if direction is not None and direction not in core.DIRECTIONS:
        abort(INVALID, description="Filtre inconnu : « envoyees » ou « recues » attendu.")
    return render_template(
        "redirections/list.html",
        page=core.redirections_for(session, actor, _page_number(), direction=direction),
        direction=direction,
        directions=core.DIRECTIONS if actor.role is Role.REFERENT else {},
        status_labels=core.STATUS_LABELS,
        epci_names=epci_names(session),
    )


@redirections.get("/boite")
def inbox() -> str:
    session, actor = db_session(), current_actor()
    return render_template(
        "redirections/inbox.html",
        inbox=notifications.inbox_page(session, actor, _page_number()),
    )


@redirections.post("/boite/<int:notification_id>/lu")
def mark_read(notification_id: int) -> Response:
    session, actor = db_session(), current_actor()
    form = ReadForm()
    if not form.validate_on_submit():
        abort(INVALID, description="Formulaire expiré : rechargez la page.")
    notification = notifications.mark_read(session, actor, notification_id)
    link = notification.link or ""
    # Only a path of the platform: never send the person elsewhere.
    if request.form.get("ouvrir") and link.startswith("/") and not link.startswith("//"):
        return redirect(link)
    return redirect(url_for("redirections.inbox", page=request.form.get("page") or None))
