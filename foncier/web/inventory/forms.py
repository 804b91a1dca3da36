"""The park search form (a GET form: nothing to protect against CSRF, links can be shared)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional

from foncier.codelists import SITE_VOCADOMI
from foncier.inventory import SiteCriteria, SiteSort

SORT_CHOICES = [
    SelectChoice(SiteSort.NAME.value, "Nom du parc"),
    SelectChoice(SiteSort.AVAILABLE_SURFACE.value, "Surface disponible"),
    SelectChoice(SiteSort.VACANCY_RATE.value, "Taux de vacance"),
    SelectChoice(SiteSort.EPCI.value, "Intercommunalité"),
]


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


class HectaresField(StringField):
    """A positive number of hectares, with a French decimal comma (« 2,5 ») or a point."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        text = valuelist[0].replace(" ", "").replace(",", ".") if valuelist else ""
        if not text:
            return
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or number < 0:
            raise ValueError("Saisissez un nombre positif d’hectares, par exemple 2,5.")
        self.data = number

    def _value(self) -> str:
        # A refused entry is shown back as typed, so that it can be corrected.
        if self.raw_data:
            return str(self.raw_data[0])
        return "" if self.data is None else str(self.data)


class SiteSearchForm(FlaskForm):
    class Meta:
        csrf = False
        locales = ("fr_FR", "fr")

    q = StringField(
        "Nom du parc, de la commune ou de l’intercommunalité",
        filters=[_strip],
        validators=[Optional(), Length(max=100, message="100 caractères au plus.")],
    )
    epci = SelectField("Intercommunalité", choices=[], default="")
    vocation = SelectField(
        "Vocation dominante",
        choices=[SelectChoice("", "Toutes les vocations"), *map(SelectChoice, SITE_VOCADOMI)],
        default="",
    )
    surface_min = HectaresField(
        "Surface disponible minimale (ha)",
        render_kw={"inputmode": "decimal", "placeholder": "ex. 2,5", "autocomplete": "off"},
    )
    tri = SelectField("Trier par", choices=SORT_CHOICES, default=SiteSort.NAME.value)
    page = IntegerField(
        "Page",
        validators=[Optional(), NumberRange(min=1, message="Le numéro de page commence à 1.")],
    )

    def set_epcis(self, epcis: list[tuple[str, str]]) -> None:
        self.epci.choices = [
            SelectChoice("", "Toutes les intercommunalités"),
            *(SelectChoice(siren, nom) for siren, nom in epcis),
        ]

    def criteria(self) -> SiteCriteria:
        """The search, leaving out the criteria that were refused."""
        return SiteCriteria(
            text=_valid(self.q),
            epci_siren=_valid(self.epci),
            vocation=_valid(self.vocation),
            min_available_ha=_valid(self.surface_min),
            sort=SiteSort(_valid(self.tri) or SiteSort.NAME),
        )

    def page_number(self) -> int:
        return _valid(self.page) or 1

    def refused(self) -> list[tuple[str, str]]:
        """(label, message) of each refused criterion."""
        return [(str(field.label.text), message) for field in self for message in field.errors]


def _valid(field: Field) -> Any:
    return None if field.errors or field.data in ("", None) else field.data
