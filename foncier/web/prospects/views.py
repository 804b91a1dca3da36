"""The project pages: list, new project, project page, edit, matching, shortlist, exports.

Thin: foncier.prospects.projects decides who reads what (the company in clear or the anonymised
card), who may change a project (its lead EPCI's référents) and whether values hold together; these
views read the forms and lay the answers out. Every write route checks the right on GET too,
so that nobody is shown a form the core would refuse.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any, Final

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from foncier.core.db import get_or_raise
from foncier.core.errors import (
    PermissionDeniedError,
    StaleVersionError,
    ValidationError,
)
from foncier.core.permissions import Actor
from foncier.matching import DEFAULT_WEIGHTS, MatchResult, NeedsError
from foncier.models import Prospect
from foncier.prospects import exports, projects, reading, search_log, shortlist
from foncier.prospects.cases import FINAL_STAGES
from foncier.redirections.case_steps import case_steps
from foncier.territory.epcis import epci_names, list_epcis
from foncier.web.auth import current_actor
from foncier.web.database import db_session
from foncier.web.downloads import CSV_TYPE, XLSX_TYPE, attachment
from foncier.web.matching.explaining import ranking, scan
from foncier.web.prospects.forms import (
    EDITABLE,
    ActionForm,
    ProposalForm,
    ProspectForm,
    ProspectListForm,
    ShortlistForm,
    needs_fields,
    needs_summary,
    search_parameters,
)
from foncier.web.redirections.panel import case_panel

prospects = Blueprint("prospects", __name__)

INVALID: Final = 400
CONFLICT: Final = 409
# Plots the project page ranks: enough to choose from; the search page shows more.
RANKED: Final = 20
# --- the list and its exports -----------------------------------------------------------------


def _list_form(session: Session) -> tuple[ProspectListForm, bool]:
    form = ProspectListForm(formdata=request.args)
    form.set_epcis(list_epcis(session))
    return form, form.validate()


@prospects.get("/projets")
def index() -> tuple[str, int]:
    session, actor = db_session(), current_actor()
    form, valid = _list_form(session)
    page = reading.list_prospects(session, actor, form.criteria(), page=form.page_number())
    return render_template(
        "prospects/list.html",
        form=form,
        page=page,
        filters=form.filters(),
        may_record=_may_record(actor),
    ), (200 if valid else INVALID)


def _may_record(actor: Actor) -> bool:
    try:
        projects.require_recorder(actor)
    except PermissionDeniedError:
        return False
    return True


def _export_name(extension: str) -> str:
    return f"projets-{date.today().isoformat()}.{extension}"


@prospects.get("/projets/export.csv")
def export_csv() -> Response:
    session, actor = db_session(), current_actor()
    form, _ = _list_form(session)
    out = io.StringIO(newline="")
    exports.export_prospects_csv(session, actor, out, form.criteria())
    return attachment(out.getvalue().encode("utf-8"), CSV_TYPE, _export_name("csv"))


@prospects.get("/projets/export.xlsx")
def export_xlsx() -> Response:
    session, actor = db_session(), current_actor()
    form, _ = _list_form(session)
    content = exports.export_prospects_xlsx(session, actor, form.criteria())
    return attachment(content, XLSX_TYPE, _export_name("xlsx"))


# --- recording and editing --------------------------------------------------------------------


def _submitted(form: ProspectForm) -> bool:
    """Whether the form was sent and every value holds: the form's own reading, then the
    core's checks (both sets of messages are shown at once)."""
    if not form.is_submitted():
        return False
    form.validate()
    try:
        projects.checked_values(form.values())
    except ValidationError as error:
        form.add_errors(error.errors)
    return not form.has_errors()


def _form_page(form: ProspectForm, prospect: Prospect | None, **context: Any) -> str:
    return render_template(
        "prospects/form.html",
        form=form,
        prospect=prospect,
        retention_years=projects.RETENTION_YEARS,
        default_weights=DEFAULT_WEIGHTS,
        **context,
    )


