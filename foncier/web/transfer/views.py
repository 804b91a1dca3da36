"""Views of the imports and exports page; the work is done by foncier.inventory.staged_imports and
foncier.inventory.exports, which check who may do what."""

from __future__ import annotations

from typing import Final

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from wtforms.fields.choices import SelectChoice

from foncier.core.errors import ImportConflictError, ImportRejectedError, ValidationError
from foncier.inventory import staged_imports as transfers
from foncier.inventory.cnig import ImportReport
from foncier.inventory.cnig.exporter import ExportScope
from foncier.inventory.cnig.issues import SourceFile
from foncier.inventory.cnig.labels import LABELS
from foncier.inventory.exports import ExportFormat, ExportRequest, build_export, list_parks
from foncier.models import Epci
from foncier.territory.epcis import list_epcis
from foncier.web.auth import current_actor
from foncier.web.database import db_session
from foncier.web.downloads import attachment
from foncier.web.transfer.forms import ExportForm, ImportForm

transfer = Blueprint("transfer", __name__, url_prefix="/imports-exports")

OUTCOME_LABELS: Final = {"created": "Création", "updated": "Modification", "unchanged": "Inchangé"}
TABLE_LABELS: Final = {"SITE-ECO": "Parcs", "TERRAIN-ECO": "Terrains"}
TOO_LARGE: Final = (
    "Les fichiers dépassent {mb} Mo : déposez-les en plusieurs fois, par exemple un fichier "
    "de parcs puis un fichier de terrains. Un inventaire plus grand s’importe par "
    "l’administrateur de la plateforme, avec la commande « foncier import cnig »."
)


def max_upload_mb() -> int:
    """The upload limit of the application (FONCIER_MAX_UPLOAD_MB), in megabytes."""
    return int(current_app.config["MAX_CONTENT_LENGTH"]) // 2**20


@transfer.context_processor
def transfer_words() -> dict[str, object]:
    return {
        "column_labels": LABELS,
        "outcome_labels": OUTCOME_LABELS,
        "table_labels": TABLE_LABELS,
        "max_upload_mb": max_upload_mb(),
    }


@transfer.errorhandler(413)
def upload_too_large(_error: Exception) -> Response:
    # Raised while the CSRF check reads the form, before the person is loaded: back to the
    # page, which says why (other pages answer with the error page of foncier.web.errors).
    flash(TOO_LARGE.format(mb=max_upload_mb()), "erreur")
    return redirect(url_for("transfer.index"), 303)


def _export_form() -> ExportForm:
    form = ExportForm(request.args)
    session = db_session()
    none = SelectChoice("", "—")
    form.epci.choices = [none, *(SelectChoice(siren, nom) for siren, nom in list_epcis(session))]
    form.site.choices = [none] + [
        SelectChoice(park.site_id, park.site_nom, optgroup=park.epci_nom)
        for park in list_parks(session)
    ]
    return form


def _index(
    import_form: ImportForm, status: int = 200, export_form: ExportForm | None = None
) -> tuple[str, int]:
    actor, session = current_actor(), db_session()
    epci = session.get(Epci, actor.epci_siren) if actor.epci_siren else None
    page = render_template(
        "transfer/index.html",
        import_form=import_form,
        export_form=export_form or _export_form(),
        epci_nom=epci.nom if epci else None,
        pending=transfers.pending_imports(session, actor) if actor.can_write else [],
    )
    return page, status


@transfer.get("", endpoint="index")
def index() -> tuple[str, int]:
    return _index(ImportForm())


@transfer.post("/import", endpoint="upload")
def upload() -> Response | tuple[str, int]:
    form = ImportForm()
    if not form.validate_on_submit():
        return _index(form, 400)
    uploads = [
        SourceFile(upload.filename or "fichier", upload.read())
        for upload in form.fichiers.data
        if upload and upload.filename
    ]
    try:
        batch = transfers.stage_import(db_session(), current_actor(), uploads)
    except ValidationError as refused:
        # Too many imports waiting: the page lists them, to be confirmed or abandoned.
        form.fichiers.errors = [*form.fichiers.errors, *refused.errors.values()]
        return _index(form, 409)
    return redirect(url_for("transfer.preview", batch=batch), 303)


def _preview_page(
    preview: transfers.ImportPreview, status: int = 200, conflict: str | None = None
) -> tuple[str, int]:
    page = render_template("transfer/preview.html", preview=preview, conflict=conflict)
    return page, status


@transfer.get("/import/<batch>", endpoint="preview")
def preview(batch: str) -> tuple[str, int]:
    return _preview_page(transfers.preview_import(db_session(), current_actor(), batch))


@transfer.post("/import/<batch>/confirmer", endpoint="confirm")
def confirm(batch: str) -> Response | tuple[str, int]:
    session, actor = db_session(), current_actor()
    # The fingerprint of the preview the person read (a hidden field of its form).
    seen = request.form.get("apercu", "")
    try:
        report = transfers.confirm_import(session, actor, batch, seen)
    except ImportRejectedError:
        # The inventory changed since the preview: nothing was written, the preview says why.
        return _preview_page(transfers.preview_import(session, actor, batch), 409)
    except ImportConflictError as conflict:
        # Nothing was written: the preview as it now stands, to be confirmed knowingly.
        preview = transfers.preview_import(session, actor, batch)
        return _preview_page(preview, 409, conflict=str(conflict))
    flash(_done_message(report), "succes")
    return redirect(url_for("transfer.index"), 303)


@transfer.post("/import/<batch>/abandonner", endpoint="discard")
def discard(batch: str) -> Response:
    transfers.discard_import(db_session(), current_actor(), batch)
    flash("Import abandonné : les fichiers déposés ont été oubliés.", "info")
    return redirect(url_for("transfer.index"), 303)


def _done_message(report: ImportReport) -> str:
    parts = []
    for label, counts in (("parcs", report.sites), ("terrains", report.terrains)):
        if counts:
            parts.append(
                f"{label} : {counts.created} créé(s), {counts.updated} modifié(s), "
                f"{counts.unchanged} inchangé(s)"
            )
    return "Import enregistré — " + " ; ".join(parts) + "."


@transfer.get("/export", endpoint="export")
def export() -> Response | tuple[str, int]:
    form = _export_form()
    if not form.validate():
        return _index(ImportForm(formdata=None), 400, export_form=form)
    scope = {
        "reseau": ExportScope(),
        "epci": ExportScope(epci=form.epci.data),
        "parc": ExportScope(site=form.site.data),
    }[form.perimetre.data or "reseau"]
    export_request = ExportRequest(
        ExportFormat(form.format.data),
        scope,
        confidential=form.confidentiel.data,
        with_extensions=form.extensions.data,
    )
    download = build_export(db_session(), current_actor(), export_request)
    return attachment(download.content, download.media_type, download.filename)
