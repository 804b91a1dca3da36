"""Forms of the project pages: the project (company, contact, needs...), the shortlist's
buttons and proposals, and the list's filters.

The needs are the search's own form (foncier.web.matching.forms.NeedsForm) nested under the
prefix ``needs-``: the same fields, the same reading of French numbers and dates, the same
messages. The project form types what people send; whether it holds together is the core's
decision (foncier.prospects.projects.checked_values), whose messages go beside the fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Final

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    FormField,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)

from foncier.matching.needs import NeedsIssue
from foncier.matching.wording import french_date
from foncier.models.prospects import COMPANY_ANSWERS, PROSPECT_SOURCES, PROSPECT_STAGES
from foncier.prospects.cases import STAGE_LABELS
from foncier.prospects.projects import ANSWER_LABELS, SOURCE_LABELS
from foncier.prospects.reading import SORT_LABELS, ProspectFilters, ProspectSort
from foncier.web.formatting import sentence
from foncier.web.inventory.edit_forms import VersionField, WholeNumberField
from foncier.web.inventory.forms import FilterForm, valid_value
from foncier.web.matching.forms import NEAR_FIELDS, WEIGHT_PREFIX, FrenchDateInput, NeedsForm

# The needs' keys a project form leaves out: the company's NAF code is the project's own
# field, and a project keeps no free label (see foncier.prospects.projects).
HIDDEN_NEEDS_FIELDS: Final = frozenset({"label", "naf", "origin_epci", "limit"})
# Messages of the core about the needs that belong beside a field of the project.
NEEDS_KEYS_OF_PROJECT: Final = {"needs.naf": "naf_code"}
# The project's own fields, as the form shows them and the core reads them.
EDITABLE: Final = (
    "company_name", "company_siren", "naf_code", "contact_name", "contact_role",
    "contact_email", "contact_phone", "contact_retention_until", "source", "jobs_planned",
    "investment_eur", "notes",
)  # fmt: skip


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class ProjectNeedsForm(NeedsForm):
    """The search's needs form, inside the project form (which carries the CSRF token)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_epcis([])  # not shown: the project's EPCI is its own

    def shown_fields(self) -> Iterable[Field]:
        return (field for field in self if field.short_name not in HIDDEN_NEEDS_FIELDS)


def _text(label: str, **render_kw: Any) -> StringField:
    return StringField(label, filters=[_strip], render_kw=render_kw or None)


class ProspectForm(FlaskForm):
    class Meta:
        locales = ("fr_FR", "fr")

    company_name = _text("Nom de l’entreprise", autocomplete="off")
    company_siren = _text("SIREN", inputmode="numeric", autocomplete="off",
                          placeholder="ex. 552 100 554")  # fmt: skip
    naf_code = _text("Code NAF", autocomplete="off", placeholder="ex. 52.10B")
    contact_name = _text("Nom du contact", autocomplete="off")
    contact_role = _text("Fonction du contact", autocomplete="off")
    contact_email = _text("Courriel du contact", type="email", autocomplete="off")
    contact_phone = _text("Téléphone du contact", type="tel", autocomplete="off")
    contact_retention_until = FrenchDateInput(
        "Coordonnées conservées jusqu’au", render_kw={"type": "date"}
    )
    source = SelectField(
        "Origine du projet",
        choices=[SelectChoice(value, SOURCE_LABELS[value]) for value in PROSPECT_SOURCES],
        default="direct",
    )
    jobs_planned = WholeNumberField("Emplois prévus")
    investment_eur = _text("Investissement prévu (€)", inputmode="decimal", autocomplete="off",
                           placeholder="ex. 2 500 000")  # fmt: skip
    notes = TextAreaField("Notes", filters=[_strip], render_kw={"rows": 4})
    needs = FormField(ProjectNeedsForm, label="Besoins de l’entreprise")
    version = VersionField()

    def values(self) -> dict[str, Any]:
        """What the core reads: the project's fields, and the needs as the search sends them."""
        values = {name: self[name].data for name in EDITABLE}
        return {**values, "needs": self.needs.form.needs_data()}

    def add_errors(self, errors: Mapping[str, str]) -> None:
        """The core's messages beside their fields (a field's own message stays first)."""
        issues = []
        for key, message in errors.items():
            name = NEEDS_KEYS_OF_PROJECT.get(key, key)
            if name.startswith("needs"):
                path = name.removeprefix("needs").removeprefix(".")
                issues.append(NeedsIssue(path, message, ""))
            elif name in self._fields and not self[name].errors:
                self[name].errors = [sentence(message)]
            elif name not in self._fields:
                self.form_errors.append(sentence(message))
        self.needs.form.show_issues(issues)

    def has_errors(self) -> bool:
        return bool(self.form_errors or self.needs.form.general_errors) or any(
            field.errors for field in self
        )