@prospects.route("/projets/nouveau", methods=["GET", "POST"])
def create() -> Any:
    session, actor = db_session(), current_actor()
    projects.require_recorder(actor)
    form = ProspectForm()
    if not form.is_submitted():
        form.contact_retention_until.data = projects.retention_limit(date.today())
    if _submitted(form):
        prospect = projects.create_prospect(session, actor, form.values())
        flash(f"Projet « {prospect.company_name} » enregistré.", "succes")
        return redirect(url_for("prospects.show", prospect_id=prospect.id))
    return _form_page(form, None), (INVALID if form.has_errors() else 200)


def _form_data(prospect: Prospect) -> dict[str, Any]:
    data = {name: getattr(prospect, name) for name in EDITABLE}
    if prospect.investment_eur is not None:  # « 2400000 », not « 2400000.00 »
        data["investment_eur"] = format(prospect.investment_eur.normalize(), "f")
    return {**data, "needs": needs_fields(prospect.needs), "version": prospect.version}


@prospects.route("/projets/<int:prospect_id>/modifier", methods=["GET", "POST"])
def edit(prospect_id: int) -> Any:
    session, actor = db_session(), current_actor()
    prospect = projects.prospect_for_lead(session, actor, prospect_id)
    form = ProspectForm(data=_form_data(prospect))
    if _submitted(form):
        try:
            projects.update_prospect(
                session, actor, prospect, form.values(), form.version.data or 0
            )
        except StaleVersionError as stale:
            # The form keeps this person's values and now carries the version saved since:
            # saving again applies them knowingly over the other change.
            form.version.data = prospect.version
            return _form_page(form, prospect, conflict=str(stale)), CONFLICT
        flash("Projet enregistré.", "succes")
        return redirect(url_for("prospects.show", prospect_id=prospect_id))
    return _form_page(form, prospect), (INVALID if form.has_errors() else 200)


# --- the project page -------------------------------------------------------------------------


@prospects.get("/projets/<int:prospect_id>")
def show(prospect_id: int) -> str:
    session, actor = db_session(), current_actor()
    view = reading.prospect_view(session, actor, prospect_id)
    context: dict[str, Any] = {"view": view}
    if isinstance(view, reading.ProspectView):
        context.update(_full_page(session, view))
    # The case panel decides itself what each person reads of redirections.
    context.update(case_panel(session, actor, get_or_raise(session, Prospect, prospect_id)))
    return render_template("prospects/prospect.html", **context)


def _full_page(session: Session, view: reading.ProspectView) -> dict[str, Any]:
    prospect = view.prospect
    proposals = {
        plot.terr_id: ProposalForm(
            formdata=None,
            proposed_on=plot.proposed_on,
            company_answer=plot.company_answer or "en_attente",
            answer_note=plot.answer_note,
            prefix=f"proposition-{plot.id}",
        )
        for plot in prospect.shortlist
    }
    return {
        "prospect": prospect,
        "shortlist": prospect.shortlist,
        "plots": shortlist.kept_terrains(session, prospect),
        "proposals": proposals,
        "remove_form": ActionForm(),
        "path": case_steps(session, prospect),
        "answer_labels": projects.ANSWER_LABELS,
        **_needs_context(prospect),
    }


def _needs_context(prospect: Prospect) -> dict[str, Any]:
    """The needs' summary and the search link; empty when the stored needs are unusable."""
    try:
        shortlist.prospect_needs(prospect)
    except NeedsError:
        return {"needs_summary": [], "search_parameters": {}}
    return {
        "needs_summary": needs_summary(prospect.needs),
        "search_parameters": search_parameters(prospect.needs),
    }


