"""The case panel of a project page: its stage, its redirections, and the forms of what the
person may do now (move the case, propose the project to another EPCI). The case's path is
worded by foncier.redirections.case_steps.

The project page (blueprint ``prospects``) merges ``case_panel(...)`` into its context and
includes templates/prospects/_case.html. The forms post to this blueprint's routes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from flask import current_app, url_for
from sqlalchemy.orm import Session
from wtforms import SelectChoice

from foncier.agreements.reading import CoveringAgreement, agreements_for_redirections
from foncier.agreements.rules import may_negotiate
from foncier.core.french import between, epci_named
from foncier.core.permissions import Actor
from foncier.models import Prospect, Redirection
from foncier.prospects import cases, casework
from foncier.redirections import proposals
from foncier.territory.epcis import epci_names
from foncier.web.formatting import display
from foncier.web.redirections.forms import RedirectForm, StageForm

REDIRECT_PREFIX: Final = "redirection"
MOVE_BUTTONS: Final = {
    "recherche": "Reprendre la recherche",
    "visite": "Noter une visite",
    "offre": "Noter une offre faite à l’entreprise",
    "option": "Poser une option (ou un compromis)",
    "installe": "Marquer l’entreprise installée",
    "perdu": "Classer le projet comme perdu",
}
# A search that never started is not resumed.
FIRST_MOVE_BUTTONS: Final = {("nouveau", "recherche"): "Commencer la recherche"}


def move_button(from_stage: str, to_stage: str) -> str:
    """The words of the button that moves a case from ``from_stage`` to ``to_stage``."""
    return FIRST_MOVE_BUTTONS.get((from_stage, to_stage), MOVE_BUTTONS[to_stage])


@dataclass(frozen=True)
class StageMove:
    stage: str
    label: str
    button: str
    form: StageForm
    needs_plot: bool
    needs_date_and_jobs: bool
    needs_reason: bool


@dataclass(frozen=True)
class AgreementLink:
    """An accepted redirection of an installed project, and its agreement: the one that
    covers it (``covering``, linked), or where to record one (``url``)."""

    redirection: Redirection
    # The other party, seen from the person (« avec Tours Métropole Val de Loire »), or both
    # for someone of neither EPCI — the coordinateur, an EPCI that declined the project
    # earlier (« entre … et … »).
    with_whom: str
    url: str
    covering: CoveringAgreement | None = None


@dataclass(frozen=True)
class CasePanel:
    prospect: Prospect
    stage_label: str
    # Whether the person reads the company's side of the case (path, messages, forms).
    in_the_know: bool
    may_lead: bool
    redirections: list[Redirection] = field(default_factory=list)
    pending: Redirection | None = None
    redirect_form: RedirectForm | None = None
    moves: list[StageMove] = field(default_factory=list)
    agreement_links: list[AgreementLink] = field(default_factory=list)
    epci_names: dict[str, str] = field(default_factory=dict)


def case_panel(session: Session, actor: Actor, prospect: Prospect) -> dict[str, Any]:
    """The context of templates/prospects/_case.html, under the key ``case``."""
    stage_label = cases.STAGE_LABELS[prospect.stage]
    if not casework.may_see_company(session, actor, prospect):
        return {"case": CasePanel(prospect, stage_label, in_the_know=False, may_lead=False)}
    names = epci_names(session)
    pending = cases.pending_redirection(session, prospect)
    leads = casework.may_lead(actor, prospect)
    # The lead acts on the case, unless a proposal waits for its answer.
    acts = leads and pending is None
    return {
        "case": CasePanel(
            prospect,
            stage_label,
            in_the_know=True,
            may_lead=leads,
            redirections=list(prospect.redirections),
            pending=pending,
            redirect_form=redirect_form(session, actor, prospect) if acts else None,
            moves=stage_moves(session, actor, prospect) if acts else [],
            agreement_links=agreement_links(session, actor, prospect, names),
            epci_names=names,
        )
    }


def redirect_form(session: Session, actor: Actor, prospect: Prospect) -> RedirectForm | None:
    """The proposal form, its choices filled; None when the case can no longer move away."""
    if prospect.stage in proposals.NOT_REDIRECTABLE:
        return None
    form = RedirectForm(formdata=None, prefix=REDIRECT_PREFIX)
    fill_redirect_choices(session, actor, form, prospect)
    return form


def fill_redirect_choices(
    session: Session, actor: Actor, form: RedirectForm, prospect: Prospect
) -> None:
    """The EPCIs and the plots the core accepts in a proposal (proposals.proposal_targets,
    proposals.offerable_plots)."""
    targets = proposals.proposal_targets(session, actor, prospect)
    form.to_epci_siren.choices = [
        SelectChoice("", "Choisissez un EPCI"),
        *(SelectChoice(siren, nom) for siren, nom in targets),
    ]
    form.terr_ids.choices = [
        SelectChoice(plot.terr_id, f"{plot.terr_id} — {plot.park} ({plot.epci_nom})")
        for plot in proposals.offerable_plots(session, actor, prospect)
    ]


def stage_moves(session: Session, actor: Actor, prospect: Prospect) -> list[StageMove]:
    return [
        stage_move(session, actor, prospect, stage, StageForm(formdata=None, prefix=stage))
        for stage in cases.allowed_moves(prospect.stage)
    ]


def stage_move(
    session: Session, actor: Actor, prospect: Prospect, stage: str, form: StageForm
) -> StageMove:
    """One move's form to render (``form`` may carry what the person typed), its choices and
    its version filled. Only for rendering: a posted form must carry the version it was read
    at, or the stale-version check would compare the project with itself."""
    if form.version.data is None:
        form.version.data = prospect.version
    if stage in cases.NEEDS_PLOT:
        form.terr_id.choices = plot_choices(session, actor, prospect, stage)
        if form.terr_id.data is None and prospect.terr_id:
            form.terr_id.data = prospect.terr_id
    return StageMove(
        stage,
        cases.STAGE_LABELS[stage],
        move_button(prospect.stage, stage),
        form,
        needs_plot=stage in cases.NEEDS_PLOT,
        needs_date_and_jobs=stage in cases.NEEDS_DATE_AND_JOBS,
        needs_reason=stage in cases.NEEDS_REASON,
    )


def plot_choices(
    session: Session, actor: Actor, prospect: Prospect, stage: str
) -> list[SelectChoice]:
    """The plots the core accepts in a move to ``stage`` (cases.move_plots), marked."""
    choices = [SelectChoice("", "Choisissez un terrain")]
    for plot in cases.move_plots(session, actor, prospect, stage):
        mark = (
            " — sous option pour ce projet"
            if plot.terr_id == prospect.terr_id
            else (" — retenu pour ce projet" if plot.kept else "")
        )
        label = f"{plot.terr_id} — {plot.park}, {display(plot.surface_ha, 'ha')}{mark}"
        choices.append(SelectChoice(plot.terr_id, label))
    return choices


def agreement_links(
    session: Session, actor: Actor, prospect: Prospect, names: dict[str, str]
) -> list[AgreementLink]:
    """Once a redirected company is installed: for each accepted redirection, the agreement
    that covers it (for everyone in the know), or where to record one — only for whoever may
    negotiate it (agreements.may_negotiate: a référent of one of its two EPCIs, or the
    coordinateur), as the form would refuse the others (when the agreements feature is
    there)."""
    if prospect.stage != "installe" or "agreements.new" not in current_app.view_functions:
        return []
    accepted = [r for r in prospect.redirections if r.status == "acceptee"]
    covering = agreements_for_redirections(session, [r.id for r in accepted])
    links = []
    for redirection in accepted:
        agreement = covering.get(redirection.id)
        if agreement is not None and agreement.live:
            url = url_for("agreements.detail", agreement_id=agreement.id)
        elif may_negotiate(actor, {redirection.from_epci_siren, redirection.to_epci_siren}):
            agreement, url = None, url_for("agreements.new", redirection=redirection.id)
        else:
            continue
        links.append(
            AgreementLink(redirection, _with_whom(actor, redirection, names), url, agreement)
        )
    return links


def _with_whom(actor: Actor, redirection: Redirection, names: dict[str, str]) -> str:
    ends = (redirection.from_epci_siren, redirection.to_epci_siren)
    if actor.epci_siren in ends:
        other = ends[1] if actor.epci_siren == ends[0] else ends[0]
        return f"avec {epci_named(names[other])}"
    return between([names[siren] for siren in ends])
