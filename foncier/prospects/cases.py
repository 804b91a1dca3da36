"""The stage of a company project's case, as a state machine declared as data.

A case goes from first contact to its outcome::

    nouveau   → recherche, visite, offre
    recherche → visite, offre
    visite    → offre, or back to recherche
    offre     → option, installe, or back to recherche
    option    → installe, or back to recherche
    any stage that is not final → perdu

TRANSITIONS says which moves exist; nothing else decides it. The choices, explicit:

- a company that already knows what it wants goes from nouveau straight to a visit or an
  offer (a project received by redirection often does: the search was the sender's);
- a company may receive an offer without a visit (it knows the park), and may buy without an
  option or a compromis de vente (offre → installe); it never buys without an offer;
- after a visit or an offer that did not convince, the search starts again (→ recherche); an
  option that lapses does too, and gives its plot back;
- installe and perdu are final: a company that comes back is a new project.

Only the référents of the lead EPCI move the case (foncier.prospects.casework.require_lead), never
while a redirection waits for an answer. The plot follows: an option reserves it (CNIG
« réservé par option de réservation »), an installation sells it (« vendu, commercialisation
achevée ») and marks it occupied (terr_etat_occup « occupé »); leaving an option any other
way gives the plot back the stage it had before.
Plots change through the ORM, so the inventory's audit trail and the matching data follow;
their audit reason names the project by number only (the inventory's history is read by the
whole network, the company's name is confidential).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import ColumnElement, exists, false, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.exc import StaleDataError

from foncier.core import audit
from foncier.core.db import locked_row
from foncier.core.errors import StaleVersionError, ValidationError
from foncier.core.formulas import formula_problems
from foncier.core.permissions import Actor
from foncier.inventory.editing import SOLD, terrain_for_edit
from foncier.models import CaseEvent, Prospect, Redirection, ShortlistedPlot, Site, Terrain
from foncier.models.codelists import STADES_DISPONIBLES
from foncier.prospects import casework

RESERVED: Final = "réservé par option de réservation"
# A plot a company settled on is occupied (CNIG terr_etat_occup), not only sold.
OCCUPIED: Final = "occupé"
FINAL_STAGES: Final = frozenset({"installe", "perdu"})

# Each label completes « le projet est … » or names a step of it: the masculine agrees with
# « le projet » (« Installé »), not with « l’entreprise ».
STAGE_LABELS: Final = {
    "nouveau": "Nouveau",
    "recherche": "En recherche",
    "visite": "Visite",
    "offre": "Offre",
    "option": "Option ou compromis",
    "installe": "Installé",
    "perdu": "Perdu",
}

# From each stage, the stages the case may move to. Read the module docstring for why.
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "nouveau": frozenset({"recherche", "visite", "offre", "perdu"}),
    "recherche": frozenset({"visite", "offre", "perdu"}),
    "visite": frozenset({"recherche", "offre", "perdu"}),
    "offre": frozenset({"recherche", "option", "installe", "perdu"}),
    "option": frozenset({"recherche", "installe", "perdu"}),
    "installe": frozenset(),
    "perdu": frozenset(),
}

# What a move to each stage must be given (checked by advance_case, asked by the forms).
NEEDS_PLOT: Final = frozenset({"option", "installe"})
NEEDS_DATE_AND_JOBS: Final = frozenset({"installe"})
NEEDS_REASON: Final = frozenset({"perdu"})
# The stage at which a project holds its plot exclusively: one option at a time per plot
# (backed by the partial unique index uq_prospect_one_holder_per_plot). An installed project
# does not hold its plot: once the company leaves and the plot is back « en vente », another
# project may take it; until then the plot is « vendu », which no move accepts.
HOLDS_PLOT: Final = frozenset({"option"})


def allowed_moves(stage: str) -> list[str]:
    """The stages a case at ``stage`` may move to, in the order of a case's life."""
    return [to for to in STAGE_LABELS if to in TRANSITIONS[stage]]


def may_move(stage: str, to_stage: str) -> bool:
    return to_stage in TRANSITIONS.get(stage, frozenset())


@dataclass(frozen=True)
class Move:
    """What the person gives with a move (the forms' fields)."""

    terr_id: str | None = None
    on: date | None = None
    jobs_created: int | None = None
    reason: str | None = None
    note: str | None = None


