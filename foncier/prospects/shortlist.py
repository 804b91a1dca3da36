"""A project's shortlist of plots, its needs as the matching engine reads them, and what
was proposed to the company with its answer. Only the lead EPCI's référents change them,
while the case is open.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from foncier.core.db import get_or_raise
from foncier.core.errors import NotFoundError, ValidationError
from foncier.core.permissions import Actor
from foncier.matching import Needs, NeedsError, parse_needs, why_not
from foncier.models import Prospect, ShortlistedPlot, Site, Terrain
from foncier.models.prospects import COMPANY_ANSWERS
from foncier.prospects import casework
from foncier.prospects.cases import FINAL_STAGES, STAGE_LABELS
from foncier.prospects.projects import (
    ANSWER_LABELS,
    MAX_ANSWER_NOTE,
    ValueChecker,
    project_needs_data,
)


def _shortlisted(prospect: Prospect, terr_id: str) -> ShortlistedPlot | None:
    return next((plot for plot in prospect.shortlist if plot.terr_id == terr_id), None)


def shortlisted_plot(prospect: Prospect, terr_id: str) -> ShortlistedPlot:
    """The plot ``terr_id`` of the project's shortlist (NotFoundError if it is not kept)."""
    plot = _shortlisted(prospect, terr_id)
    if plot is None:
        raise NotFoundError(f"plot {terr_id} is not shortlisted for project {prospect.id}")
    return plot


def kept_terrains(session: Session, prospect: Prospect) -> dict[str, Terrain]:
    """The plots of the project's shortlist by id, with their park and EPCI, in one query
    (the project page names all three)."""
    terrains = session.scalars(
        select(Terrain)
        .where(Terrain.terr_id.in_([plot.terr_id for plot in prospect.shortlist]))
        .options(joinedload(Terrain.site).joinedload(Site.epci))
    )
    return {terrain.terr_id: terrain for terrain in terrains}


def _require_open_selection(actor: Actor, prospect: Prospect) -> None:
    casework.require_lead(actor, prospect, "la sélection de terrains de ce projet")
    if prospect.stage in FINAL_STAGES:
        raise ValidationError(
            {
                "terr_id": f"Le projet est clos ({STAGE_LABELS[prospect.stage].lower()}) : "
                "sa sélection de terrains ne change plus."
            }
        )


def shortlist_plot(
    session: Session,
    actor: Actor,
    prospect: Prospect,
    terr_id: str,
    score: Decimal | float | None = None,
) -> ShortlistedPlot:
    """Keep a plot of any EPCI for the project (kept already: nothing changes)."""
    _require_open_selection(actor, prospect)
    kept = _shortlisted(prospect, terr_id)
    if kept is not None:
        return kept
    get_or_raise(session, Terrain, terr_id)
    recorded = None if score is None else Decimal(str(score)).quantize(Decimal("0.1"))
    plot = ShortlistedPlot(terr_id=terr_id, added_by=actor.user_id, score=recorded)
    prospect.shortlist.append(plot)
    details = {"terr_id": terr_id, "score": None if recorded is None else float(recorded)}
    casework.record_event(session, actor, prospect, "shortlisted", details=details)
    session.flush()
    return plot


def remove_from_shortlist(session: Session, actor: Actor, prospect: Prospect, terr_id: str) -> None:
    _require_open_selection(actor, prospect)
    plot = shortlisted_plot(prospect, terr_id)
    prospect.shortlist.remove(plot)
    casework.record_event(
        session, actor, prospect, "removed_from_shortlist", details={"terr_id": terr_id}
    )
    session.flush()


def record_proposal(
    session: Session,
    actor: Actor,
    prospect: Prospect,
    terr_id: str,
    proposed_on: date | None,
    company_answer: str | None,
    answer_note: str | None = None,
    *,
    today: date | None = None,
) -> ShortlistedPlot:
    """Record when a shortlisted plot was proposed to the company, and what it answered."""
    _require_open_selection(actor, prospect)
    plot = shortlisted_plot(prospect, terr_id)
    check = ValueChecker(
        {
            "proposed_on": proposed_on,
            "company_answer": company_answer or "en_attente",
            "answer_note": answer_note,
        }
    )
    when = check.day("proposed_on")
    answer = check.choice("company_answer", COMPANY_ANSWERS, ANSWER_LABELS)
    note = check.text("answer_note", MAX_ANSWER_NOTE)
    if when is None and "proposed_on" not in check.errors:
        check.errors["proposed_on"] = "Indiquez la date à laquelle le terrain a été proposé."
    elif when is not None and when > (today or date.today()):
        check.errors["proposed_on"] = "La date de la proposition ne peut pas être à venir."
    if check.errors:
        raise ValidationError(check.errors)
    if plot.proposed_on != when:
        details = {"terr_id": terr_id, "proposed_on": when.isoformat()}
        casework.record_event(session, actor, prospect, "proposed_to_company", details=details)
    if (plot.company_answer, plot.answer_note) != (answer, note) and answer != "en_attente":
        details = {"terr_id": terr_id, "answer": answer}
        casework.record_event(session, actor, prospect, "answer", details=details, note=note)
    plot.proposed_on, plot.company_answer, plot.answer_note = when, answer, note
    session.flush()
    return plot


def matched_score(session: Session, prospect: Prospect, terr_id: str) -> float | None:
    """The plot's matching score for the project's needs (0 to 100), None when the plot fails
    a hard constraint or the needs cannot be used: what a shortlist records."""
    try:
        answer = why_not(session, prospect_needs(prospect), terr_id)
    except NeedsError:
        return None
    return None if answer.score is None else answer.score * 100


def prospect_needs(prospect: Prospect) -> Needs:
    """The project's needs for the matching engine, without anything naming the company;
    NeedsError if the stored needs cannot be used (e.g. written by another tool)."""
    return parse_needs(project_needs_data(prospect.needs))
