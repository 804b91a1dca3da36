"""The park search form, and what every list's filter form shares (FilterForm: a GET form,
nothing to protect against CSRF, links can be shared)."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any, Final

from flask_wtf import FlaskForm
from wtforms import Field, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional

from foncier.inventory.queries import SiteCriteria, SiteSort
from foncier.models.codelists import SITE_VOCADOMI
from foncier.web.formatting import THOUSANDS_SEPARATOR, UNIT_SPACE, number

SORT_CHOICES = [
    SelectChoice(SiteSort.NAME.value, "Nom du parc"),
    SelectChoice(SiteSort.AVAILABLE_SURFACE.value, "Surface disponible"),
    SelectChoice(SiteSort.VACANCY_RATE.value, "Taux de vacance"),
    SelectChoice(SiteSort.EPCI.value, "Intercommunalité"),
]


# Far beyond any park; the database's numbers overflow long before 1e999999999.
MAX_HECTARES: Final = Decimal(100_000)
# Hectares are stored with 4 decimals (1 m²).
HECTARES_STEP: Final = Decimal("0.0001")
# Spaces between thousands, typed or copied from the pages (« 1 234,5 ha »), are left out.
WITHOUT_SPACES: Final = str.maketrans("", "", " " + UNIT_SPACE + THOUSANDS_SEPARATOR)


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


def french_decimal(valuelist: list[Any], refusal: str) -> Decimal | None:
    """The finite number typed the French way (« 1 234,5 ») or with a point, None when nothing
    was typed; ValueError(``refusal``) for anything else."""
    text = valuelist[0].translate(WITHOUT_SPACES).replace(",", ".") if valuelist else ""
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(refusal) from None
    if not number.is_finite():
        raise ValueError(refusal)
    return number


class HectaresField(StringField):
    """A positive number of hectares, with a French decimal comma (« 2,5 ») or a point."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        refusal = "Saisissez un nombre positif d’hectares, par exemple 2,5."
        hectares = french_decimal(valuelist, refusal)
        if hectares is None:
            return
        if hectares < 0:
            raise ValueError(refusal)
        if hectares > MAX_HECTARES:
            raise ValueError(f"Saisissez au plus {number(MAX_HECTARES)} hectares.")
        # Rounded up to the stored precision, « at least » keeps its meaning, and 1e-999999999
        # does not overflow the database's numbers.
        self.data = hectares.quantize(HECTARES_STEP, rounding=ROUND_CEILING)

    def _value(self) -> str:
        # A refused entry is shown back as typed, so that it can be corrected.
        if self.raw_data:
            return str(self.raw_data[0])
        return "" if self.data is None else str(self.data)


class FilterForm(FlaskForm):
    """The filters of a list page: read from the query string, refused criteria left out
    (``valid_value``) and explained (``refused``), the others carried by the page links."""

    class Meta:
        csrf = False
        locales = ("fr_FR", "fr")

    page = IntegerField(
        "Page",
        validators=[Optional(), NumberRange(min=1, message="Le numéro de page commence à 1.")],
    )

    def page_number(self) -> int:
        return valid_value(self.page) or 1

    def filters(self) -> dict[str, str]:
        """The filters as typed, page aside: what the page links carry to the other pages.

        Only the form's own fields: any other parameter would reach url_for, which takes
        some (endpoint, _method, _external, _anchor...) as its own arguments.
        """
        return {
            field.name: field.raw_data[0]
            for field in self
            if field is not self.page and field.raw_data and field.raw_data[0]
        }

    def refused(self) -> list[tuple[str, str]]:
        """(label, message) of each refused criterion."""
        return [(str(field.label.text), message) for field in self for message in field.errors]


def valid_value(field: Field) -> Any:
    """The field's value, None when it was refused or left empty."""
    return None if field.errors or field.data in ("", None) else field.data


class SiteSearchForm(FilterForm):
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

    def set_epcis(self, epcis: list[tuple[str, str]]) -> None:
        self.epci.choices = [
            SelectChoice("", "Toutes les intercommunalités"),
            *(SelectChoice(siren, nom) for siren, nom in epcis),
        ]

    def criteria(self) -> SiteCriteria:
        """The search, leaving out the criteria that were refused."""
        return SiteCriteria(
            text=valid_value(self.q),
            epci_siren=valid_value(self.epci),
            vocation=valid_value(self.vocation),
            min_available_ha=valid_value(self.surface_min),
            sort=SiteSort(valid_value(self.tri) or SiteSort.NAME),
        )