def advance_case(
    session: Session,
    actor: Actor,
    prospect: Prospect,
    to_stage: str,
    *,
    version: int,
    terr_id: str | None = None,
    on: date | None = None,
    jobs_created: int | None = None,
    reason: str | None = None,
    note: str | None = None,
    today: date | None = None,
) -> CaseEvent:
    """Move the case of ``prospect`` to ``to_stage``, if the machine allows it from its stage.

    ``version`` is the project's version the person saw. Raises PermissionDeniedError (not a
    référent of the lead EPCI, or a plot they may not edit), StaleVersionError (someone moved
    or changed the project meanwhile), ValidationError (a move the machine refuses, a missing
    or wrong input), NotFoundError (no such plot). Flushes; the caller commits.
    """
    move = Move(terr_id, on, jobs_created, _clean(reason), _clean(note))
    casework.require_lead(actor, prospect)
    audit.acting_as(session, actor)
    prospect = _locked_prospect(session, prospect, version)
    _check_move(session, prospect, to_stage, move, today or date.today())
    try:
        with session.begin_nested():
            return _apply_move(session, actor, prospect, to_stage, move)
    except StaleDataError:
        raise StaleVersionError(_STALE_PLOT, prospect) from None
    except IntegrityError as error:
        # Another project took the plot between the check and the write: the index decides.
        if "uq_prospect_one_holder_per_plot" not in str(error.orig):
            raise
        holder = plot_holder(session, move.terr_id or "", besides=prospect.id)
        raise ValidationError({"terr_id": _held_message(holder)}) from None


_STALE_PROJECT: Final = (
    "Quelqu’un a fait avancer ou modifié ce projet pendant que vous le consultiez : rien n’a "
    "été enregistré. Rechargez la page pour voir son étape actuelle."
)
_STALE_PLOT: Final = (
    "Le terrain a été modifié par quelqu’un d’autre au même moment : rien n’a été "
    "enregistré. Rechargez la page et recommencez."
)


def _clean(text: str | None) -> str | None:
    return (text or "").strip() or None


def _locked_prospect(session: Session, prospect: Prospect, version: int) -> Prospect:
    """The project as stored now, locked until the transaction ends: two moves at once are
    serialised, and the second sees the first's version."""
    current = locked_row(session, Prospect, prospect.id)
    if current.version != version:
        raise StaleVersionError(_STALE_PROJECT, current)
    return current


def _check_move(
    session: Session, prospect: Prospect, to_stage: str, move: Move, today: date
) -> None:
    if to_stage not in STAGE_LABELS:
        raise ValidationError({"to_stage": "Étape inconnue."})
    if pending_redirection(session, prospect) is not None:
        raise ValidationError(
            {
                "to_stage": "Une proposition de redirection attend une réponse : le projet "
                "n’avance pas tant qu’elle n’est ni acceptée, ni refusée, ni retirée."
            }
        )
    if not may_move(prospect.stage, to_stage):
        raise ValidationError(
            {
                "to_stage": f"Un projet à l’étape « {STAGE_LABELS[prospect.stage]} » ne peut "
                f"pas passer à l’étape « {STAGE_LABELS[to_stage]} »."
            }
        )
    errors = _missing_inputs(to_stage, move, today)
    if errors:
        raise ValidationError(errors)


def _missing_inputs(to_stage: str, move: Move, today: date) -> dict[str, str]:
    errors = formula_problems({"reason": move.reason, "note": move.note})
    if to_stage in NEEDS_PLOT and not move.terr_id:
        errors["terr_id"] = "Choisissez le terrain."
    if to_stage in NEEDS_DATE_AND_JOBS:
        if move.on is None:
            errors["on"] = "Indiquez la date d’installation."
        elif move.on > today:
            errors["on"] = "La date d’installation ne peut pas être dans le futur."
        if move.jobs_created is None:
            errors["jobs_created"] = "Indiquez le nombre d’emplois créés (0 si aucun)."
        elif move.jobs_created < 0:
            errors["jobs_created"] = "Le nombre d’emplois ne peut pas être négatif."
    if to_stage in NEEDS_REASON and not move.reason:
        errors["reason"] = "Indiquez pourquoi le projet est perdu."
    return errors


def pending_redirection(session: Session, prospect: Prospect) -> Redirection | None:
    """The proposal of this project waiting for an answer, if any (at most one)."""
    return session.scalars(
        select(Redirection).where(
            Redirection.prospect_id == prospect.id, Redirection.status == "proposee"
        )
    ).one_or_none()


