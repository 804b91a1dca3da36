"""The needs form of the search page: a GET form, so that a search is a URL one can share.

Its fields are the keys of the needs (foncier/matching/needs.schema.json); the place is split
into ``near_lat``, ``near_lon``, ``near_max_km`` and the weights into ``poids_<criterion>``.
WTForms reads what was typed (French decimal commas, dates); ``parse_needs`` then checks the
needs as a whole, and each of its issues is shown next to the field it is about.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, Final

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from foncier.inventory.cnig.labels import LABELS
from foncier.matching import CRITERIA, DEFAULT_WEIGHTS
from foncier.matching.needs import NeedsIssue
from foncier.matching.scoring import NETWORKS, CriterionSpec
from foncier.models.codelists import ICPE_REGIMES, SITE_VOCADOMI, ZONE_TYPE_LABELS, ZONE_TYPES
from foncier.web.formatting import sentence
from foncier.web.inventory.forms import french_decimal

DEFAULT_LIMIT: Final = 20
MAX_LIMIT: Final = 100
LIMIT_STEP: Final = 20
WEIGHT_PREFIX: Final = "poids_"
NEAR_FIELDS: Final = {"lat": "near_lat", "lon": "near_lon", "max_km": "near_max_km"}
# Criteria that count only when the company gave the matching need.
CONDITIONAL_CRITERIA: Final = {
    "prix": "Compte seulement avec un budget.",
    "puissance": "Compte seulement avec une puissance demandée.",
    "vocation": "Compte seulement avec une vocation ou un code NAF.",
    "proximite": "Compte seulement avec un lieu.",
}
# Parameters of the page that are not needs: how many results, the « pourquoi pas ? » plot.
PAGE_PARAMETERS: Final = frozenset({"limit", "pourquoi"})


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


class DecimalInput(StringField):
    """A number typed the French way (« 2,5 ») or with a point, within [minimum, maximum]."""

    def __init__(
        self,
        label: str,
        *,
        refusal: str,
        minimum: float = 0.0,
        maximum: float = 1e9,
        **kwargs: Any,
    ) -> None:
        render_kw = {"inputmode": "decimal", "autocomplete": "off", **kwargs.pop("render_kw", {})}
        super().__init__(label, render_kw=render_kw, **kwargs)
        self.refusal = refusal
        self.minimum = minimum
        self.maximum = maximum

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:  # not in the query string: the default (a weight's) stays
            return
        self.data = None
        value = french_decimal(valuelist, self.refusal)
        if value is None:
            return
        if not self.minimum <= value <= self.maximum:
            raise ValueError(self.refusal)
        self.data = float(value)

    def _value(self) -> str:
        # What was typed comes back as typed, refused or not, so that it can be corrected.
        if self.raw_data:
            return str(self.raw_data[0])
        if self.data is None:
            return ""
        # A number input (the weights) takes a point; a text input shows a French comma.
        text = f"{self.data:g}"
        return text if self.render_kw.get("type") == "number" else text.replace(".", ",")


class FrenchDateInput(StringField):
    """A date from the browser's date picker (AAAA-MM-JJ) or typed as JJ/MM/AAAA."""

    refusal = "Saisissez une date, par exemple 31/12/2026."

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        text = (valuelist[0] if valuelist else "").strip()
        if not text:
            return
        try:
            if "/" in text:
                day, month, year = (int(part) for part in text.split("/"))
                self.data = date(year, month, day)
            else:
                self.data = date.fromisoformat(text)
        except ValueError:
            raise ValueError(self.refusal) from None

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return self.data.isoformat() if self.data else ""


