"""Views that change the inventory: parks, plots, quick status changes, owners, and history.

Thin: the forms type what people send, foncier.inventory.editing checks rights, versions and values
and writes, foncier.inventory.history reads the audit trail. Every write route also checks the right
on GET, so that nobody is shown a form the core would refuse. Pages answer 400 with the form and its
messages when the values are refused, 409 when someone else saved the record in between.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, Final, TypeVar

from flask import Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy.orm import Session

from foncier.core.errors import StaleVersionError, ValidationError
from foncier.core.permissions import Actor
from foncier.inventory import editing, history, owners, parks, plot_status, plots
from foncier.inventory.plot_status import STATUS_CHANGES, Sale, StatusAction
from foncier.models import Owner, Site, Terrain
from foncier.models.codelists import STADE_COMM_COLOURS
from foncier.territory.epcis import list_epcis
from foncier.web.auth import current_actor
from foncier.web.database import db_session
from foncier.web.downloads import CSV_TYPE, attachment
from foncier.web.inventory.edit_forms import (
    ConfirmForm,
    EditForm,
    OwnerForm,
    SiteForm,
    StatusForm,
    TerrainForm,
)
from foncier.web.inventory.geometry_field import site_context, terrain_context
from foncier.web.inventory.views import inventory

INVALID: Final = 400
CONFLICT: Final = 409
T = TypeVar("T")


def _status(form: EditForm | StatusForm) -> int:
    return INVALID if form.errors or form.form_errors else 200


def _submit(
    session: Session,
    actor: Actor,
    form: EditForm,
    save: Callable[..., T],
    *keys: Any,
    versioned: bool = False,
) -> tuple[T | None, dict[str, Any] | None]:
    """Save a submitted, valid ``form`` with ``save(session, actor, *keys, values)``, given the
    version the form was loaded from when ``versioned``. Returns what ``save`` returns, else
    None with the core's messages beside the fields, or the conflict when someone else saved
    the record in between."""
    if not form.validate_on_submit():
        return None, None
    version = {"expected_version": _loaded_version(form)} if versioned else {}
    try:
        return save(session, actor, *keys, form.values(), **version), None
    except ValidationError as error:
        form.add_errors(error.errors)
        return None, None
    except StaleVersionError as stale:
        return None, _conflict(session, actor, form, stale)


def _loaded_version(form: EditForm | StatusForm) -> int:
    """The version of the record the form was loaded from."""
    return form.version.data or 0


def _saved(message: str, surface: editing.SurfaceCheck | None = None) -> None:
    flash(message, "succes")
    if surface is not None and surface.warning:
        flash(surface.warning, "info")


# --- parks ---------------------------------------------------------------------------------


@inventory.route("/sites/nouveau", methods=["GET", "POST"])
def create_site() -> Any:
    session, actor = db_session(), current_actor()
    communes = editing.editable_communes(session, actor)
    if not communes:
        actor.require_edit(actor.epci_siren, "l’inventaire")  # explains the refusal
    form = SiteForm()
    form.set_communes(communes)
    saved, _ = _submit(session, actor, form, parks.create_site)
    if saved is not None:
        _saved(f"Parc « {saved.record.site_nom} » créé.", saved.surface)
        return redirect(url_for("inventory.site", site_id=saved.record.site_id))
    page = _site_page(session, form, site=None, epci_siren=actor.epci_siren)
    return page, _status(form)


@inventory.route("/sites/<site_id>/modifier", methods=["GET", "POST"])
def edit_site(site_id: str) -> Any:
    session, actor = db_session(), current_actor()
    site = editing.site_for_edit(session, actor, site_id)
    form = SiteForm(obj=site)
    form.set_communes(editing.editable_communes(session, actor))
    saved, conflict = _submit(session, actor, form, parks.update_site, site_id, versioned=True)
    if saved is not None:
        _saved(f"Parc « {saved.record.site_nom} » enregistré.", saved.surface)
        return redirect(url_for("inventory.site", site_id=site_id))
    page = _site_page(session, form, site=site, epci_siren=site.site_epci_siren, conflict=conflict)
    return page, CONFLICT if conflict else _status(form)


def _site_page(session: Session, form: SiteForm, *, site: Site | None, epci_siren: str | None,
               conflict: dict[str, Any] | None = None) -> str:  # fmt: skip
    geometry = form.site_geomsurf.data
    surface = editing.surface_check(form.site_surf_brute.data, geometry) if geometry else None
    return render_template(
        "inventory/site_edit.html",
        form=form,
        site=site,
        geometry_context=site_context(session, epci_siren),
        surface=surface,
        conflict=conflict,
    )


# --- plots ---------------------------------------------------------------------------------


@inventory.route("/sites/<site_id>/terrains/nouveau", methods=["GET", "POST"])
def create_terrain(site_id: str) -> Any:
    session, actor = db_session(), current_actor()
    site = editing.site_for_edit(session, actor, site_id)
    form = TerrainForm()
    saved, _ = _submit(session, actor, form, plots.create_terrain, site_id)
    if saved is not None:
        _saved(f"Terrain {saved.record.terr_id} créé.", saved.surface)
        return redirect(url_for("inventory.terrain", terr_id=saved.record.terr_id))
    return _terrain_page(form, site=site, terrain=None), _status(form)


@inventory.route("/terrains/<terr_id>/modifier", methods=["GET", "POST"])
def edit_terrain(terr_id: str) -> Any:
    session, actor = db_session(), current_actor()
    terrain = editing.terrain_for_edit(session, actor, terr_id)
    form = TerrainForm(obj=terrain)
    saved, conflict = _submit(session, actor, form, plots.update_terrain, terr_id, versioned=True)
    if saved is not None:
        _saved(f"Terrain {terr_id} enregistré.", saved.surface)
        return redirect(url_for("inventory.terrain", terr_id=terr_id))
    page = _terrain_page(form, site=terrain.site, terrain=terrain, conflict=conflict)
    return page, CONFLICT if conflict else _status(form)


def _terrain_page(form: TerrainForm, *, site: Site, terrain: Terrain | None,
                  conflict: dict[str, Any] | None = None) -> str:  # fmt: skip
    geometry = form.terr_geomsurf.data
    surface = editing.surface_check(form.terr_surf_brute.data, geometry) if geometry else None
    terr_id = terrain.terr_id if terrain else None
    return render_template(
        "inventory/terrain_edit.html",
        form=form,
        site=site,
        terrain=terrain,
        geometry_context=terrain_context(site.site_id, terr_id),
        surface=surface,
        conflict=conflict,
    )


def _conflict(
    session: Session, actor: Actor, form: EditForm | StatusForm, stale: StaleVersionError
) -> dict[str, Any]:
    """What the page shows of the other person's save. An edit form is rebuilt on the record
    as it is now with this person's own changes on top (see _rebase), and carries the version
    saved now: saving it again keeps the other change and applies these, knowingly."""
    loaded = _loaded_version(form)
    current = stale.current
    assert isinstance(current, Site | Terrain | Owner)
    clashes = _rebase(session, form, current, loaded) if isinstance(form, EditForm) else {}
    form.version.data = current.version
    return {
        "message": str(stale),
        "changes": history.changes_since(session, actor, current, loaded),
        "rebased": isinstance(form, EditForm),
        "clashes": clashes,
    }


def _rebase(
    session: Session, form: EditForm, current: Site | Terrain | Owner, loaded: int
) -> dict[str, str]:
    """Put back in ``form`` the current values of the fields only others changed since
    ``loaded`` (the person left them as loaded); keep the fields the person changed. Returns
    the French note of each field both changed, with the other value."""
    rebased = editing.rebase_edit(session, current, loaded, form.values())
    for name in rebased.from_current:
        form[name].process(None, getattr(current, name))
        form[name].raw_data = []  # shown from the data now, not from what was posted
    return {name: clash.message for name, clash in rebased.clashes.items()}


# --- quick status changes ------------------------------------------------------------------


@inventory.route("/terrains/<terr_id>/statut", methods=["GET", "POST"])
def change_status(terr_id: str) -> Any:
    """GET: the confirmation step of the change in ``?action=``; POST: the change."""
    session, actor = db_session(), current_actor()
    terrain = editing.terrain_for_edit(session, actor, terr_id)
    try:
        change = STATUS_CHANGES[StatusAction(request.values.get("action", ""))]
    except ValueError:
        abort(400, description="Action inconnue.")
    form = StatusForm(data={"version": terrain.version})
    conflict = None
    if form.validate_on_submit():
        try:
            plot_status.change_terrain_status(
                session, actor, terr_id, change.action,
                expected_version=_loaded_version(form), sale=_sale(form, change.needs_sale),
            )  # fmt: skip
        except ValidationError as error:
            for name, message in error.errors.items():
                form[name].errors = [*form[name].errors, message]
        except StaleVersionError as stale:
            conflict = _conflict(session, actor, form, stale)
        else:
            flash(f"Terrain {terr_id} : {change.confirmation.lower()}.", "succes")
            return redirect(url_for("inventory.terrain", terr_id=terr_id))
    page = render_template(
        "inventory/status_confirm.html",
        form=form,
        terrain=terrain,
        change=change,
        clears_sale=plot_status.clears_sale(terrain, change),
        conflict=conflict,
        colours=STADE_COMM_COLOURS,
    )
    return page, CONFLICT if conflict else (INVALID if form.errors else 200)


def _sale(form: StatusForm, needed: bool) -> Sale | None:
    if not needed:
        return None
    return Sale(form.terr_acquereur.data, form.terr_cession_date.data, form.terr_vente_montant.data)


# --- owners --------------------------------------------------------------------------------


@inventory.route("/terrains/<terr_id>/proprietaires/nouveau", methods=["GET", "POST"])
def add_owner(terr_id: str) -> Any:
    session, actor = db_session(), current_actor()
    terrain = editing.terrain_for_edit(session, actor, terr_id)
    form = OwnerForm()
    added, _ = _submit(session, actor, form, owners.add_owner, terr_id)
    if added is not None:
        flash("Propriétaire ajouté.", "succes")
        return redirect(url_for("inventory.terrain", terr_id=terr_id, _anchor="proprietaires"))
    page = render_template(
        "inventory/owner_edit.html", form=form, terrain=terrain, owner=None, conflict=None
    )
    return page, _status(form)


@inventory.route("/proprietaires/<int:owner_id>/modifier", methods=["GET", "POST"])
def edit_owner(owner_id: int) -> Any:
    session, actor = db_session(), current_actor()
    owner = editing.owner_for_edit(session, actor, owner_id)
    form = OwnerForm(obj=owner)
    saved, conflict = _submit(session, actor, form, owners.update_owner, owner_id, versioned=True)
    if saved is not None:
        flash("Propriétaire enregistré.", "succes")
        return redirect(
            url_for("inventory.terrain", terr_id=owner.terr_id, _anchor="proprietaires")
        )
    page = render_template(
        "inventory/owner_edit.html", form=form, terrain=owner.terrain, owner=owner,
        conflict=conflict,
    )  # fmt: skip
    return page, CONFLICT if conflict else _status(form)


@inventory.route("/proprietaires/<int:owner_id>/supprimer", methods=["GET", "POST"])
def remove_owner(owner_id: int) -> Any:
    """GET: the confirmation step; POST: the removal."""
    session, actor = db_session(), current_actor()
    owner = editing.owner_for_edit(session, actor, owner_id)
    form = ConfirmForm()
    terr_id = owner.terr_id
    if form.validate_on_submit():
        owners.remove_owner(session, actor, owner_id)
        flash("Propriétaire retiré.", "succes")
        return redirect(url_for("inventory.terrain", terr_id=terr_id, _anchor="proprietaires"))
    return render_template("inventory/owner_remove.html", form=form, owner=owner)


# --- history -------------------------------------------------------------------------------


@inventory.get("/sites/<site_id>/historique")
def site_history(site_id: str) -> Any:
    session = db_session()
    events = history.site_events(session, site_id)
    site = session.get(Site, site_id)
    return _history(events, f"historique-{site_id}.csv", "inventory/history.html",
                    title=f"Historique du parc {site.site_nom}", site=site)  # fmt: skip


@inventory.get("/terrains/<terr_id>/historique")
def terrain_history(terr_id: str) -> Any:
    session = db_session()
    events = history.terrain_events(session, terr_id)
    terrain = session.get(Terrain, terr_id)
    return _history(events, f"historique-{terr_id}.csv", "inventory/history.html",
                    title=f"Historique du terrain {terr_id}", site=terrain.site,
                    terrain=terrain)  # fmt: skip


@inventory.get("/historique")
def network_history() -> Any:
    """Every change of the network's inventory, or of one EPCI's (``?epci=SIREN``)."""
    epcis = list_epcis(db_session())
    epci = request.args.get("epci") or None
    if epci is not None and epci not in dict(epcis):
        abort(404)
    name = f"historique-{epci}.csv" if epci else "historique-reseau.csv"
    return _history(history.network_events(epci), name, "inventory/history.html",
                    title="Historique de l’inventaire", epcis=epcis, epci=epci)  # fmt: skip


def _history(events: Any, csv_name: str, template: str, **context: Any) -> Any:
    session, actor = db_session(), current_actor()
    if request.args.get("format") == "csv":
        return _csv_response(session, actor, events, csv_name)
    page_number = request.args.get("page", 1, type=int)
    page = history.history_page(session, actor, events, page=page_number)
    return render_template(
        template,
        page=page,
        **{"site": None, "terrain": None, "epcis": None, "epci": None, **context},
    )


def _csv_response(session: Session, actor: Actor, events: Any, file_name: str) -> Response:
    out = io.StringIO()
    history.write_history_csv(session, actor, events, out)
    return attachment(out.getvalue(), CSV_TYPE, file_name)