def _apply_move(
    session: Session, actor: Actor, prospect: Prospect, to_stage: str, move: Move
) -> CaseEvent:
    details: dict[str, Any] = {"from": prospect.stage, "to": to_stage}
    releases = prospect.stage == "option" and (
        to_stage != "installe" or move.terr_id != prospect.terr_id
    )
    taken = move.terr_id if to_stage in NEEDS_PLOT else None
    plots = _lock_plots(session, actor, [prospect.terr_id if releases else None, taken])
    if releases:
        details |= _release_option(session, prospect, plots)
    # _check_move made sure a move to option or installe names its plot.
    if to_stage == "option":
        details |= _reserve(session, prospect, plots[move.terr_id or ""])
    elif to_stage == "installe":
        details |= _install(session, prospect, plots[move.terr_id or ""], move)
    elif to_stage == "perdu":
        prospect.lost_reason = move.reason
        details["reason"] = move.reason
    prospect.stage = to_stage
    with audit.reason(session, f"Étape « {STAGE_LABELS[to_stage]} »"):
        event = casework.record_event(
            session, actor, prospect, "stage_changed", details=details, note=move.note
        )
    return event


def _lock_plots(session: Session, actor: Actor, terr_ids: list[str | None]) -> dict[str, Terrain]:
    """The plots a move touches, by id, locked in terr_id order. A move that leaves an option
    on one plot for another locks two: were each move to lock its old plot first, A leaving T1
    for T2 while B leaves T2 for T1 would wait for each other forever (a deadlock)."""
    return {
        terr_id: _plot_for_case(session, actor, terr_id)
        for terr_id in sorted({terr_id for terr_id in terr_ids if terr_id})
    }


def _plot_for_case(session: Session, actor: Actor, terr_id: str) -> Terrain:
    """The plot, locked, if the actor may edit it: as only the lead's référents move a case,
    that is a plot of the lead EPCI (PermissionDeniedError otherwise)."""
    terrain_for_edit(session, actor, terr_id)
    return locked_row(session, Terrain, terr_id)


def plot_holder(session: Session, terr_id: str, *, besides: int) -> int | None:
    """The number of the project other than ``besides`` that holds the plot under option, if
    any."""
    return session.scalar(
        select(Prospect.id).where(
            Prospect.terr_id == terr_id,
            Prospect.stage.in_(HOLDS_PLOT),
            Prospect.id != besides,
        )
    )


def _held_message(holder: int | None) -> str:
    number = f" (n° {holder})" if holder is not None else ""
    return f"Ce terrain est déjà sous option pour un autre projet{number}."


# --- the plot a move names: the form's choices and the check, one rule -----------------------


def _plot_conditions(prospect: Prospect, to_stage: str) -> tuple[ColumnElement[bool], ...]:
    """What makes a plot (a Terrain row joined to its Site) one a move of ``prospect`` to
    ``to_stage`` may name: a plot of the lead EPCI, that no other project holds under option
    (whatever its marketing stage says: someone may have put it back « en vente » by hand),
    on sale — or, for an installation, the plot this project holds under option."""
    holder = aliased(Prospect)
    held_elsewhere = exists().where(
        holder.terr_id == Terrain.terr_id, holder.stage.in_(HOLDS_PLOT), holder.id != prospect.id
    )
    optioned = (
        (Terrain.terr_id == prospect.terr_id) & (Terrain.terr_stade_comm == RESERVED)
        if to_stage == "installe" and prospect.terr_id
        else false()
    )
    return (
        Site.site_epci_siren == prospect.lead_epci_siren,
        ~held_elsewhere,
        Terrain.terr_stade_comm.in_(STADES_DISPONIBLES) | optioned,
    )


@dataclass(frozen=True)
class MovePlot:
    terr_id: str
    park: str
    surface_ha: Decimal
    kept: bool  # in the project's selection


def move_plots(session: Session, actor: Actor, prospect: Prospect, to_stage: str) -> list[MovePlot]:
    """The plots a move of ``prospect`` to ``to_stage`` may name — exactly those advance_case
    accepts: the plot under option for this project first, then those kept for it, then the
    lead EPCI's others, by id. PermissionDeniedError for anyone but the lead."""
    casework.require_lead(actor, prospect)
    kept = select(ShortlistedPlot.terr_id).where(ShortlistedPlot.prospect_id == prospect.id)
    rows = session.execute(
        select(Terrain.terr_id, Site.site_nom, Terrain.terr_surf_brute, Terrain.terr_id.in_(kept))
        .join(Site)
        .where(*_plot_conditions(prospect, to_stage))
        .order_by(
            Terrain.terr_id != (prospect.terr_id or ""),
            Terrain.terr_id.not_in(kept),
            Terrain.terr_id,
        )
    )
    return [MovePlot(*row) for row in rows]