class CheckboxesField(SelectMultipleField):
    """Several choices, one checkbox each."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _choices(values: Iterable[str], labels: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, labels[value]) for value in values]


NETWORK_CHOICES: Final = _choices(NETWORKS, LABELS)
ZONE_CHOICES: Final = _choices(ZONE_TYPES, ZONE_TYPE_LABELS)


class NeedsForm(FlaskForm):
    class Meta:
        csrf = False
        locales = ("fr_FR", "fr")

    label = StringField(
        "Intitulé de la recherche",
        filters=[_strip],
        validators=[Optional(), Length(max=200, message="200 caractères au plus.")],
        render_kw={"placeholder": "ex. Société X, entrepôt"},
    )
    surface_min_ha = DecimalInput(
        "Surface minimale (ha)",
        refusal="Saisissez une surface positive en hectares, par exemple 2,5.",
        render_kw={"placeholder": "ex. 2,5"},
    )
    surface_max_ha = DecimalInput(
        "Surface maximale (ha)",
        refusal="Saisissez une surface positive en hectares, par exemple 4.",
    )
    budget_max_eur_m2 = DecimalInput(
        "Budget maximal (€/m²)",
        refusal="Saisissez un prix positif en euros par m², par exemple 35.",
    )
    budget_is_hard = BooleanField("Budget impératif : exclure les terrains plus chers")
    vocation = SelectField(
        "Vocation de l’activité",
        choices=[
            SelectChoice("", "Non précisée"),
            *map(SelectChoice, SITE_VOCADOMI[: SITE_VOCADOMI.index("inconnu")]),
        ],
        default="",
    )
    naf = StringField(
        "Code NAF de l’entreprise",
        filters=[_strip],
        validators=[Optional(), Length(max=10, message="10 caractères au plus.")],
        render_kw={"placeholder": "ex. 52.10B", "autocomplete": "off"},
    )
    icpe_regime = SelectField(
        "Régime ICPE de l’installation",
        choices=[SelectChoice("", "Non soumise"), *map(SelectChoice, ICPE_REGIMES[1:])],
        default="",
    )
    networks_required = CheckboxesField("Réseaux indispensables", choices=NETWORK_CHOICES)
    networks_wanted = CheckboxesField("Réseaux souhaités", choices=NETWORK_CHOICES)
    power_min_kva = DecimalInput(
        "Puissance électrique minimale (kVA)",
        refusal="Saisissez une puissance positive en kVA, par exemple 250.",
        render_kw={"inputmode": "numeric"},
    )
    motorway_max_km = DecimalInput(
        "Échangeur autoroutier à moins de (km)",
        refusal="Saisissez une distance positive en kilomètres, par exemple 10.",
    )
    needed_by = FrenchDateInput("Disponible au plus tard le", render_kw={"type": "date"})
    turnkey_required = BooleanField("Clé en main exigé")
    height_min_m = DecimalInput(
        "Hauteur de construction nécessaire (m)",
        refusal="Saisissez une hauteur positive en mètres, par exemple 15.",
    )
    near_lat = DecimalInput(
        "Latitude",
        refusal="Saisissez une latitude en degrés décimaux, par exemple 47,39.",
        minimum=-90,
        maximum=90,
        render_kw={"placeholder": "ex. 47,39"},
    )
    near_lon = DecimalInput(
        "Longitude",
        refusal="Saisissez une longitude en degrés décimaux, par exemple 0,69.",
        minimum=-180,
        maximum=180,
        render_kw={"placeholder": "ex. 0,69"},
    )
    near_max_km = DecimalInput(
        "Dans un rayon de (km)",
        refusal="Saisissez une distance positive en kilomètres, par exemple 20.",
    )
    avoid_zones = CheckboxesField("Zones incompatibles avec l’activité", choices=ZONE_CHOICES)
    origin_epci = SelectField("Intercommunalité qui accueille la demande", choices=[], default="")
    limit = IntegerField(
        "Nombre de résultats",
        widget=HiddenInput(),
        validators=[
            Optional(),
            NumberRange(min=1, max=MAX_LIMIT, message=f"Entre 1 et {MAX_LIMIT} résultats."),
        ],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.general_errors: list[str] = []

    def set_epcis(self, epcis: list[tuple[str, str]]) -> None:
        self.origin_epci.choices = [
            SelectChoice("", "Non précisée"),
            *(SelectChoice(siren, nom) for siren, nom in epcis),
        ]

    # --- reading ------------------------------------------------------------------------

    @property
    def submitted(self) -> bool:
        """Whether the query string holds a search (a first visit shows the empty form)."""
        return any(field.raw_data for field in self if field.name not in PAGE_PARAMETERS)

    def weight_fields(self) -> list[tuple[CriterionSpec, Field]]:
        """(criterion, its weight field), in the engine's order of criteria."""
        return [(spec, self[WEIGHT_PREFIX + spec.name]) for spec in CRITERIA]

    def weights_touched(self) -> bool:
        """Whether a weight was refused or differs from its default: its box then opens."""
        return any(
            field.errors or (field.data is not None and field.data != DEFAULT_WEIGHTS[spec.name])
            for spec, field in self.weight_fields()
        )

    def result_limit(self) -> int:
        return self.limit.data if self.limit.data and not self.limit.errors else DEFAULT_LIMIT

    def needs_data(self) -> dict[str, Any]:
        """The needs as JSON data for ``parse_needs``: the fields that were filled in."""
        data: dict[str, Any] = {}
        for name in (
            "label", "surface_min_ha", "surface_max_ha", "budget_max_eur_m2", "vocation",
            "naf", "icpe_regime", "power_min_kva", "motorway_max_km", "height_min_m",
            "origin_epci",
        ):  # fmt: skip
            if self[name].data not in (None, ""):
                data[name] = self[name].data
        for name in ("budget_is_hard", "turnkey_required"):
            if self[name].data:
                data[name] = True
        for name in ("networks_required", "networks_wanted", "avoid_zones"):
            if self[name].data:
                data[name] = list(self[name].data)
        if self.needed_by.data:
            data["needed_by"] = self.needed_by.data.isoformat()
        near = {
            key: self[name].data for key, name in NEAR_FIELDS.items() if self[name].data is not None
        }
        if near:
            data["near"] = near
        weights = {
            spec.name: field.data
            for spec, field in self.weight_fields()
            if field.data is not None and field.data != DEFAULT_WEIGHTS[spec.name]
        }
        if weights:
            data["weights"] = weights
        return data

    def query(self) -> dict[str, list[str]]:
        """The search as typed (without the page's own parameters): what the links of the
        page (more results, comparison, sheets) carry, so that they show the same search."""
        return {
            field.name: [str(value) for value in field.raw_data if value != ""]
            for field in self
            if field.name not in PAGE_PARAMETERS and field.raw_data and any(field.raw_data)
        }

    # --- issues -------------------------------------------------------------------------

    def show_issues(self, issues: Iterable[NeedsIssue]) -> None:
        """Put each issue of ``parse_needs`` next to its field, in French."""
        for issue in issues:
            message = sentence(issue.french.rstrip(".")) + "."
            field = self._field_of(issue.path)
            if field is None:
                self.general_errors.append(message)
            elif not field.errors:
                # A value the form refused is missing from the needs: the form's own message
                # says what is wrong with it, the engine's would only say it is missing.
                field.errors = [message]

    def _field_of(self, path: str) -> Field | None:
        head, _, rest = path.partition(".")
        if head == "near":
            name = NEAR_FIELDS.get(rest, "near_lat")
        elif head == "weights":
            name = WEIGHT_PREFIX + rest if rest else ""
        else:
            name = head
        return self._fields.get(name)

    def has_errors(self) -> bool:
        return bool(self.general_errors) or any(field.errors for field in self)

    def refused(self) -> list[tuple[str, str]]:
        """(label, message) of each refused value, for the summary above the form."""
        return [
            *(("", message) for message in self.general_errors),
            *((str(field.label.text), message) for field in self for message in field.errors),
        ]


def _weight_field(spec: CriterionSpec) -> DecimalInput:
    default = DEFAULT_WEIGHTS[spec.name]
    return DecimalInput(
        spec.label,
        refusal="Saisissez un poids positif ou nul, par exemple 0,2.",
        maximum=1000,
        default=default,
        render_kw={"type": "number", "min": "0", "step": "0.05", "inputmode": "decimal"},
        description=CONDITIONAL_CRITERIA.get(spec.name, ""),
    )


# One weight field per criterion of the engine, in its order.
for _spec in CRITERIA:
    setattr(NeedsForm, WEIGHT_PREFIX + _spec.name, _weight_field(_spec))
