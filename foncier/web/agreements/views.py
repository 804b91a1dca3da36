"""Pages of the shared-benefit agreements: list, new, detail (signatures, status moves through
a confirmation step, PDF), edit, the calculator and the network's ledger. Thin:
foncier.agreements.reading checks and writes, foncier.agreements.sharing computes,
foncier.agreements.ledger totals. Pages answer 400 with the form's messages when values are refused,
409 when someone else saved the agreement in between (or changed it before one signs). The
notices' e-mails leave after the request's commit: a mail server that is down delays them only."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any, Final

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy.orm import Session
from wtforms import SelectChoice

from foncier.agreements import documents, ledger, reading, rules, sharing, signatures, terms
from foncier.agreements import status as agreements_status
from foncier.core.db import get_or_raise
from foncier.core.errors import StaleVersionError, ValidationError
from foncier.models import Agreement
from foncier.web.agreements.forms import (
    AgreementForm,
    CalculatorForm,
    DocumentForm,
    ListFilterForm,
    SignatureForm,
    StatusForm,
    choices,
    form_data,
    terms_of,
)
from foncier.web.auth import current_actor
from foncier.web.database import db_session
from foncier.web.downloads import CSV_TYPE, PDF_TYPE, XLSX_TYPE, attachment
from foncier.web.formatting import NOT_GIVEN, THOUSANDS_SEPARATOR, UNIT_SPACE

agreements = Blueprint("agreements", __name__, url_prefix="/conventions")

INVALID: Final = 400
CONFLICT: Final = 409
CALCULATOR_FIELDS: Final = {
    "amount": "montant",
    "annual_amount": "montant",
    "weights": "epcis",
    "years": "annees",
    "first_year": "premiere_annee",
    "growth_percent": "croissance",
}


@agreements.context_processor
def agreement_words() -> dict[str, object]:
    return {
        "status_labels": rules.STATUS_LABELS,
        "tax_kind_labels": rules.TAX_KIND_LABELS,
    }


# --- list -------------------------------------------------------------------------------------


@agreements.get("", endpoint="index")
def agreement_list() -> tuple[str, int]:
    session = db_session()
    form = ListFilterForm(formdata=request.args)
    epcis = terms.epci_choices(session)
    form.epci.choices = [SelectChoice("", "Tous"), *choices((s, nom) for s, nom, _ in epcis)]
    valid = form.validate()
    sort = reading.AgreementSort(form.tri.data) if valid else reading.AgreementSort.RECENT
    page = reading.list_agreements(
        session,
        current_actor(),
        status=form.statut.data if valid else None,
        epci_siren=form.epci.data if valid else None,
        sort=sort,
        page=(form.page.data or 1) if valid else 1,
    )
    return render_template(
        "agreements/list.html",
        form=form,
        page=page,
        filters=form.filters(),
    ), (200 if valid else INVALID)


# --- new and edit -----------------------------------------------------------------------------


@agreements.route("/nouvelle", methods=["GET", "POST"], endpoint="new")
def create() -> Any:
    session, actor = db_session(), current_actor()
    epcis = terms.epci_choices(session)
    redirection_id = request.args.get("redirection", type=int)
    if redirection_id is not None:
        initial = terms.terms_for_redirection(session, actor, redirection_id)
    else:
        own = {actor.epci_siren: None} if actor.epci_siren else {}
        initial = terms.Terms(title="", parties=own)
    rules.require_negotiator(actor, set(initial.parties))
    form = AgreementForm(data=form_data(initial, epcis))
    form.setup(epcis, terms.covered_redirection_choices(session, actor))
    status = INVALID if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            agreement = terms.create_agreement(session, actor, form.terms())
        except ValidationError as refused:
            form.add_errors(refused.errors)
        else:
            flash(f"Convention n° {agreement.id} enregistrée comme brouillon.", "succes")
            return redirect(url_for("agreements.detail", agreement_id=agreement.id))
    return render_template("agreements/form.html", form=form, agreement=None), status


@agreements.route("/<int:agreement_id>/modifier", methods=["GET", "POST"], endpoint="edit")
def edit(agreement_id: int) -> Any:
    session, actor = db_session(), current_actor()
    agreement = get_or_raise(session, Agreement, agreement_id)
    rules.require_editable(session, actor, agreement)
    epcis = terms.epci_choices(session)
    form = AgreementForm(data=form_data(terms_of(agreement), epcis, agreement.version))
    form.setup(epcis, terms.covered_redirection_choices(session, actor, agreement))
    conflict = None
    status = INVALID if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            version = int(form.version.data or 0)
            terms.update_agreement(session, actor, agreement_id, form.terms(), version)
        except ValidationError as refused:
            form.add_errors(refused.errors)
        except StaleVersionError as stale:
            conflict = str(stale)
            form.version.data = agreement.version
            status = CONFLICT
        else:
            flash(f"Convention n° {agreement_id} enregistrée.", "succes")
            return redirect(url_for("agreements.detail", agreement_id=agreement_id))
    page = render_template(
        "agreements/form.html", form=form, agreement=agreement, conflict=conflict
    )
    return page, status


# --- detail, signatures, status, document -----------------------------------------------------


@agreements.get("/<int:agreement_id>", endpoint="detail")
def detail(agreement_id: int) -> str:
    return _detail_page(db_session(), agreement_id)


def _detail_page(session: Session, agreement_id: int, **forms: Any) -> str:
    view = reading.get_agreement(session, current_actor(), agreement_id)
    return render_template(
        "agreements/detail.html",
        view=view,
        agreement=view.agreement,
        signature_form=forms.get("signature_form") or SignatureForm(formdata=None),
        document_form=forms.get("document_form") or DocumentForm(formdata=None),
        status_form=StatusForm(formdata=None),
        move_labels=agreements_status.STATUS_MOVE_LABELS,
    )


@agreements.post("/<int:agreement_id>/signer", endpoint="sign")
def sign(agreement_id: int) -> Any:
    session, actor = db_session(), current_actor()
    agreement = get_or_raise(session, Agreement, agreement_id)
    # Who may not sign hears so (403), whatever the form holds.
    signatures.require_signatory(session, actor, agreement, actor.epci_siren or "")
    form = SignatureForm()
    if form.validate_on_submit():
        try:
            signatures.sign_agreement(
                session,
                actor,
                agreement,
                actor.epci_siren or "",
                form.signed_on.data,
                form.version.data,
            )
        except ValidationError as refused:
            form.signed_on.errors = [*form.signed_on.errors, *refused.errors.values()]
        except StaleVersionError as stale:
            # The page shows the terms as they are now: the signature is given knowingly.
            flash(str(stale), "erreur")
            return _detail_page(session, agreement_id), CONFLICT
        else:
            flash(_signature_message(agreement), "succes")
            return redirect(url_for("agreements.detail", agreement_id=agreement_id))
    return _detail_page(session, agreement_id, signature_form=form), INVALID


def _signature_message(agreement: Any) -> str:
    if agreement.status == "signee":
        return "Signature enregistrée : toutes les parties ont signé, la convention est signée."
    return "Signature enregistrée. La convention attend la signature des autres parties."


@agreements.route("/<int:agreement_id>/statut", methods=["GET", "POST"], endpoint="status")
def change_status(agreement_id: int) -> Any:
    """GET: the confirmation step of the move to ``?status=``; POST: the move."""
    session, actor = db_session(), current_actor()
    agreement = get_or_raise(session, Agreement, agreement_id)
    if request.method == "GET":
        return _status_confirmation(session, agreement, request.args.get("status", ""))
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        agreements_status.set_status(session, actor, agreement, form.status.data, form.version.data)
    except ValidationError as refused:
        flash(" ".join(refused.errors.values()), "erreur")
        return _detail_page(session, agreement_id), INVALID
    except StaleVersionError as stale:
        flash(str(stale), "erreur")
        return _detail_page(session, agreement_id), CONFLICT
    flash(f"Convention : {rules.STATUS_LABELS[agreement.status].lower()}.", "succes")
    return redirect(url_for("agreements.detail", agreement_id=agreement_id))


def _status_confirmation(session: Session, agreement: Agreement, status: str) -> Any:
    try:
        agreements_status.require_status_move(session, current_actor(), agreement, status)
    except ValidationError as refused:
        # A move already made (a second tab) or not in the table: the page as it is now.
        flash(" ".join(refused.errors.values()), "erreur")
        return _detail_page(session, agreement.id), INVALID
    form = StatusForm(data={"status": status, "version": agreement.version})
    return render_template(
        "agreements/status_confirm.html",
        agreement=agreement,
        form=form,
        status=status,
        button=agreements_status.STATUS_MOVE_LABELS[status],
        consequence=agreements_status.STATUS_MOVE_CONSEQUENCES[status],
        warning=agreements_status.status_move_warning(agreement, status),
    )


@agreements.post("/<int:agreement_id>/document", endpoint="upload")
def upload(agreement_id: int) -> Any:
    session, actor = db_session(), current_actor()
    agreement = get_or_raise(session, Agreement, agreement_id)
    form = DocumentForm()
    if form.validate_on_submit():
        upload = form.document.data
        # One byte more than allowed is enough to know the file is too large.
        content = upload.stream.read(documents.MAX_DOCUMENT_BYTES + 1)
        try:
            documents.attach_document(session, actor, agreement, upload.filename or "", content)
        except ValidationError as refused:
            form.document.errors = [*form.document.errors, *refused.errors.values()]
        else:
            flash("Document signé enregistré.", "succes")
            return redirect(url_for("agreements.detail", agreement_id=agreement_id))
    return _detail_page(session, agreement_id, document_form=form), INVALID


@agreements.get("/<int:agreement_id>/document", endpoint="download")
def download(agreement_id: int) -> Response:
    document = documents.document_for(db_session(), current_actor(), agreement_id)
    return attachment(
        document.content,
        PDF_TYPE,
        document.filename,
        {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
    )


# --- calculator -------------------------------------------------------------------------------


@agreements.get("/calculateur", endpoint="calculator")
def calculator() -> tuple[str, int]:
    session = db_session()
    epcis = terms.epci_choices(session)
    form = CalculatorForm(formdata=request.args if request.args else None)
    form.setup(epcis)
    result = None
    if request.args and form.validate():
        try:
            result = _calculate(session, form, {siren: nom for siren, nom, _ in epcis})
        except ValidationError as refused:
            for key, message in refused.errors.items():
                getattr(form, CALCULATOR_FIELDS.get(key, "montant")).errors.append(message)
    status = INVALID if form.errors else 200
    return render_template("agreements/calculator.html", form=form, result=result), status


def _calculate(session: Session, form: CalculatorForm, names: dict[str, str]) -> dict[str, Any]:
    chosen = [siren for siren in form.epci_order if siren in (form.epcis.data or [])]
    amount: Decimal = form.montant.data
    weights = _weights(session, form, chosen)
    parts = sharing.split_amount(amount, weights)
    # Fixed shares are percentages already; populations and equal parts get theirs.
    percents = weights if form.mode.data == "parts" else sharing.percents_of(weights)
    projection = None
    if form.annees.data:
        projection = sharing.project_split(
            amount,
            form.annees.data,
            weights,
            form.premiere_annee.data or date.today().year,
            form.croissance.data or 0,
        )
    return {
        "rows": [
            (names[siren], weights[siren], percents[siren], parts[siren]) for siren in weights
        ],
        "total": sum(parts.values(), Decimal("0.00")),
        "weight_total": sum(weights.values()),
        "amount": amount,
        "projection": projection,
        "names": names,
    }


def _weights(session: Session, form: CalculatorForm, chosen: list[str]) -> dict[str, Any]:
    if form.mode.data == "population":
        return terms.epci_populations(session, chosen)
    if form.mode.data == "parts":
        shares = form.shares()
        percents = {siren: shares.get(siren) or Decimal(0) for siren in chosen}
        sharing.check_percents(percents)
        return percents
    return dict.fromkeys(chosen, 1)


# --- ledger -----------------------------------------------------------------------------------


@agreements.get("/registre", endpoint="ledger")
def ledger_page() -> str:
    book = ledger.network_ledger(db_session(), current_actor())
    return render_template("agreements/ledger.html", book=book)


@agreements.get("/registre.csv", endpoint="ledger_csv")
def ledger_csv() -> Response:
    return _csv(totals=False, file_name="registre-conventions.csv")


@agreements.get("/registre-epci.csv", endpoint="ledger_totals_csv")
def ledger_totals_csv() -> Response:
    return _csv(totals=True, file_name="registre-conventions-totaux-epci.csv")


def _csv(*, totals: bool, file_name: str) -> Response:
    out = io.StringIO()
    book = ledger.network_ledger(db_session(), current_actor())
    ledger.write_ledger_csv(book, out, totals=totals)
    return attachment(out.getvalue().encode("utf-8"), CSV_TYPE, file_name)


@agreements.get("/registre.xlsx", endpoint="ledger_xlsx")
def ledger_xlsx() -> Response:
    content = ledger.ledger_workbook(ledger.network_ledger(db_session(), current_actor()))
    return attachment(content, XLSX_TYPE, "registre-conventions.xlsx")


@agreements.app_template_filter("euros")
def euros(value: Decimal | None) -> str:
    """« 10 000,00 € »: always the cents, as amounts of money are written."""
    if value is None:
        return NOT_GIVEN
    text = f"{value:,.2f}".replace(",", THOUSANDS_SEPARATOR).replace(".", ",")
    return f"{text}{UNIT_SPACE}€"
