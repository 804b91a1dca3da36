"""The forms of the agreement pages: the terms, a signature, a status move, the PDF, the list's
filters and the calculator. Euros and percentages are typed the French way (« 1 234,56 »)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Final

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
)

from foncier.agreements.reading import AgreementSort
from foncier.agreements.rules import STATUS_LABELS, TAX_KIND_LABELS
from foncier.agreements.sharing import MAX_YEARS, amount_refusal, growth_refusal
from foncier.agreements.terms import SCALAR_TERMS, Terms
from foncier.models import Agreement
from foncier.web.inventory.forms import FilterForm, french_decimal
from foncier.web.matching.forms import CheckboxesField

NONE_CHOSEN: Final = SelectChoice("", "—")
CALCULATOR_MODES: Final = [
    SelectChoice("population", "Au prorata de la population"),
    SelectChoice("parts", "Selon des parts fixes (en %)"),
    SelectChoice("egal", "À parts égales"),
]


def choices(pairs: Iterable[tuple[Any, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class EuroField(StringField):
    """An amount in euros, with a decimal comma or a point, two decimals at most."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = french_decimal(
            valuelist, "Saisissez un montant en euros, par exemple 1 234,56."
        )

    def _value(self) -> str:
        return "" if self.data is None else format(self.data, "f").replace(".", ",")