def _require_nameable(
    session: Session, prospect: Prospect, to_stage: str, terrain: Terrain
) -> None:
    """Refuse a plot move_plots would not offer: the same conditions, read on the plot's row
    (locked by then: two moves onto one plot wait for each other, the second sees the first)."""
    of_lead, free, on_offer = session.execute(
        select(*_plot_conditions(prospect, to_stage))
        .select_from(Terrain)
        .join(Site)
        .where(Terrain.terr_id == terrain.terr_id)
    ).one()
    if not free:
        holder = plot_holder(session, terrain.terr_id, besides=prospect.id)
        raise ValidationError({"terr_id": _held_message(holder)})
    if not of_lead:
        raise ValidationError({"terr_id": "Ce terrain n’est pas de l’EPCI qui suit le projet."})
    if not on_offer:
        raise ValidationError(
            {"terr_id": f"Ce terrain n’est pas en vente (il est « {terrain.terr_stade_comm} »)."}
        )


def _reserve(session: Session, prospect: Prospect, terrain: Terrain) -> dict[str, Any]:
    _require_nameable(session, prospect, "option", terrain)
    before = terrain.terr_stade_comm
    _set_plot_stage(session, terrain, RESERVED, f"Option posée (projet n° {prospect.id})")
    prospect.terr_id = terrain.terr_id
    return {"terr_id": terrain.terr_id, "plot_stage_before": before}


def _install(session: Session, prospect: Prospect, terrain: Terrain, move: Move) -> dict[str, Any]:
    _require_nameable(session, prospect, "installe", terrain)
    before = terrain.terr_stade_comm
    _set_plot_stage(
        session,
        terrain,
        SOLD,
        f"Installation d’entreprise (projet n° {prospect.id})",
        occupation=OCCUPIED,
    )
    prospect.terr_id = terrain.terr_id
    prospect.installed_on = move.on
    prospect.jobs_created = move.jobs_created
    return {
        "terr_id": terrain.terr_id,
        "plot_stage_before": before,
        "installed_on": move.on.isoformat() if move.on else None,
        "jobs_created": move.jobs_created,
    }


def _release_option(
    session: Session, prospect: Prospect, plots: dict[str, Terrain]
) -> dict[str, Any]:
    """Give the optioned plot back the stage it had before the option, if it is still
    reserved (someone may have changed it since: then it is left as it is)."""
    terr_id = prospect.terr_id
    prospect.terr_id = None
    if terr_id is None:
        return {}
    terrain = plots[terr_id]
    if terrain.terr_stade_comm != RESERVED:
        return {"released_terr_id": terr_id, "plot_stage_restored": None}
    restored = _stage_before_option(session, prospect, terr_id)
    _set_plot_stage(session, terrain, restored, f"Option levée (projet n° {prospect.id})")
    return {"released_terr_id": terr_id, "plot_stage_restored": restored}


def _stage_before_option(session: Session, prospect: Prospect, terr_id: str) -> str:
    events = session.scalars(
        select(CaseEvent)
        .where(CaseEvent.prospect_id == prospect.id, CaseEvent.kind == "stage_changed")
        .order_by(CaseEvent.id.desc())
    )
    for event in events:
        if event.details.get("to") == "option" and event.details.get("terr_id") == terr_id:
            return str(event.details.get("plot_stage_before") or STADES_DISPONIBLES[0])
    return STADES_DISPONIBLES[0]


def _set_plot_stage(
    session: Session, terrain: Terrain, stage: str, reason: str, *, occupation: str | None = None
) -> None:
    """Change the plot's marketing stage (and its occupation, if given) in one audited
    change, labelled ``reason``."""
    with audit.reason(session, reason):
        terrain.terr_stade_comm = stage
        if occupation is not None:
            terrain.terr_etat_occup = occupation
        terrain.terr_actu_date = date.today()


def settled_project(session: Session, actor: Actor, terr_id: str) -> int | None:
    """The number of the project whose company settled on the plot, for someone in the know
    of it; None for everyone else (that a project settled there is the company's business).
    A plot that several companies settled on in turn names the latest."""
    projects = session.scalars(
        select(Prospect)
        .where(Prospect.terr_id == terr_id, Prospect.stage == "installe")
        .order_by(Prospect.installed_on.desc().nulls_last(), Prospect.id.desc())
    )
    for prospect in projects:
        if casework.may_see_company(session, actor, prospect):
            return prospect.id
    return None