def needs_fields(needs: Mapping[str, Any]) -> dict[str, Any]:
    """The needs form's field values of stored needs: the inverse of NeedsForm.needs_data."""
    fields = {
        name: value for name, value in needs.items() if name not in ("near", "weights", "needed_by")
    }
    near = needs.get("near") or {}
    fields.update({NEAR_FIELDS[key]: value for key, value in near.items() if key in NEAR_FIELDS})
    weights = needs.get("weights") or {}
    fields.update({WEIGHT_PREFIX + name: value for name, value in weights.items()})
    if needs.get("needed_by"):
        fields["needed_by"] = date.fromisoformat(needs["needed_by"])
    return fields


def search_parameters(needs: Mapping[str, Any]) -> dict[str, list[str]]:
    """The search page's query string for stored needs: « Ouvrir dans la recherche »."""
    parameters: dict[str, list[str]] = {}
    for name, value in needs_fields(needs).items():
        if name in ("label", "origin_epci") or value in (None, False, "", []):
            continue
        values = value if isinstance(value, list) else [value]
        parameters[name] = [_parameter(item) for item in values]
    return parameters


def _parameter(value: Any) -> str:
    if value is True:
        return "y"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class ShortlistForm(FlaskForm):
    """« Garder »: one plot of the ranking kept for the project."""

    terr_id = HiddenField()


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (remove a plot from the shortlist)."""


class ProposalForm(FlaskForm):
    class Meta:
        locales = ("fr_FR", "fr")

    proposed_on = FrenchDateInput("Proposé à l’entreprise le", render_kw={"type": "date"})
    company_answer = SelectField(
        "Réponse de l’entreprise",
        choices=[SelectChoice(value, ANSWER_LABELS[value]) for value in COMPANY_ANSWERS],
        default="en_attente",
    )
    answer_note = TextAreaField("Précisions", filters=[_strip], render_kw={"rows": 2})

    def add_errors(self, errors: Mapping[str, str]) -> list[str]:
        """Put the core's messages beside their fields; return those about no field of this
        form (a closed project), for the page to show otherwise."""
        unplaced = []
        for name, message in errors.items():
            if name not in self._fields:
                unplaced.append(message)
            elif not self[name].errors:
                self[name].errors = [message]
        return unplaced


class ProspectListForm(FilterForm):
    """The list's filters (a GET form: shareable, nothing to protect)."""

    etape = SelectField(
        "Étape",
        choices=[
            SelectChoice("", "Toutes les étapes"),
            *(SelectChoice(stage, STAGE_LABELS[stage]) for stage in PROSPECT_STAGES),
        ],
        default="",
    )
    epci = SelectField("EPCI qui suit le projet", choices=[], default="")
    mes_projets = BooleanField("Seulement les projets de mon EPCI")
    tri = SelectField(
        "Trier par",
        choices=[SelectChoice(sort.value, SORT_LABELS[sort]) for sort in ProspectSort],
        default=ProspectSort.RECENT.value,
    )

    def set_epcis(self, epcis: list[tuple[str, str]]) -> None:
        """The EPCIs to filter on, in the order given (inventory.list_epcis: as people look
        them up, « Castelrenaudais » under C)."""
        self.epci.choices = [
            SelectChoice("", "Tous les EPCI"),
            *(SelectChoice(siren, nom) for siren, nom in epcis),
        ]

    def criteria(self) -> ProspectFilters:
        """The filters, leaving out those that were refused."""
        return ProspectFilters(
            stage=valid_value(self.etape),
            lead_epci_siren=valid_value(self.epci),
            mine=bool(valid_value(self.mes_projets)),
            sort=ProspectSort(valid_value(self.tri) or ProspectSort.RECENT),
        )


def needs_summary(needs: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) of each need set, in the form's words: the project page's summary."""
    form = ProjectNeedsForm(formdata=None, **needs_fields(needs))
    summary = []
    for field in form.shown_fields():
        if field.short_name.startswith(WEIGHT_PREFIX) or field.data in (None, "", [], False):
            continue
        summary.append((str(field.label.text), _shown(field)))
    touched = [
        f"{spec.label} {weight._value()}"
        for spec, weight in form.weight_fields()
        if weight.short_name.removeprefix(WEIGHT_PREFIX) in (needs.get("weights") or {})
    ]
    if touched:
        summary.append(("Poids modifiés", ", ".join(touched)))
    return summary


def _shown(field: Field) -> str:
    if isinstance(field, BooleanField):
        return "oui"
    if isinstance(field, SelectField | SelectMultipleField):
        chosen = field.data if isinstance(field.data, list) else [field.data]
        labels = {str(value): str(label) for value, label, *_ in field.iter_choices()}
        return ", ".join(labels.get(str(value), str(value)) for value in chosen)
    if isinstance(field.data, date):
        return french_date(field.data)
    return str(field._value())