class PercentField(EuroField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = french_decimal(valuelist, "Saisissez un pourcentage, par exemple 62,5.")


class PartyForm(Form):
    """One EPCI of the network: party or not, and its share of the tax revenue."""

    siren = HiddenField()
    included = BooleanField("Partie à la convention")
    share = PercentField("Part de la recette fiscale (%)", validators=[Optional()])


class AgreementForm(FlaskForm):
    version = HiddenField()
    title = StringField(
        "Intitulé", validators=[DataRequired("Donnez un intitulé."), Length(max=200)]
    )
    parties = FieldList(FormField(PartyForm))
    redirections = CheckboxesField("Redirections couvertes", coerce=int, choices=[])
    tax_kind = SelectField("Recette fiscale partagée", choices=[])
    tax_years = IntegerField(
        "Durée du partage (années)", validators=[Optional(), NumberRange(1, MAX_YEARS)]
    )
    first_year = IntegerField("Première année", validators=[Optional(), NumberRange(1900, 2200)])
    estimated_annual_amount = EuroField("Montant annuel estimé (€)", validators=[Optional()])
    compensation_eur = EuroField("Compensation ponctuelle (€)", validators=[Optional()])
    compensation_payer_siren = SelectField("Versée par", choices=[])
    compensation_payee_siren = SelectField("Versée à", choices=[])
    jobs_followup = TextAreaField("Suivi des emplois", validators=[Optional()])
    reciprocity_credit = TextAreaField("Crédit de réciprocité", validators=[Optional()])
    free_text = TextAreaField("Autres clauses", validators=[Optional()])
    starts_on = DateField("Début", validators=[Optional()])
    ends_on = DateField("Fin", validators=[Optional()])

    # Core messages about the parties and their shares, shown above the parties' table.
    party_errors: list[str]

    def setup(
        self, epcis: Sequence[tuple[str, str, str]], redirections: list[tuple[int, str]]
    ) -> None:
        self.party_errors = []
        self.epci_names = {siren: nom for siren, nom, _ in epcis}
        self.tax_kind.choices = [NONE_CHOSEN, *choices(TAX_KIND_LABELS.items())]
        sirens = [NONE_CHOSEN, *choices((siren, nom) for siren, nom, _ in epcis)]
        self.compensation_payer_siren.choices = sirens
        self.compensation_payee_siren.choices = sirens
        self.redirections.choices = choices(redirections)

    def terms(self) -> Terms:
        parties = {
            entry.siren.data: entry.share.data
            for entry in self.parties
            if entry.included.data and entry.siren.data in self.epci_names
        }
        return Terms(
            title=self.title.data or "",
            parties=parties,
            redirection_ids=tuple(self.redirections.data or ()),
            tax_kind=self.tax_kind.data or None,
            tax_years=self.tax_years.data,
            first_year=self.first_year.data,
            estimated_annual_amount=self.estimated_annual_amount.data,
            compensation_eur=self.compensation_eur.data,
            compensation_payer_siren=self.compensation_payer_siren.data or None,
            compensation_payee_siren=self.compensation_payee_siren.data or None,
            jobs_followup=self.jobs_followup.data or None,
            reciprocity_credit=self.reciprocity_credit.data or None,
            free_text=self.free_text.data or None,
            starts_on=self.starts_on.data,
            ends_on=self.ends_on.data,
        )

    def add_errors(self, errors: dict[str, str]) -> None:
        for key, message in errors.items():
            if key in ("parties", "shares"):
                self.party_errors.append(message)
            else:
                getattr(self, key).errors.append(message)


def form_data(
    terms: Terms, epcis: Sequence[tuple[str, str, str]], version: int | None = None
) -> dict[str, Any]:
    """The form's initial data: one line per EPCI of the network, ticked if a party."""
    data: dict[str, Any] = {name: getattr(terms, name) for name in SCALAR_TERMS}
    data["parties"] = [
        {"siren": siren, "included": siren in terms.parties, "share": terms.parties.get(siren)}
        for siren, _, _ in epcis
    ]
    data["redirections"] = list(terms.redirection_ids)
    data["version"] = version
    return data


def terms_of(agreement: Agreement) -> Terms:
    return Terms(
        **{name: getattr(agreement, name) for name in SCALAR_TERMS},
        parties={party.epci_siren: party.share_percent for party in agreement.parties},
        redirection_ids=tuple(link.redirection_id for link in agreement.redirections),
    )


class SignatureForm(FlaskForm):
    signed_on = DateField(
        "Date de signature", validators=[InputRequired("Indiquez la date.")], default=date.today
    )
    # The version of the terms the person read: a signature is given to those terms only.
    version = IntegerField(validators=[InputRequired()])


class StatusForm(FlaskForm):
    status = HiddenField(validators=[DataRequired()])
    version = IntegerField(validators=[InputRequired()])


class DocumentForm(FlaskForm):
    document = FileField(
        "Convention signée (PDF)", validators=[FileRequired("Choisissez le fichier PDF.")]
    )


class ListFilterForm(FilterForm):
    statut = SelectField(
        "Statut",
        choices=[SelectChoice("", "Tous"), *choices(STATUS_LABELS.items())],
        validators=[Optional()],
    )
    epci = SelectField("EPCI partie", choices=[], validators=[Optional()])
    tri = SelectField(
        "Tri",
        choices=choices((sort.value, sort.label) for sort in AgreementSort),
        default=AgreementSort.RECENT.value,
    )


def _refuse(message: str | None) -> None:
    if message:
        raise StopValidation(message)


class CalculatorForm(FlaskForm):
    """A GET form: it computes, stores nothing, and its address can be shared."""

    class Meta:
        csrf = False

    montant = EuroField(
        "Montant à répartir (€)", validators=[InputRequired("Indiquez un montant.")]
    )
    mode = RadioField("Répartition", choices=CALCULATOR_MODES, default="population")
    epcis = CheckboxesField("EPCI concernés", choices=[])
    parts = FieldList(PercentField(validators=[Optional()]))
    annees = IntegerField(
        "Projection sur (années)", validators=[Optional(), NumberRange(1, MAX_YEARS)]
    )
    premiere_annee = IntegerField(
        "À partir de l’année", validators=[Optional(), NumberRange(1900, 2200)]
    )
    croissance = PercentField("Évolution annuelle (%)", validators=[Optional()])

    # The core refuses the same values (foncier.agreements.sharing); checking here puts the message
    # beside the field before anything is computed.
    def validate_montant(self, field: EuroField) -> None:
        _refuse(amount_refusal(field.data) if field.data is not None else None)

    def validate_croissance(self, field: PercentField) -> None:
        _refuse(growth_refusal(field.data) if field.data is not None else None)

    def setup(self, epcis: Sequence[tuple[str, str, str]]) -> None:
        self.epcis.choices = choices((siren, nom) for siren, nom, _ in epcis)
        self.epci_order = [siren for siren, _, _ in epcis]
        if not self.epcis.raw_data:
            self.epcis.data = [siren for siren, _, nature in epcis if nature == "CC"]
        while len(self.parts.entries) < len(epcis):
            self.parts.append_entry()

    def shares(self) -> dict[str, Decimal | None]:
        """The fixed share typed for each EPCI, by SIREN."""
        return {
            siren: entry.data for siren, entry in zip(self.epci_order, self.parts, strict=False)
        }