@prospects.get("/projets/<int:prospect_id>/terrains")
def plots(prospect_id: int) -> tuple[str, int]:
    """The matching with the project's needs, and a « Garder » button per plot; the run goes to
    the search log (the exposure of the network's balances)."""
    session, actor = db_session(), current_actor()
    prospect = projects.prospect_for_lead(session, actor, prospect_id)
    result: MatchResult | None = None
    unusable: list[str] = []
    try:
        needs = shortlist.prospect_needs(prospect)
    except NeedsError as error:
        unusable = [issue.french for issue in error.issues]
    else:
        result = ranking(session, scan(session, needs), RANKED)
        search_log.log_search(session, prospect, result)
    return render_template(
        "prospects/plots.html",
        prospect=prospect,
        result=result,
        unusable=unusable,
        kept={plot.terr_id for plot in prospect.shortlist},
        closed=prospect.stage in FINAL_STAGES,
        epci_names=epci_names(session),
        shortlist_form=ShortlistForm(),
        search_parameters=search_parameters(prospect.needs),
    ), (200 if result else INVALID)


# --- the shortlist ----------------------------------------------------------------------------


def _back_to_project(prospect_id: int, anchor: str = "selection") -> BaseResponse:
    return redirect(url_for("prospects.show", prospect_id=prospect_id, _anchor=anchor))


def _change_selection(change: Callable[[], object], done: str) -> None:
    """Make the change and say so, or say why the core refused it (a closed case)."""
    try:
        change()
    except ValidationError as error:
        flash(" ".join(error.errors.values()), "erreur")
    else:
        flash(done, "succes")


@prospects.post("/projets/<int:prospect_id>/selection")
def keep_plot(prospect_id: int) -> BaseResponse:
    session, actor = db_session(), current_actor()
    prospect = projects.prospect_for_lead(session, actor, prospect_id)
    form = ShortlistForm()
    terr_id = (form.terr_id.data or "").strip()
    score = shortlist.matched_score(session, prospect, terr_id) if terr_id else None
    _change_selection(
        lambda: shortlist.shortlist_plot(session, actor, prospect, terr_id, score),
        f"Terrain {terr_id} retenu pour le projet.",
    )
    if request.form.get("retour") == "resultats":
        # Kept from the project's results: back to them, at that plot, to keep another.
        return redirect(
            url_for("prospects.plots", prospect_id=prospect_id, _anchor=f"terrain-{terr_id}")
        )
    return _back_to_project(prospect_id)


@prospects.post("/projets/<int:prospect_id>/selection/<terr_id>/retirer")
def remove_plot(prospect_id: int, terr_id: str) -> BaseResponse:
    session, actor = db_session(), current_actor()
    prospect = projects.prospect_for_lead(session, actor, prospect_id)
    _change_selection(
        lambda: shortlist.remove_from_shortlist(session, actor, prospect, terr_id),
        f"Terrain {terr_id} retiré de la sélection.",
    )
    return _back_to_project(prospect_id)


@prospects.post("/projets/<int:prospect_id>/selection/<terr_id>/proposition")
def record_proposal(prospect_id: int, terr_id: str) -> Any:
    session, actor = db_session(), current_actor()
    prospect = projects.prospect_for_lead(session, actor, prospect_id)
    plot = shortlist.shortlisted_plot(prospect, terr_id)
    form = ProposalForm(prefix=f"proposition-{plot.id}")
    form.validate()
    if not form.errors:
        try:
            shortlist.record_proposal(
                session, actor, prospect, terr_id, form.proposed_on.data,
                form.company_answer.data, form.answer_note.data,
            )  # fmt: skip
        except ValidationError as error:
            unplaced = form.add_errors(error.errors)
            if unplaced:  # nothing to correct in the form: say why, on the project page
                flash(" ".join(unplaced), "erreur")
                return _back_to_project(prospect_id, f"selection-{terr_id}")
    if form.errors:
        # The project page again, this form keeping what was typed, with its messages.
        view = reading.prospect_view(session, actor, prospect_id)
        assert isinstance(view, reading.ProspectView)  # the lead reads the company
        context = _full_page(session, view)
        context["proposals"][terr_id] = form
        context.update(case_panel(session, actor, prospect))
        return render_template("prospects/prospect.html", view=view, **context), INVALID
    flash(f"Proposition du terrain {terr_id} enregistrée.", "succes")
    return _back_to_project(prospect_id, f"selection-{terr_id}")
